"""Result parsing, Go-compatible printing, and conversion between every pair of versions."""

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libcni.types.errors import CNIError
from libcni.types.results import Result, Result020, convert, parse_result, to_json
from libcni.types.version import FAMILY_020, FAMILY_040, FAMILY_100, SUPPORTED_VERSIONS, family_of

RESULT_020 = {
    "ip4": {
        "ip": "10.1.0.5/16",
        "gateway": "10.1.0.1",
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "192.168.0.0/24"}],
    },
    "ip6": {
        "ip": "2001:db8::5/64",
        "gateway": "2001:db8::1",
        "routes": [{"dst": "::/0", "gw": "2001:db8::1"}],
    },
    "dns": {
        "nameservers": ["10.1.0.1"],
        "domain": "example.com",
        "search": ["a", "b"],
        "options": ["ndots:2"],
    },
}
RESULT_040 = {
    "interfaces": [
        {"name": "cni0", "mac": "0a:58:0a:01:00:01"},
        {"name": "veth1234abcd", "mac": "0a:58:0a:01:00:02"},
        {"name": "eth0", "mac": "0a:58:0a:01:00:05", "sandbox": "/run/netns/c1"},
    ],
    "ips": [
        {"version": "4", "interface": 2, "address": "10.1.0.5/16", "gateway": "10.1.0.1"},
        {"version": "6", "interface": 2, "address": "2001:db8::5/64", "gateway": "2001:db8::1"},
        {"version": "4", "interface": 0, "address": "10.2.0.5/24"},
    ],
    "routes": [
        {"dst": "0.0.0.0/0", "gw": "10.1.0.1", "priority": 10},
        {"dst": "::/0", "gw": "2001:db8::1"},
        {"dst": "172.16.0.0/12"},
    ],
    "dns": {"nameservers": ["10.1.0.1"]},
}
RESULT_100 = {
    "interfaces": [
        {
            "name": "eth0",
            "mac": "0a:58:0a:01:00:05",
            "mtu": 1400,
            "sandbox": "/run/netns/c1",
            "socketPath": "/run/x.sock",
            "pciID": "0000:00:01.0",
        },
    ],
    "ips": [
        {"interface": 0, "address": "10.1.0.5/16", "gateway": "10.1.0.1"},
        {"address": "2001:db8::5/64"},
    ],
    "routes": [
        {
            "dst": "0.0.0.0/0",
            "gw": "10.1.0.1",
            "mtu": 1300,
            "advmss": 1260,
            "priority": 5,
            "table": 0,
            "scope": 0,
        },
        {"dst": "2001:db8:9::/48", "gw": "2001:db8::1"},
    ],
}
SOURCES = {FAMILY_020: RESULT_020, FAMILY_040: RESULT_040, FAMILY_100: RESULT_100}


def source(version):
    return parse_result(dict(SOURCES[family_of(version)], cniVersion=version))


def printed(result):
    return json.loads(to_json(result))


PAIRS = list(itertools.product(SUPPORTED_VERSIONS, SUPPORTED_VERSIONS))


