"""Round-robin allocation (Go's allocator_test.go), against an in-memory store."""

from __future__ import annotations

from ipaddress import ip_address as ip

import pytest

from ipam.host_local.allocator import AllocationError, allocate, candidates
from ipam.host_local.ranges import CIDR, IP, RawRange, canonicalize_range_set, parse_ip


class FakeStore:
    """The allocator's view of a store: address -> owner, plus last reserved per range set."""

    def __init__(self, taken: dict[str, str] | None = None, last: str = "") -> None:
        self.owners: dict[IP, tuple[str, str]] = {ip(a): (o, "eth0") for a, o in (taken or {}).items()}
        self.last: dict[int, IP] = {0: ip(last)} if last else {}
        self.reserve_calls = 0

    def reserve(self, container_id: str, ifname: str, addr: IP, range_id: int) -> bool:
        self.reserve_calls += 1
        if addr in self.owners:
            return False
        self.owners[addr] = (container_id, ifname)
        self.last[range_id] = addr
        return True

    def held_by(self, container_id: str, ifname: str) -> list[IP]:
        return [a for a, o in self.owners.items() if o == (container_id, ifname)]

    def last_reserved(self, range_id: int) -> IP | None:
        return self.last.get(range_id)

    def taken_hint(self):
        return frozenset(self.owners)

    def release(self, container_id: str) -> None:
        self.owners = {a: o for a, o in self.owners.items() if o[0] != container_id}


def rangeset(*subnets: str | tuple[str, str, str]):
    raws = []
    for s in subnets:
        subnet, start, end = (s, "", "") if isinstance(s, str) else s
        raws.append(
            RawRange(
                CIDR.parse(subnet),
                parse_ip(start) if start else None,
                parse_ip(end) if end else None,
            )
        )
    return canonicalize_range_set(raws)


def addresses(rs, last: str = "") -> list[str]:
    return [str(a) for a, _ in candidates(rs, ip(last) if last else None)]


def test_iterator_from_the_beginning():
    assert addresses(rangeset("192.168.1.0/29")) == [f"192.168.1.{i}" for i in (2, 3, 4, 5, 6)]


def test_iterator_from_the_end():
    assert addresses(rangeset("192.168.1.0/29"), "192.168.1.6") == [f"192.168.1.{i}" for i in (2, 3, 4, 5, 6)]


def test_iterator_from_the_middle():
    assert addresses(rangeset("192.168.1.0/29"), "192.168.1.3") == [f"192.168.1.{i}" for i in (4, 5, 6, 2, 3)]


def test_iterator_after_the_last_address_of_one_of_several_ranges():
    rs = rangeset(
        ("192.168.1.0/30", "192.168.1.0", "192.168.1.3"), ("192.168.2.0/30", "192.168.2.0", "192.168.2.3")
    )
    # .1 of each range is its default gateway and is skipped; the network addresses are allocatable.
    assert addresses(rs, "192.168.1.3") == [
        "192.168.2.0",
        "192.168.2.2",
        "192.168.2.3",
        "192.168.1.0",
        "192.168.1.2",
        "192.168.1.3",
    ]
    assert addresses(rs)[0] == "192.168.1.0"


@pytest.mark.parametrize(
    ("subnets", "taken", "last", "expected"),
    [
        (["10.0.0.0/29"], [], "", "10.0.0.2"),  # fresh start
        (["2001:db8:1::0/64"], [], "", "2001:db8:1::2"),
        (["10.0.0.0/30"], [], "", "10.0.0.2"),
        (["10.0.0.0/29"], ["10.0.0.2"], "", "10.0.0.3"),
        (["10.0.0.0/29"], [], "10.0.0.5", "10.0.0.6"),  # next after the last reserved
        (["10.0.0.0/29"], ["10.0.0.4", "10.0.0.5"], "10.0.0.3", "10.0.0.6"),
        (["10.0.0.0/29"], ["10.0.0.6"], "10.0.0.5", "10.0.0.2"),  # wrap to the beginning
        (["10.0.0.0/29"], ["10.0.0.2"], "10.0.0.128", "10.0.0.3"),  # last reserved out of range
        (["10.0.0.0/29"], ["10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"], "10.0.0.3", "10.0.0.3"),
        (["10.0.0.0/30", "10.0.1.0/30"], [], "", "10.0.0.2"),  # several subnets
        (["10.0.0.0/30", "10.0.1.0/30"], [], "10.0.0.2", "10.0.1.2"),  # advance to the next subnet
        (["10.0.0.0/30", "10.0.1.0/30", "10.0.2.0/30"], [], "10.0.2.2", "10.0.0.2"),  # roll over
    ],
)
def test_round_robin(subnets, taken, last, expected):
    store = FakeStore({a: "id" for a in taken}, last)
    got = allocate(rangeset(*subnets), 0, store, "ID", "eth0")
    assert str(got.address) == expected
    assert store.last[0] == got.address


