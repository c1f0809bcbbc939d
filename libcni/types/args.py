"""CNI_ARGS ("K1=V1;K2=V2") parsed like Go's types.LoadArgs: exact keys, IgnoreUnknown."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import CNIError, ErrCode


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true"):
        return True
    if lowered in ("0", "false"):
        return False
    raise CNIError(
        ErrCode.INVALID_ENVIRONMENT_VARIABLES,
        f"boolean unmarshal error: invalid input {value}",
        "CNI_ARGS IgnoreUnknown",
    )


def parse_pairs(cni_args: str) -> list[tuple[str, str]]:
    """Split CNI_ARGS into (key, value) pairs; every pair needs exactly one '='."""
    if cni_args == "":
        return []
    pairs = []
    for item in cni_args.split(";"):
        parts = item.split("=")
        if len(parts) != 2:
            raise CNIError(ErrCode.INVALID_ENVIRONMENT_VARIABLES, f'ARGS: invalid pair "{item}"', "CNI_ARGS")
        pairs.append((parts[0], parts[1]))
    return pairs


def load_args(cni_args: str, known: Iterable[str]) -> dict[str, str]:
    """Return the known keys' values. Keys match case-sensitively (Go field names);
    any other key is an error unless IgnoreUnknown is true."""
    known = set(known)
    pairs = parse_pairs(cni_args)
    ignore_unknown = False
    for key, value in pairs:
        if key == "IgnoreUnknown":
            ignore_unknown = _bool(value)
    values: dict[str, str] = {}
    unknown: list[str] = []
    for key, value in pairs:
        if key == "IgnoreUnknown":
            continue
        if key in known:
            values[key] = value
        else:
            unknown.append(f"{key}={value}")
    if unknown and not ignore_unknown:
        listed = " ".join(f'"{u}"' for u in unknown)
        raise CNIError(ErrCode.INVALID_ENVIRONMENT_VARIABLES, f"ARGS: unknown args [{listed}]", "CNI_ARGS")
    return values
