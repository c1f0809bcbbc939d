"""Spec versions: the supported list, parsing and ordering as Go's pkg/version does it."""

from __future__ import annotations

from .errors import CNIError, ErrCode

SUPPORTED_VERSIONS: tuple[str, ...] = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
CURRENT = "1.1.0"
DEFAULT = "0.1.0"  # what an absent or empty cniVersion means

# Result families: versions that share one result shape.
FAMILY_020 = ("0.1.0", "0.2.0")
FAMILY_040 = ("0.3.0", "0.3.1", "0.4.0")
FAMILY_100 = ("1.0.0", "1.1.0")


def parse_version(version: str) -> tuple[int, int, int]:
    """Parse 'major.minor.micro' (missing parts are 0; '' is 0.1.0), like Go's ParseVersion."""
    if version == "":
        return (0, 1, 0)
    parts = version.split(".")
    if len(parts) >= 4:
        raise CNIError(ErrCode.DECODING_FAILURE, f'invalid version "{version}": too many parts')
    numbers = []
    for label, part in zip(("major", "minor", "micro"), parts, strict=False):
        if not part.isdigit() or not part.isascii():
            raise CNIError(
                ErrCode.DECODING_FAILURE,
                f'failed to convert {label} version part "{part}": invalid syntax',
            )
        numbers.append(int(part))
    while len(numbers) < 3:
        numbers.append(0)
    return (numbers[0], numbers[1], numbers[2])


def greater_or_equal(version: str, other: str) -> bool:
    return parse_version(version) >= parse_version(other)


def family_of(version: str) -> tuple[str, ...] | None:
    """The result family a version belongs to ('' counts as 0.1.0), or None if unknown."""
    version = version or DEFAULT
    for family in (FAMILY_020, FAMILY_040, FAMILY_100):
        if version in family:
            return family
    return None


def go_list(versions: tuple[str, ...] | list[str]) -> str:
    """Go's %q rendering of a string slice: ["0.1.0" "0.2.0"]."""
    return "[" + " ".join(f'"{v}"' for v in versions) + "]"