def test_never_the_broadcast_address():
    rs, store = rangeset("192.168.1.0/29"), FakeStore()
    got = [allocate(rs, 0, store, f"ID{i}", "eth0").cidr for i in range(2, 7)]
    assert got == [f"192.168.1.{i}/29" for i in range(2, 7)]
    with pytest.raises(AllocationError) as err:
        allocate(rs, 0, store, "ID8", "eth0")
    assert err.value.kind == "exhausted"


def test_round_robin_after_release():
    rs, store = rangeset("192.168.1.0/29"), FakeStore()
    assert allocate(rs, 0, store, "ID", "eth0").cidr == "192.168.1.2/29"
    store.release("ID")
    assert allocate(rs, 0, store, "ID", "eth0").cidr == "192.168.1.3/29"


def test_requested_address():
    rs, store = rangeset("192.168.1.0/29"), FakeStore()
    assert str(allocate(rs, 0, store, "ID", "eth0", ip("192.168.1.5")).address) == "192.168.1.5"
    with pytest.raises(AllocationError) as err:
        allocate(rs, 0, store, "ID", "eth0", ip("192.168.1.5"))
    assert (
        str(err.value)
        == "requested IP address 192.168.1.5 is not available in range set 192.168.1.1-192.168.1.6"
    )
    assert err.value.kind == "taken"


def test_requested_address_outside_the_window():
    store = FakeStore()
    with pytest.raises(AllocationError):
        allocate(rangeset(("192.168.1.0/29", "", "192.168.1.4")), 0, store, "ID", "eth0", ip("192.168.1.5"))
    with pytest.raises(AllocationError):
        allocate(rangeset(("192.168.1.0/29", "192.168.1.3", "")), 0, store, "ID", "eth0", ip("192.168.1.2"))


def test_requested_gateway_is_refused():
    with pytest.raises(AllocationError, match="^requested ip 192.168.1.1 is subnet's gateway$"):
        allocate(rangeset("192.168.1.0/29"), 0, FakeStore(), "ID", "eth0", ip("192.168.1.1"))


def test_requested_address_skips_the_duplicate_check():
    rs, store = rangeset("192.168.1.0/29"), FakeStore()
    allocate(rs, 0, store, "ID", "eth0")
    assert str(allocate(rs, 0, store, "ID", "eth0", ip("192.168.1.6")).address) == "192.168.1.6"


def test_duplicate_attachment_is_refused():
    rs, store = rangeset("192.168.1.0/29"), FakeStore()
    allocate(rs, 0, store, "ID", "eth0")
    with pytest.raises(AllocationError) as err:
        allocate(rs, 0, store, "ID", "eth0")
    assert str(err.value) == "192.168.1.2 has been allocated to ID, duplicate allocation is not allowed"
    # Another interface of the same container is another attachment.
    assert allocate(rs, 0, store, "ID", "eth1").cidr == "192.168.1.3/29"


@pytest.mark.parametrize(
    ("subnets", "taken"),
    [
        (["10.0.0.0/30"], ["10.0.0.2"]),
        (["10.0.0.0/29"], ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]),
        (["10.0.0.0/30", "10.0.1.0/30"], ["10.0.0.2", "10.0.1.2"]),
    ],
)
def test_out_of_addresses(subnets, taken):
    with pytest.raises(AllocationError) as err:
        allocate(rangeset(*subnets), 0, FakeStore({a: "id" for a in taken}), "ID", "eth0")
    assert str(err.value).startswith("no IP addresses available in range set: ")


def test_long_taken_runs_are_skipped_without_reserving_each():
    rs = rangeset("10.9.0.0/22")
    taken = {str(a): "x" for a, _ in list(candidates(rs, None))[:900]}
    store = FakeStore(taken)
    got = allocate(rs, 0, store, "ID", "eth0")
    assert str(got.address) == "10.9.3.134"  # the 901st candidate
    assert store.reserve_calls < 100
