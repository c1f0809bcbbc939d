"""Hardware addresses parsed like Go's net.ParseMAC and printed lower-case with colons."""

from __future__ import annotations

from libcni.types.errors import CNIError, ErrCode

_HEX = "0123456789abcdefABCDEF"
_VALID_LENGTHS = (6, 8, 20)  # EUI-48, EUI-64, 20-octet IPoIB


def _hex_groups(text: str, separator: str, size: int) -> list[str] | None:
    """`text` split at `separator` when every part is `size` hex digits, else None."""
    groups = text.split(separator)
    if all(len(g) == size and not g.strip(_HEX) for g in groups):
        return groups
    return None


def parse_mac(text: str, field: str = "mac") -> str:
    """Canonical 'aa:bb:cc:dd:ee:ff'; CNIError naming the field for anything Go rejects
    (Go's net.ParseMAC: xx:xx:.., xx-xx-.. or xxxx.xxxx.., of 6, 8 or 20 octets)."""
    octets: list[str] | None = None
    if text[2:3] in (":", "-"):
        octets = _hex_groups(text, text[2], 2)
    elif text[4:5] == ".":
        dotted = _hex_groups(text, ".", 4)
        octets = None if dotted is None else [g[i : i + 2] for g in dotted for i in (0, 2)]
    if octets is None or len(octets) not in _VALID_LENGTHS:
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, f"address {text}: invalid MAC address", field)
    return ":".join(o.lower() for o in octets)
