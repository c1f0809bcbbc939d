"""Identifier rules shared by libcni and the plugin skeleton (Go's pkg/utils validators)."""

from __future__ import annotations

from .types.errors import CNIError, ErrCode

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ID_CHARS = _ALNUM + "_.-"
MAX_IFNAME_LEN = 15


def is_identifier(text: str) -> bool:
    """Go's pkg/utils identifier rule, ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$ (ASCII only)."""
    return text[:1] != "" and text[0] in _ALNUM and not text.strip(_ID_CHARS)


def validate_container_id(container_id: str) -> None:
    if container_id == "":
        raise CNIError(ErrCode.UNKNOWN_CONTAINER, "missing containerID")
    if not is_identifier(container_id):
        raise CNIError(
            ErrCode.INVALID_ENVIRONMENT_VARIABLES, "invalid characters in containerID", container_id
        )


def validate_network_name(name: str) -> None:
    if name == "":
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, "missing network name:")
    if not is_identifier(name):
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, "invalid characters found in network name", name)


def _byte_length(text: str) -> int:
    """Length in bytes as the kernel sees it: undecodable env bytes arrive as U+DC80-U+DCFF."""
    try:
        return len(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return len(text.encode("utf-8", "surrogatepass"))


def validate_ifname(ifname: str) -> None:
    code = ErrCode.INVALID_ENVIRONMENT_VARIABLES
    if ifname == "":
        raise CNIError(code, "interface name is empty")
    if _byte_length(ifname) > MAX_IFNAME_LEN:
        raise CNIError(code, "interface name is too long", "interface name should be less than 16 characters")
    if ifname in (".", ".."):
        raise CNIError(code, "interface name is . or ..")
    if any(c in "/:" or c.isspace() for c in ifname):
        raise CNIError(code, "interface name contains / or : or whitespace characters")
