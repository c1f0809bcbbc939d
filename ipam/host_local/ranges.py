"""Address ranges and range sets (Go's allocator.Range / RangeSet), pure and I/O free.

A range is a subnet with an inclusive [rangeStart, rangeEnd] window and a gateway that is
never handed out. A range set is a non-empty list of ranges of one family; the allocator
hands out one address per range set. IPv4-mapped IPv6 text counts as IPv4, as in Go.
"""

from __future__ import annotations

import ipaddress
from collections import namedtuple
from collections.abc import Iterable

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_prefix_text(text: str) -> bool:
    """Whether `text` is a prefix length's digits: was the regex [0-9]+ (fullmatch), written with
    str methods because `re` costs ~6 ms of a cold call (tests/unit/test_plugin_text_checks.py)."""
    return text.isascii() and text.isdigit()


class RangeError(ValueError):
    """A range or range set that cannot be used; the text is the reference plugin's.

    `where` locates the culprit inside the range set, e.g. "[1].rangeStart"."""

    def __init__(self, text: str, where: str = "") -> None:
        super().__init__(text)
        self.where = where


def parse_ip(text: str) -> IP | None:
    """Go's net.ParseIP plus To4: dotted quad or IPv6 (no zone); IPv4-mapped becomes IPv4."""
    if not text or "%" in text:
        return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return canonical(addr)


def canonical(addr: IP) -> IP:
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class CIDR(namedtuple("CIDR", "ip prefixlen mask_bits")):
    """A parsed CIDR that keeps what Go keeps: the address as written and the prefix length.

    `mask_bits` is the width of the mask as written (128 for '::ffff:10.0.0.0/104'), which Go
    compares with the canonical address's width to report a version mismatch."""

    __slots__ = ()
    ip: IP
    prefixlen: int
    mask_bits: int

    @classmethod
    def parse(cls, text: str) -> CIDR:
        addr_text, sep, prefix_text = text.partition("/")
        addr = None
        if sep and "%" not in addr_text:
            try:
                addr = ipaddress.ip_address(addr_text)
            except ValueError:
                addr = None
        if addr is None or not is_prefix_text(prefix_text) or int(prefix_text) > addr.max_prefixlen:
            raise ValueError(f"invalid CIDR address: {text}")
        return cls(canonical(addr), int(prefix_text), addr.max_prefixlen)

    def __str__(self) -> str:
        # Go's IPNet.String: the address as stored, and the mask length in its own family.
        shown = self.prefixlen - (self.mask_bits - self.ip.max_prefixlen)
        return f"{self.ip}/{max(shown, 0)}"


class Range(namedtuple("Range", "subnet range_start range_end gateway")):
    """A canonical range: every field set, start <= end, all inside the subnet."""

    __slots__ = ()
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network
    range_start: IP
    range_end: IP
    gateway: IP

    @property
    def version(self) -> int:
        return self.subnet.version

    @property
    def prefixlen(self) -> int:
        return self.subnet.prefixlen

    def contains(self, addr: IP) -> bool:
        return (
            addr.version == self.version
            and addr in self.subnet
            and self.range_start <= addr <= self.range_end  # type: ignore[operator]  # one family
        )

    def overlaps(self, other: Range) -> bool:
        if self.version != other.version:
            return False
        return (
            self.contains(other.range_start)
            or self.contains(other.range_end)
            or other.contains(self.range_start)
            or other.contains(self.range_end)
        )

    def size(self) -> int:
        """How many addresses can be handed out (the window minus the gateway)."""
        total = int(self.range_end) - int(self.range_start) + 1
        return total - (1 if self.contains(self.gateway) else 0)

    def __str__(self) -> str:
        return f"{self.range_start}-{self.range_end}"


class RawRange(
    namedtuple(
        "RawRange",
        "subnet range_start range_end gateway",
        defaults=(
            None,
            None,
            None,
        ),
    )
):
    """A range as configured: subnet required, the rest optional (None = default)."""

    __slots__ = ()
    subnet: CIDR | None
    range_start: IP | None
    range_end: IP | None
    gateway: IP | None


def _in_window(addr: IP, net, start: IP | None, end: IP | None) -> bool:
    if addr.version != net.version or addr not in net:
        return False
    # Integer comparison, as Go's ip.Cmp: a bound of the other family compares by value.
    if start is not None and int(addr) < int(start):
        return False
    return not (end is not None and int(addr) > int(end))


def canonicalize_range(raw: RawRange) -> Range:
    """Validate a configured range and fill its defaults, in Go's order and with Go's texts."""
    cidr = raw.subnet
    if cidr is None:
        raise RangeError("missing subnet", ".subnet")
    if cidr.prefixlen > cidr.mask_bits - 2:
        raise RangeError(f"Network {cidr} too small to allocate from", ".subnet")
    if cidr.ip.max_prefixlen != cidr.mask_bits:
        raise RangeError("IPNet IP and Mask version mismatch", ".subnet")
    net = ipaddress.ip_network((cidr.ip, cidr.prefixlen), strict=False)
    if net.network_address != cidr.ip:
        raise RangeError(
            "Network has host bits set. For a subnet mask of length "
            f"{cidr.prefixlen} the network address is {net.network_address}",
            ".subnet",
        )
    gateway = raw.gateway if raw.gateway is not None else net.network_address + 1
    start = raw.range_start
    if start is not None:
        if not _in_window(start, net, None, raw.range_end):
            raise RangeError(f"RangeStart {start} not in network {net}", ".rangeStart")
    else:
        start = net.network_address + 1
    end = raw.range_end
    if end is not None:
        if not _in_window(end, net, start, None):
            raise RangeError(f"RangeEnd {end} not in network {net}", ".rangeEnd")
    else:
        end = net.broadcast_address - 1 if net.version == 4 else net.broadcast_address
    return Range(subnet=net, range_start=start, range_end=end, gateway=gateway)


class RangeSet(namedtuple("RangeSet", "ranges")):
    """A canonical, non-empty list of ranges of one family that do not overlap."""

    __slots__ = ()
    ranges: tuple[Range, ...]

    @property
    def version(self) -> int:
        return self.ranges[0].version

    def range_for(self, addr: IP) -> Range | None:
        for r in self.ranges:
            if r.contains(addr):
                return r
        return None

    def contains(self, addr: IP) -> bool:
        return self.range_for(addr) is not None

    def overlaps(self, other: RangeSet) -> bool:
        return any(a.overlaps(b) for a in self.ranges for b in other.ranges)

    def size(self) -> int:
        return sum(r.size() for r in self.ranges)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.ranges)


def canonicalize_range_set(raws: Iterable[RawRange]) -> RangeSet:
    raws = list(raws)
    if not raws:
        raise RangeError("empty range set")
    ranges: list[Range] = []
    for index, raw in enumerate(raws):
        try:
            r = canonicalize_range(raw)
        except RangeError as err:
            raise RangeError(str(err), f"[{index}]{err.where}") from None
        if ranges and r.version != ranges[0].version:
            raise RangeError("mixed address families", f"[{index}]")
        ranges.append(r)
    for i, first in enumerate(ranges):
        for second in ranges[i + 1 :]:
            if first.overlaps(second):
                raise RangeError(f"subnets {first} and {second} overlap", f"[{i}]")
    return RangeSet(tuple(ranges))
