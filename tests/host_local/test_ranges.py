"""Range and range-set rules (Go's range_test.go and range_set_test.go)."""

from ipaddress import ip_address as ip

import pytest

from ipam.host_local.ranges import (
    CIDR,
    RangeError,
    RawRange,
    canonicalize_range,
    canonicalize_range_set,
    parse_ip,
)


def raw(subnet: str, start: str = "", end: str = "", gateway: str = "") -> RawRange:
    return RawRange(
        subnet=CIDR.parse(subnet),
        range_start=parse_ip(start) if start else None,
        range_end=parse_ip(end) if end else None,
        gateway=parse_ip(gateway) if gateway else None,
    )


def test_defaults_for_a_slash_24():
    r = canonicalize_range(raw("192.0.2.0/24"))
    assert (str(r.subnet), r.range_start, r.range_end, r.gateway) == (
        "192.0.2.0/24",
        ip("192.0.2.1"),
        ip("192.0.2.254"),
        ip("192.0.2.1"),
    )


def test_defaults_for_a_smaller_ipv4_subnet():
    r = canonicalize_range(raw("192.0.2.0/25"))
    assert (r.range_start, r.range_end, r.gateway) == (ip("192.0.2.1"), ip("192.0.2.126"), ip("192.0.2.1"))


def test_defaults_for_ipv6_end_at_the_last_address():
    r = canonicalize_range(raw("2001:DB8:1::/64"))
    assert (r.range_start, r.range_end, r.gateway) == (
        ip("2001:db8:1::1"),
        ip("2001:db8:1::ffff:ffff:ffff:ffff"),
        ip("2001:db8:1::1"),
    )


@pytest.mark.parametrize(
    ("subnet", "message"),
    [
        ("192.0.2.12/24", "For a subnet mask of length 24 the network address is 192.0.2.0"),
        (
            "2001:DB8:1::24:19ff:fee1:c44a/64",
            "For a subnet mask of length 64 the network address is 2001:db8:1::",
        ),
        ("2001:DB8:24:19ff::/63", "For a subnet mask of length 63 the network address is 2001:db8:24:19fe::"),
        ("192.168.127.0/23", "For a subnet mask of length 23 the network address is 192.168.126.0"),
    ],
)
def test_host_bits_are_rejected(subnet, message):
    with pytest.raises(RangeError) as err:
        canonicalize_range(raw(subnet))
    assert str(err.value) == "Network has host bits set. " + message
    assert err.value.where == ".subnet"


@pytest.mark.parametrize("subnet", ["192.0.2.0/31", "192.0.2.0/32", "2001:db8::/127", "2001:db8::/128"])
def test_networks_too_small(subnet):
    with pytest.raises(RangeError, match=f"^Network {subnet} too small to allocate from$"):
        canonicalize_range(raw(subnet))


def test_slash_30_is_the_smallest_ipv4_network():
    r = canonicalize_range(raw("10.0.0.0/30"))
    assert (r.range_start, r.range_end, r.size()) == (ip("10.0.0.1"), ip("10.0.0.2"), 1)


def test_ipv4_mapped_subnet_is_a_version_mismatch():
    with pytest.raises(RangeError, match="^IPNet IP and Mask version mismatch$"):
        canonicalize_range(raw("::ffff:10.0.0.0/104"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "192.0.3.0"}, "RangeStart 192.0.3.0 not in network 192.0.2.0/24"),
        ({"end": "192.0.4.0"}, "RangeEnd 192.0.4.0 not in network 192.0.2.0/24"),
        ({"start": "192.0.2.50", "end": "192.0.2.40"}, "RangeStart 192.0.2.50 not in network 192.0.2.0/24"),
        ({"start": "2001:db8::1"}, "RangeStart 2001:db8::1 not in network 192.0.2.0/24"),
        ({"end": "2001:db8::1"}, "RangeEnd 2001:db8::1 not in network 192.0.2.0/24"),
    ],
)
def test_bad_start_and_end(kwargs, message):
    with pytest.raises(RangeError) as err:
        canonicalize_range(raw("192.0.2.0/24", **kwargs))
    assert str(err.value) == message


def test_all_fields_parsed():
    r = canonicalize_range(raw("192.0.2.0/24", "192.0.2.40", "192.0.2.50", "192.0.2.254"))
    assert (r.range_start, r.range_end, r.gateway) == (ip("192.0.2.40"), ip("192.0.2.50"), ip("192.0.2.254"))


