"""The tuning configuration (keys: models.py): overrides from CNI_ARGS / runtimeConfig / args,
and the duplicate-sysctl check.

MAC precedence (low to high) is CNI_ARGS `MAC` < `runtimeConfig.mac` < `args.cni.mac`, which is
not bridge's order. `args.cni` overrides every other key too and its `sysctl` entries are merged
into the config's map.
"""

from __future__ import annotations

from collections import namedtuple

from libcni.gojson import fold, repeated_keys
from libcni.types.args import load_args
from libcni.types.errors import CNIError, ErrCode
from libcni.types.netconf import NetConfRecord
from libcni.types.netconf import load as load_conf

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~2-3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from libcni.skel import CmdArgs

DEFAULT_DATA_DIR = "/run/cni/tuning"
LOAD_ERROR_PREFIX = "failed to load netconf: "


def not_negative(value: int) -> int:
    if value < 0:
        raise ValueError("must not be negative")
    return value


class Tuning(namedtuple("Tuning", "conf sysctl mac promisc mtu allmulti txqlen data_dir")):
    """What to do, after every override is applied (a named tuple: `dataclasses` costs ~7 ms of a
    cold call)."""

    __slots__ = ()
    conf: NetConfRecord
    sysctl: dict[str, str]
    mac: str
    promisc: bool
    mtu: int
    allmulti: bool | None
    txqlen: int | None
    data_dir: str

    @property
    def changes_link(self) -> bool:
        """Any link attribute to set (these, and only these, are backed up and restored)."""
        optional = (self.allmulti, self.txqlen)
        return bool(self.mac or self.mtu or self.promisc) or any(v is not None for v in optional)


def load(args: CmdArgs) -> Tuning:
    """Parse stdin and CNI_ARGS into a Tuning (Go's parseConf)."""
    from .schema import TuningConf

    conf = load_conf(TuningConf, args.conf, prefix=LOAD_ERROR_PREFIX)
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


def reject_duplicate_sysctl_keys(config: dict) -> None:
    """`duplicated sysctl keys are not allowed`: Go checks the raw JSON, because decoding keeps only
    the last of two equal keys (the skeleton's decoder remembers them). Like Go, every top-level key
    matching `sysctl` case-insensitively feeds the same map, so a key repeated across two counts."""
    seen: set[str] = set()
    for key, value in config.items():
        if fold(key) != "sysctl" or not isinstance(value, dict):
            continue
        for sysctl_key in [*repeated_keys(value), *value]:
            if sysctl_key in seen:
                raise CNIError(
                    ErrCode.INVALID_NETWORK_CONFIG, "duplicated sysctl keys are not allowed", sysctl_key
                )
            seen.add(sysctl_key)
