"""The tuning configuration: keys, overrides from CNI_ARGS / runtimeConfig / args, and the raw-JSON
duplicate-sysctl check.

MAC precedence (low to high) is CNI_ARGS `MAC` < `runtimeConfig.mac` < `args.cni.mac`, which is
not bridge's order. `args.cni` overrides every other key too and its `sysctl` entries are merged
into the config's map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import field_validator

from libcni.types.args import load_args
from libcni.types.config import NetConf, load_conf
from libcni.types.errors import CNIError, ErrCode
from libcni.types.gomodel import GoModel

if TYPE_CHECKING:  # pragma: no cover
    from libcni.skel import CmdArgs

DEFAULT_DATA_DIR = "/run/cni/tuning"
LOAD_ERROR_PREFIX = "failed to load netconf: "


def _not_negative(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ValueError("must not be negative")
    return value


class CniArgs(GoModel):
    """`args.cni`: each key present overrides the config's."""

    sysctl: dict[str, str] | None = None
    mac: str | None = None
    promisc: bool | None = None
    mtu: int | None = None
    allmulti: bool | None = None
    txQLen: int | None = None

    @field_validator("mtu", "txQLen")
    @classmethod
    def _no_negative_numbers(cls, value: int | None) -> int | None:
        return _not_negative(value)


class ArgsSection(GoModel):
    cni: CniArgs | None = None


class RuntimeConfig(GoModel):
    mac: str = ""


class TuningConf(NetConf):
    dataDir: str = ""
    sysctl: dict[str, str] | None = None
    mac: str = ""
    promisc: bool = False
    mtu: int = 0
    txQLen: int | None = None
    allmulti: bool | None = None
    runtimeConfig: RuntimeConfig = RuntimeConfig()
    args: ArgsSection | None = None

    @field_validator("mtu", "txQLen")
    @classmethod
    def _no_negative_numbers(cls, value: int | None) -> int | None:
        return _not_negative(value)


@dataclass(frozen=True)
class Tuning:
    """What to do, after every override is applied."""

    conf: TuningConf
    sysctl: dict[str, str] = field(default_factory=dict)
    mac: str = ""
    promisc: bool = False
    mtu: int = 0
    allmulti: bool | None = None
    txqlen: int | None = None
    data_dir: str = DEFAULT_DATA_DIR

    @property
    def changes_link(self) -> bool:
        """Any link attribute to set (these, and only these, are backed up and restored)."""
        optional = (self.allmulti, self.txqlen)
        return bool(self.mac or self.mtu or self.promisc) or any(v is not None for v in optional)


def load(args: CmdArgs) -> Tuning:
    """Parse stdin and CNI_ARGS into a Tuning (Go's parseConf)."""
    conf: TuningConf = load_conf(TuningConf, args.stdin_data, prefix=LOAD_ERROR_PREFIX)
    mac = conf.mac
    if args.args:
        env_mac = load_args(args.args, {"MAC"}).get("MAC", "")
        if env_mac:
            mac = env_mac
    if conf.runtimeConfig.mac:
        mac = conf.runtimeConfig.mac
    sysctl = dict(conf.sysctl or {})
    promisc, mtu, allmulti, txqlen = conf.promisc, conf.mtu, conf.allmulti, conf.txQLen
    overrides = conf.args.cni if conf.args is not None else None
    if overrides is not None:
        sysctl.update(overrides.sysctl or {})
        if overrides.mac is not None:
            mac = overrides.mac
        if overrides.promisc is not None:
            promisc = overrides.promisc
        if overrides.mtu is not None:
            mtu = overrides.mtu
        if overrides.allmulti is not None:
            allmulti = overrides.allmulti
        if overrides.txQLen is not None:
            txqlen = overrides.txQLen
    return Tuning(
        conf=conf,
        sysctl=sysctl,
        mac=mac,
        promisc=promisc,
        mtu=mtu,
        allmulti=allmulti,
        txqlen=txqlen,
        data_dir=conf.dataDir or DEFAULT_DATA_DIR,
    )


class _Pairs(dict):
    """A decoded JSON object that remembers every key/value pair, duplicates included."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs


def reject_duplicate_sysctl_keys(stdin: bytes) -> None:
    """`duplicated sysctl keys are not allowed`: checked on the raw JSON, because decoding keeps only
    the last of two equal keys. Like Go, every top-level key matching `sysctl` case-insensitively
    feeds the same map, so a key repeated across two of them counts too."""
    try:
        top = json.loads(stdin, object_pairs_hook=_Pairs)
    except ValueError:
        return  # the skeleton already reported undecodable input
    if not isinstance(top, _Pairs):
        return
    seen: set[str] = set()
    for key, value in top.pairs:
        if key.lower() != "sysctl" or not isinstance(value, _Pairs):
            continue
        for sysctl_key, _ in value.pairs:
            if sysctl_key in seen:
                raise CNIError(
                    ErrCode.INVALID_NETWORK_CONFIG, "duplicated sysctl keys are not allowed", sysctl_key
                )
            seen.add(sysctl_key)
