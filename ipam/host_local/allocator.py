"""Round-robin allocation over a range set (Go's allocator.IPAllocator), without I/O.

The allocator decides which address to try next; the store (passed in) says whether an
address could be reserved. Candidates start after the last reserved address of the range set
and wrap around, so the last reserved address itself is tried last; gateways are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from .ranges import IP, Range, RangeSet


class AllocationError(Exception):
    """Why a range set could not give an address; `kind` selects the CNI error code."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind  # "gateway", "taken", "duplicate", "outside", "exhausted"


class Reservations(Protocol):
    def reserve(self, container_id: str, ifname: str, addr: IP, range_id: int) -> bool: ...

    def held_by(self, container_id: str, ifname: str) -> list[IP]: ...

    def last_reserved(self, range_id: int) -> IP | None: ...

    def taken_hint(self) -> frozenset[IP] | None: ...


@dataclass(frozen=True)
class Allocation:
    address: IP
    range: Range

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.range.prefixlen}"


def candidates(rangeset: RangeSet, last_reserved: IP | None) -> Iterator[tuple[IP, Range]]:
    """Every address of the set once, in Go's round-robin order (RangeIter.Next)."""
    ranges = rangeset.ranges
    index = 0
    current: IP | None = None
    start: IP | None = None
    if last_reserved is not None and rangeset.contains(last_reserved):
        index = next(i for i, r in enumerate(ranges) if r.contains(last_reserved))
        current = last_reserved
    else:
        start = ranges[0].range_start
    while True:
        r = ranges[index]
        if current is None:
            current = r.range_start
            start = current
        else:
            if current == r.range_end:
                index = (index + 1) % len(ranges)
                r = ranges[index]
                current = r.range_start
            else:
                current = current + 1
            if start is None:
                start = current
            elif current == start:
                return
        if current != r.gateway:
            yield current, r


def allocate(
    rangeset: RangeSet,
    range_id: int,
    store: Reservations,
    container_id: str,
    ifname: str,
    requested: IP | None = None,
) -> Allocation:
    """Reserve one address of `rangeset` for (container_id, ifname); raises AllocationError."""
    if requested is not None:
        r = rangeset.range_for(requested)
        if r is None:  # callers only pass addresses of this set
            raise AllocationError("outside", f"{requested} not in range set {rangeset}")
        if requested == r.gateway:
            raise AllocationError("gateway", f"requested ip {requested} is subnet's gateway")
        if not store.reserve(container_id, ifname, requested, range_id):
            raise AllocationError(
                "taken", f"requested IP address {requested} is not available in range set {rangeset}"
            )
        return Allocation(requested, r)

    # A second ADD for the same attachment is an error, not a second address (CNI spec).
    for held in store.held_by(container_id, ifname):
        if rangeset.contains(held):
            raise AllocationError(
                "duplicate",
                f"{held} has been allocated to {container_id}, duplicate allocation is not allowed",
            )

    taken: frozenset[IP] | None = None
    for tried, (addr, r) in enumerate(candidates(rangeset, store.last_reserved(range_id))):
        if tried == 64:
            # Many addresses in a row were taken: skip known ones without touching the disk.
            taken = store.taken_hint()
        if taken is not None and addr in taken:
            continue
        if store.reserve(container_id, ifname, addr, range_id):
            return Allocation(addr, r)
    raise AllocationError("exhausted", f"no IP addresses available in range set: {rangeset}")