@pytest.mark.parametrize("src,dst", PAIRS)
def test_every_conversion_pair(src, dst):
    original = source(src)
    out = convert(original, dst)
    assert out.cniVersion == dst
    data = printed(out)
    assert data["cniVersion"] == dst
    src_ips = _ips(original)
    if family_of(dst) is FAMILY_020:
        assert isinstance(out, Result020)
        first4 = next((a for a, g in src_ips if ":" not in a), None)
        first6 = next((a for a, g in src_ips if ":" in a), None)
        assert data.get("ip4", {}).get("ip") == first4
        assert data.get("ip6", {}).get("ip") == first6
        assert data["dns"] is not None  # always printed in 0.1/0.2
        for key in ("ip4", "ip6"):
            for route in data.get(key, {}).get("routes", []):
                assert set(route) <= {"dst", "gw"}
                assert (":" in route["dst"]) == (key == "ip6")
    else:
        assert isinstance(out, Result)
        assert [(ip["address"], ip.get("gateway", "")) for ip in data.get("ips", [])] == src_ips
        if family_of(dst) is FAMILY_040:
            assert all(ip["version"] == ("6" if ":" in ip["address"] else "4") for ip in data["ips"])
            assert "dns" in data
            for iface in data.get("interfaces", []):
                assert set(iface) <= {"name", "mac", "sandbox"}
        else:
            assert all("version" not in ip for ip in data.get("ips", []))
        if family_of(src) is FAMILY_020:
            # ip4 routes then ip6 routes, concatenated; no interfaces, no interface index
            expected = RESULT_020["ip4"]["routes"] + RESULT_020["ip6"]["routes"]
            assert data["routes"] == expected
            assert "interfaces" not in data and all("interface" not in ip for ip in data["ips"])
        else:
            # route extras survive any 0.3+ conversion (Go copies types.Route whole)
            assert data["routes"] == printed(original)["routes"]


def _ips(result):
    if isinstance(result, Result020):
        return [(ip.ip, ip.gateway) for ip in (result.ip4, result.ip6) if ip is not None]
    return [(ip.address, ip.gateway) for ip in result.ips]


def test_1x_fields_kept_between_100_and_110():
    out = printed(convert(source("1.1.0"), "1.0.0"))
    assert out["interfaces"][0]["mtu"] == 1400 and out["interfaces"][0]["socketPath"] == "/run/x.sock"
    assert out["routes"][0]["table"] == 0 and out["routes"][0]["scope"] == 0


def test_interface_extras_lost_through_040():
    back = printed(convert(convert(source("1.1.0"), "0.4.0"), "1.1.0"))
    assert back["interfaces"] == [{"name": "eth0", "mac": "0a:58:0a:01:00:05", "sandbox": "/run/netns/c1"}]


def test_down_to_020_drops_routes_of_a_family_without_ip():
    only_v4 = parse_result(
        {
            "cniVersion": "1.0.0",
            "ips": [{"address": "10.0.0.2/24"}],
            "routes": [{"dst": "::/0"}, {"dst": "0.0.0.0/0", "gw": "10.0.0.1"}],
        }
    )
    data = printed(convert(only_v4, "0.2.0"))
    assert data == {
        "cniVersion": "0.2.0",
        "ip4": {"ip": "10.0.0.2/24", "routes": [{"dst": "0.0.0.0/0", "gw": "10.0.0.1"}]},
        "dns": {},
    }


@pytest.mark.parametrize("src", ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])
@pytest.mark.parametrize("dst", ["0.1.0", "0.2.0"])
def test_no_ip_cannot_go_to_020(src, dst):
    empty = parse_result({"cniVersion": src, "interfaces": [{"name": "eth0"}]})
    with pytest.raises(CNIError) as err:
        convert(empty, dst)
    assert err.value.msg == "cannot convert: no valid IP addresses"


@pytest.mark.parametrize("dst", ["0.5.0", "1.2.0", "1.0", "2.0.0"])
def test_unknown_target_version(dst):
    with pytest.raises(CNIError) as err:
        convert(source("1.0.0"), dst)
    assert err.value.msg == f"no converter for CNI result version 1.0.0 to {dst}"


def test_empty_target_means_010():
    assert convert(source("1.0.0"), "").cniVersion == "0.1.0"


@pytest.mark.parametrize("version", ["1.2.0", "0.5.0", "x"])
def test_unknown_source_version(version):
    with pytest.raises(CNIError) as err:
        parse_result({"cniVersion": version})
    assert err.value.msg == f'unsupported CNI result version "{version}"'


def test_missing_version_uses_default():
    assert parse_result({"ip4": {"ip": "10.0.0.2/24"}}).cniVersion == "0.1.0"
    assert parse_result({"ips": []}, default_version="1.0.0").cniVersion == "1.0.0"