def test_explicit_network_and_broadcast_addresses_are_accepted():
    # Go quirk (issue #1295): an explicit window may include the network and broadcast addresses.
    r = canonicalize_range(raw("10.0.0.0/24", "10.0.0.0", "10.0.0.255"))
    assert r.contains(ip("10.0.0.0")) and r.contains(ip("10.0.0.255"))


def test_contains_v4():
    r = canonicalize_range(raw("192.0.2.0/24", "192.0.2.40", "192.0.2.50", "192.0.2.254"))
    results = {
        a: r.contains(ip(a)) for a in ("192.0.3.0", "192.0.2.39", "192.0.2.40", "192.0.2.50", "192.0.2.51")
    }
    assert results == {
        "192.0.3.0": False,
        "192.0.2.39": False,
        "192.0.2.40": True,
        "192.0.2.50": True,
        "192.0.2.51": False,
    }
    assert not r.contains(ip("2001:db8::1"))


def test_contains_v6():
    r = canonicalize_range(raw("2001:DB8:1::/64", "2001:db8:1::40", "2001:db8:1::50"))
    results = [
        r.contains(ip(a)) for a in ("2001:db8:2::", "2001:db8:1::39", "2001:db8:1::40", "2001:db8:1::50")
    ]
    assert results == [False, False, True, True]
    assert not r.contains(ip("2001:db8:1::51"))


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (("10.0.0.0/24",), ("10.0.1.0/24",), False),
        (("0.0.0.0/24",), ("::/24",), False),
        (("10.0.0.0/24",), ("10.0.0.0/24",), True),
        (("10.0.0.0/20",), ("10.0.1.0/24",), True),
        (("10.0.0.0/24", "", "10.0.0.127"), ("10.0.0.0/24", "10.0.0.128"), False),
        (("10.0.0.0/24", "", "10.0.0.127"), ("10.0.0.0/24", "10.0.0.127"), True),
    ],
)
def test_overlap_is_symmetric(first, second, expected):
    a, b = canonicalize_range(raw(*first)), canonicalize_range(raw(*second))
    assert a.overlaps(b) is expected and b.overlaps(a) is expected


def test_range_set_errors():
    with pytest.raises(RangeError, match="^empty range set$"):
        canonicalize_range_set([])
    with pytest.raises(RangeError, match="^mixed address families$") as err:
        canonicalize_range_set([raw("10.1.0.0/22"), raw("2001:db8:5::/64")])
    assert err.value.where == "[1]"
    with pytest.raises(RangeError) as err:
        canonicalize_range_set([raw("10.1.0.0/22"), raw("10.1.2.0/24")])
    assert str(err.value) == "subnets 10.1.0.1-10.1.3.254 and 10.1.2.1-10.1.2.254 overlap"
    with pytest.raises(RangeError) as err:
        canonicalize_range_set([raw("10.1.0.0/24"), raw("10.1.2.0/24", start="10.1.3.1")])
    assert err.value.where == "[1].rangeStart"


def test_range_set_lookup_and_text():
    rs = canonicalize_range_set([raw("192.168.0.0/24"), raw("172.16.1.0/24", "172.16.1.10", "172.16.1.20")])
    assert rs.range_for(ip("172.16.1.15")) is rs.ranges[1]
    assert rs.range_for(ip("172.16.1.21")) is None
    assert rs.contains(ip("192.168.0.3"))
    assert str(rs) == "192.168.0.1-192.168.0.254,172.16.1.10-172.16.1.20"
    assert rs.size() == 253 + 11


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("2001:DB8::1", "2001:db8::1"),
        ("fe80::1%eth0", None),
        ("10.1.2", None),
        ("", None),
        ("010.1.2.3", None),
    ],
)
def test_parse_ip_like_go(text, expected):
    parsed = parse_ip(text)
    assert (str(parsed) if parsed else None) == expected


@pytest.mark.parametrize(
    "text", ["10.1.2.0/33", "10.1.2.0", "10.1.2.0/", "10.1.2.0/+8", "x/8", "2001:db8::/129"]
)
def test_bad_cidr_text(text):
    with pytest.raises(ValueError) as err:
        CIDR.parse(text)
    assert str(err.value) == f"invalid CIDR address: {text}"
