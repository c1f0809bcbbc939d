"""Loading a bandwidth config (Go's parseConfig), pydantic-free.

The keys and types are defined once, by the pydantic models in models.py; the call path decodes
with the table generated from them (schema.py, `make schemas`). What the table cannot say is
here: which entry is in force, and the rate/burst rules.
"""

from __future__ import annotations

from collections import namedtuple

from libcni.gojson import fold
from libcni.types.errors import CNIError, ErrCode

from .shaping import Entry, rate_burst_error

TYPE_CHECKING = False  # `typing` costs ~4 ms of a cold call; annotations are strings
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from libcni.skel import CmdArgs

LOAD_ERROR_PREFIX = "failed to parse network configuration: "
ENTRY_KEYS = ("ingressRate", "ingressBurst", "egressRate", "egressBurst")
RUNTIME_WHERE = "runtimeConfig.bandwidth."
MAX_UINT64 = (1 << 64) - 1


def uint64(value: int) -> int:
    """A Go uint64: no negative numbers, nothing past 2^64-1."""
    if value < 0 or value > MAX_UINT64:
        raise ValueError("must be an unsigned 64-bit integer")
    return value


class Bandwidth(namedtuple("Bandwidth", "name cni_version prev_result entry where")):
    """A decoded config: `entry` is the one in force (None when neither the config nor
    runtimeConfig has one); `where` names where it came from ('' or 'runtimeConfig.bandwidth.')."""

    __slots__ = ()


def _entry(record: Any) -> Entry:
    return Entry(*(getattr(record, key) or 0 for key in ENTRY_KEYS))


def _has_entry_key(data: dict) -> bool:
    """Go's embedded *BandwidthEntry is allocated as soon as one of its keys is present, even with
    a null value: then the config's entry is in force and runtimeConfig.bandwidth is not used."""
    wanted = {fold(key) for key in ENTRY_KEYS}
    return any(isinstance(k, str) and fold(k) in wanted for k in data)


def entry_in_force(data: dict, conf: Any) -> tuple[Entry | None, str]:
    if _has_entry_key(data):
        return _entry(conf), ""
    runtime = conf.runtimeConfig.bandwidth
    if runtime is not None:
        return _entry(runtime), RUNTIME_WHERE
    return None, ""


def validate(bw: Bandwidth) -> None:
    """Go's validateRateAndBurst on ingress, then egress: Go's text, the fields named in details."""
    if bw.entry is None:
        return
    for direction, rate, burst in (
        ("ingress", bw.entry.ingress_rate, bw.entry.ingress_burst),
        ("egress", bw.entry.egress_rate, bw.entry.egress_burst),
    ):
        problem = rate_burst_error(rate, burst)
        if problem:
            details = f"{bw.where}{direction}Rate={rate}, {bw.where}{direction}Burst={burst}"
            raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, problem, details)


def decode(data: dict) -> Bandwidth:
    from libcni.types.netconf import load as load_conf

    from .schema import BandwidthConf

    conf = load_conf(BandwidthConf, data, prefix=LOAD_ERROR_PREFIX)
    entry, where = entry_in_force(data, conf)
    return Bandwidth(
        name=conf.name, cni_version=conf.cniVersion, prev_result=conf.prevResult, entry=entry, where=where
    )


def load(args: CmdArgs) -> Bandwidth:
    """Decode and validate the config the skeleton decoded from stdin."""
    bw = decode(args.conf)
    validate(bw)
    return bw
