"""Hardware addresses parsed like Go's net.ParseMAC and printed lower-case with colons."""

from __future__ import annotations

import re

from libcni.types.errors import CNIError, ErrCode

_COLON_OR_DASH = re.compile(r"^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2})*$")
_DOTTED = re.compile(r"^[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4})*$")
_VALID_LENGTHS = (6, 8, 20)  # EUI-48, EUI-64, 20-octet IPoIB


def parse_mac(text: str, field: str = "mac") -> str:
    """Canonical 'aa:bb:cc:dd:ee:ff'; CNIError naming the field for anything Go rejects."""
    octets: list[str] | None = None
    if _COLON_OR_DASH.match(text):
        octets = re.split("[:-]", text)
    elif _DOTTED.match(text):
        octets = [group[i : i + 2] for group in text.split(".") for i in (0, 2)]
    if octets is None or len(octets) not in _VALID_LENGTHS:
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, f"address {text}: invalid MAC address", field)
    return ":".join(o.lower() for o in octets)
