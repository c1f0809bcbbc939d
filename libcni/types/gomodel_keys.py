"""Go-style key lookup in a decoded JSON object (no pydantic: the skeleton uses it for every call)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs ~4 ms of every cold call; annotations here are strings anyway
    from typing import Any


def lookup(data: dict, key: str) -> Any:
    """Exact match first, else case-insensitive (the last such key wins), as Go's encoding/json."""
    if key in data:
        return data[key]
    found = None
    lowered = key.lower()
    for k, v in data.items():
        if isinstance(k, str) and k.lower() == lowered:
            found = v
    return found
