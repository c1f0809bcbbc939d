"""The bridge plugin's configuration: keys, defaults and validation (Go's loadNetConf)."""

from __future__ import annotations

from libcni.types.args import load_args
from libcni.types.errors import CNIError, ErrCode
from libcni.types.netconf import NetConfRecord
from libcni.types.netconf import load as load_conf
from libcni.validate import validate_ifname
from pkg.mac import parse_mac

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    from typing import Any

DEFAULT_BRIDGE = "cni0"
MAX_VLAN = 4094


class BridgeRecord(NetConfRecord):
    """The decoded configuration (keys: models.BridgeConf) and what load() derives from it."""

    bridge: str
    isGateway: bool
    isDefaultGateway: bool
    forceAddress: bool
    ipMasq: bool
    ipMasqBackend: str | None
    mtu: int
    hairpinMode: bool
    promiscMode: bool
    vlan: int
    vlanTrunk: list[Any] | None
    preserveDefaultVlan: bool
    macspoofchk: bool
    enabledad: bool
    disableContainerInterface: bool
    portIsolation: bool
    removeEmptyBridge: bool
    args: Any
    runtimeConfig: Any
    # derived in load(): the container MAC (by precedence) and the trunk VIDs
    _mac: str = ""
    _vlans: list[int] | None = None

    @property
    def mac(self) -> str:
        return self._mac

    @property
    def vlans(self) -> list[int]:
        return self._vlans or []

    @property
    def is_layer3(self) -> bool:
        return self.ipam_type != ""

    @property
    def is_gateway(self) -> bool:
        return self.isGateway or self.isDefaultGateway

    @property
    def vlan_filtering(self) -> bool:
        return self.vlan != 0 or self.vlanTrunk is not None


def collect_vlan_trunk(trunk: list[Any] | None) -> list[int] | None:
    """The sorted, de-duplicated VIDs of `vlanTrunk` (None when there are none), Go's errors."""
    if trunk is None:
        return None
    vids: set[int] = set()
    for item in trunk:
        if item.minID is not None and item.maxID is not None:
            if not 0 < item.minID <= MAX_VLAN:
                raise _invalid("incorrect trunk minID parameter")
            if not 0 < item.maxID <= MAX_VLAN:
                raise _invalid("incorrect trunk maxID parameter")
            if item.maxID < item.minID:
                raise _invalid("minID is greater than maxID in trunk parameter")
            vids.update(range(item.minID, item.maxID + 1))
        elif item.maxID is not None:
            raise _invalid("minID and maxID should be configured simultaneously, minID is missing")
        elif item.minID is not None:
            raise _invalid("minID and maxID should be configured simultaneously, maxID is missing")
        if item.id is not None:
            if not 0 < item.id <= MAX_VLAN:
                raise _invalid("incorrect trunk id parameter")
            vids.add(item.id)
    return sorted(vids) or None


def _invalid(message: str) -> CNIError:
    return CNIError(ErrCode.INVALID_NETWORK_CONFIG, message)


def load(config: dict, cni_args: str) -> BridgeRecord:
    """Parse and validate the config and CNI_ARGS (every verb does this, like Go)."""
    from .schema import BridgeConf

    conf: BridgeRecord = load_conf(BridgeConf, config, prefix="failed to load netconf: ")
    if conf.vlan < 0 or conf.vlan > MAX_VLAN:
        raise _invalid(f"invalid VLAN ID {conf.vlan} (must be between 0 and {MAX_VLAN})")
    conf._vlans = collect_vlan_trunk(conf.vlanTrunk)
    try:
        validate_ifname(conf.bridge)
    except CNIError as err:
        raise CNIError(
            ErrCode.INVALID_NETWORK_CONFIG, f'invalid "bridge" {conf.bridge!r}: {err.msg}'
        ) from None
    mac = load_args(cni_args, {"MAC"}).get("MAC", "")
    mac = conf.args.cni.mac or mac
    conf._mac = conf.runtimeConfig.mac or mac
    return conf


def validate_for_add(conf: BridgeRecord) -> None:
    """The checks Go makes at the start of ADD."""
    if conf.is_layer3 and conf.disableContainerInterface:
        raise _invalid("cannot use IPAM when DisableContainerInterface flag is set")
    if conf.hairpinMode and conf.promiscMode:
        raise _invalid("cannot set hairpin mode and promiscuous mode at the same time")
    if conf.ipMasq:
        from pkg.ipmasq import validate_backend  # the masquerade code is loaded only for ipMasq

        validate_backend(conf.ipMasqBackend)
    if conf.mac:
        field = (
            "runtimeConfig.mac" if conf.runtimeConfig.mac else "args.cni.mac" if conf.args.cni.mac else "MAC"
        )
        conf._mac = parse_mac(conf.mac, field)