def test_go_printing_format():
    text = to_json(source("1.0.0")).decode()
    assert text.startswith('{\n    "cniVersion": "1.0.0",\n    "interfaces": [')
    assert not text.endswith("\n")
    assert '"dns"' not in text  # empty dns is omitted in 1.x
    assert json.loads(to_json(parse_result({"cniVersion": "0.4.0"})).decode()) == {
        "cniVersion": "0.4.0",
        "dns": {},
    }


def test_addresses_keep_host_bits_and_are_canonical():
    r = parse_result(
        {"cniVersion": "1.0.0", "ips": [{"address": "2001:DB8:0::5/64", "gateway": "2001:DB8::1"}]}
    )
    assert (r.ips[0].address, r.ips[0].gateway) == ("2001:db8::5/64", "2001:db8::1")


@pytest.mark.parametrize(
    "bad",
    [
        {"ips": [{"address": "10.0.0.5"}]},
        {"ips": [{"address": "10.0.0.5/24", "gateway": "nope"}]},
        {"routes": [{"dst": "x"}]},
        {"ips": "x"},
        {"interfaces": [{"name": 5}]},
    ],
)
def test_bad_results_are_errors(bad):
    with pytest.raises(CNIError) as err:
        parse_result(dict(bad, cniVersion="1.0.0"))
    assert err.value.code in (6, 7)


# -- property tests -----------------------------------------------------------------------------

v4 = st.tuples(st.integers(1, 223), st.integers(0, 255), st.integers(0, 255), st.integers(1, 254)).map(
    lambda t: ".".join(map(str, t))
)
v6 = st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8).map(
    lambda parts: str(__import__("ipaddress").IPv6Address(":".join(f"{p:x}" for p in parts)))
)
cidr = st.one_of(
    st.tuples(v4, st.integers(8, 30)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.tuples(v6, st.integers(48, 126)).map(lambda t: f"{t[0]}/{t[1]}"),
)
ipconf = st.builds(
    lambda a, i: {"address": a, **({"interface": i} if i is not None else {})},
    cidr,
    st.one_of(st.none(), st.integers(0, 3)),
)
route = st.builds(lambda d, p: {"dst": d, **({"priority": p} if p else {})}, cidr, st.integers(0, 100))
iface = st.builds(
    lambda n, m: {"name": n, "mtu": m}, st.text("abcdef0123", min_size=1, max_size=15), st.integers(0, 9000)
)
result_1x = st.builds(
    lambda i, a, r: {"cniVersion": "1.1.0", "interfaces": i, "ips": a, "routes": r},
    st.lists(iface, max_size=3),
    st.lists(ipconf, max_size=4),
    st.lists(route, max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(result_1x, st.sampled_from(["0.3.0", "0.3.1", "0.4.0", "1.0.0"]))
def test_round_trip_through_0x_and_1x_keeps_ips_and_routes(data, version):
    original = parse_result(data)
    back = convert(convert(original, version), "1.1.0")
    assert [ip.field_values() for ip in back.ips] == [ip.field_values() for ip in original.ips]
    assert [r.field_values() for r in back.routes] == [r.field_values() for r in original.routes]
    assert [i.name for i in back.interfaces] == [i.name for i in original.interfaces]


@settings(max_examples=200, deadline=None)
@given(result_1x, st.sampled_from(["0.1.0", "0.2.0"]))
def test_round_trip_through_020_keeps_first_ip_per_family(data, version):
    original = parse_result(data)
    if not original.ips:
        with pytest.raises(CNIError):
            convert(original, version)
        return
    back = convert(convert(original, version), "1.1.0")
    firsts = []
    for fam in (4, 6):
        first = next((ip for ip in original.ips if ip.family == fam), None)
        if first is not None:
            firsts.append(first.address)
    assert [ip.address for ip in back.ips] == firsts
    assert back.interfaces == []
