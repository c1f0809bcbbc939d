"""bridge's configuration as pydantic models: the one definition of its keys.

The call path decodes with the tables generated from these (schema.py, `make schemas`).
"""

from __future__ import annotations

from libcni.types.config import NetConf
from libcni.types.gomodel import GoModel

from .config import DEFAULT_BRIDGE


class VlanTrunk(GoModel):
    minID: int | None = None
    maxID: int | None = None
    id: int | None = None


class MacHolder(GoModel):
    mac: str = ""


class BridgeArgs(GoModel):
    cni: MacHolder = MacHolder()


class BridgeConf(NetConf):
    bridge: str = DEFAULT_BRIDGE
    isGateway: bool = False
    isDefaultGateway: bool = False
    forceAddress: bool = False
    ipMasq: bool = False
    ipMasqBackend: str | None = None
    mtu: int = 0
    hairpinMode: bool = False
    promiscMode: bool = False
    vlan: int = 0
    vlanTrunk: list[VlanTrunk] | None = None
    preserveDefaultVlan: bool = False
    macspoofchk: bool = False
    enabledad: bool = False
    disableContainerInterface: bool = False
    portIsolation: bool = False
    removeEmptyBridge: bool = False  # ours (plugins#282): see empty_bridge.py
    args: BridgeArgs = BridgeArgs()
    runtimeConfig: MacHolder = MacHolder()
