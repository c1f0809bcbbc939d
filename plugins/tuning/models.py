"""tuning's configuration and backup file as pydantic models: the one definition of their keys.

The call path decodes with the tables generated from these (schema.py, `make schemas`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from libcni.types.config import NetConf
from libcni.types.gomodel import GoModel

from .config import not_negative

NonNegative = Annotated[int, AfterValidator(not_negative)]


class CniArgs(GoModel):
    """`args.cni`: each key present overrides the config's."""

    sysctl: dict[str, str] | None = None
    mac: str | None = None
    promisc: bool | None = None
    mtu: NonNegative | None = None
    allmulti: bool | None = None
    txQLen: NonNegative | None = None


class ArgsSection(GoModel):
    cni: CniArgs | None = None


class RuntimeConfig(GoModel):
    mac: str = ""


class TuningConf(NetConf):
    dataDir: str = ""
    sysctl: dict[str, str] | None = None
    mac: str = ""
    promisc: bool = False
    mtu: NonNegative = 0
    txQLen: NonNegative | None = None
    allmulti: bool | None = None
    runtimeConfig: RuntimeConfig = RuntimeConfig()
    args: ArgsSection | None = None


class SavedLink(GoModel):
    """Go's configToRestore: absent (or zero mac/mtu) means 'not changed, nothing to restore'."""

    mac: str = ""
    promisc: bool | None = None
    mtu: int = 0
    allmulti: bool | None = None
    txQLen: int | None = None
