"""Loading a bandwidth config (Go's parseConfig), pydantic-free.

The keys and types are defined once, by the pydantic models in models.py. Until the generated lean
decoder lands, `_decode` below is a hand-written stand-in following those models exactly (same
error codes, texts and field names as `parse_model`; tests/bandwidth/test_units.py compares them).
"""

from __future__ import annotations

import json
from collections import namedtuple

from libcni.types.errors import CNIError, ErrCode
from libcni.types.gomodel_keys import lookup

from .shaping import Entry, rate_burst_error

TYPE_CHECKING = False  # `typing` costs ~4 ms of a cold call; annotations are strings
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from libcni.skel import CmdArgs

LOAD_ERROR_PREFIX = "failed to parse network configuration: "
ENTRY_KEYS = ("ingressRate", "ingressBurst", "egressRate", "egressBurst")
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


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(code: int, path: str, message: str, value: Any) -> CNIError:
    return CNIError(code, f'{LOAD_ERROR_PREFIX}invalid "{path}": {message} (got {_describe(value)})', path)


def _uint(data: dict, key: str, where: str) -> int | None:
    value = lookup(data, key)
    if value is None:
        return None
    if type(value) is not int:
        raise _fail(ErrCode.DECODING_FAILURE, where + key, "Input should be a valid integer", value)
    try:
        return uint64(value)
    except ValueError as err:
        raise _fail(ErrCode.INVALID_NETWORK_CONFIG, where + key, str(err), value) from None


def _object(data: dict, key: str, where: str, model: str = "") -> dict | None:
    value = lookup(data, key)
    if value is not None and not isinstance(value, dict):
        text = (
            f"Input should be a valid dictionary or instance of {model}"
            if model
            else "Input should be a valid dictionary"
        )
        raise _fail(ErrCode.DECODING_FAILURE, where + key, text, value)
    return value


def _entry(data: dict, where: str) -> Entry:
    values = [_uint(data, key, where) for key in ENTRY_KEYS]
    return Entry(*(v or 0 for v in values))


def _has_key(data: dict, key: str) -> bool:
    lowered = key.lower()
    return any(isinstance(k, str) and k.lower() == lowered for k in data)


def _decode(data: dict) -> Bandwidth:
    """Stand-in for the generated decoder of models.BandwidthConf (plus Go's embedded-pointer rule:
    any of the four keys at the top level, even null, makes the config's entry the one in force)."""
    name = lookup(data, "name")
    version = lookup(data, "cniVersion") or ""
    prev = _object(data, "prevResult", "")
    top = _entry(data, "")
    runtime = _object(data, "runtimeConfig", "", "RuntimeConfig") or {}
    runtime_bw = _object(runtime, "bandwidth", "runtimeConfig.", "BandwidthEntry")
    runtime_entry = _entry(runtime_bw, "runtimeConfig.bandwidth.") if runtime_bw is not None else None
    if any(_has_key(data, key) for key in ENTRY_KEYS):
        entry, where = top, ""
    elif runtime_entry is not None:
        entry, where = runtime_entry, "runtimeConfig.bandwidth."
    else:
        entry, where = None, ""
    return Bandwidth(name=name or "", cni_version=version, prev_result=prev, entry=entry, where=where)


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


def load(args: CmdArgs) -> Bandwidth:
    """Decode and validate stdin (the skeleton has already checked it is a JSON object)."""
    try:
        data = json.loads(args.stdin_data.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as err:
        raise CNIError(ErrCode.DECODING_FAILURE, f"{LOAD_ERROR_PREFIX}{err}") from None
    if not isinstance(data, dict):
        raise CNIError(ErrCode.DECODING_FAILURE, f"{LOAD_ERROR_PREFIX}not a JSON object")
    bw = _decode(data)
    validate(bw)
    return bw
