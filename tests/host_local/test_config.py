"""Configuration loading (Go's config_test.go) and every config error: code, text, field."""

from __future__ import annotations

import json
from ipaddress import ip_address as ip

import pytest

from ipam.host_local.config import DEFAULT_DATA_DIR, load_ipam_config
from libcni.types.errors import CNIError


def load(ipam: dict | None = None, cni_args: str = "", version: str = "0.3.1", **top):
    conf = {"cniVersion": version, "name": "mynet", "type": "ipvlan", "master": "foo0", **top}
    if ipam is not None:
        conf["ipam"] = {"type": "host-local", **ipam}
    return load_ipam_config(json.loads(json.dumps(conf)), cni_args)


def error(ipam: dict | None = None, cni_args: str = "", **kwargs) -> CNIError:
    with pytest.raises(CNIError) as err:
        load(ipam, cni_args, **kwargs)
    return err.value


def windows(conf) -> list[list[tuple[str, str, str, str]]]:
    return [
        [(str(r.subnet), str(r.range_start), str(r.range_end), str(r.gateway)) for r in rs.ranges]
        for rs in conf.range_sets
    ]


def test_old_style_config():
    conf = load(
        {"subnet": "10.1.2.0/24", "rangeStart": "10.1.2.9", "rangeEnd": "10.1.2.20", "gateway": "10.1.2.30"}
    )
    assert conf.name == "mynet" and conf.cni_version == "0.3.1"
    assert windows(conf) == [[("10.1.2.0/24", "10.1.2.9", "10.1.2.20", "10.1.2.30")]]
    assert conf.data_dir == DEFAULT_DATA_DIR and conf.requested == () and conf.routes == ()


def test_new_style_config():
    conf = load(
        {
            "ranges": [
                [
                    {
                        "subnet": "10.1.2.0/24",
                        "rangeStart": "10.1.2.9",
                        "rangeEnd": "10.1.2.20",
                        "gateway": "10.1.2.30",
                    },
                    {"subnet": "10.1.4.0/24"},
                ],
                [
                    {
                        "subnet": "11.1.2.0/24",
                        "rangeStart": "11.1.2.9",
                        "rangeEnd": "11.1.2.20",
                        "gateway": "11.1.2.30",
                    }
                ],
            ]
        }
    )
    assert windows(conf) == [
        [
            ("10.1.2.0/24", "10.1.2.9", "10.1.2.20", "10.1.2.30"),
            ("10.1.4.0/24", "10.1.4.1", "10.1.4.254", "10.1.4.1"),
        ],
        [("11.1.2.0/24", "11.1.2.9", "11.1.2.20", "11.1.2.30")],
    ]


def test_mixed_config_puts_runtime_ranges_first_then_legacy_then_ranges():
    conf = load(
        {
            "subnet": "10.1.2.0/24",
            "rangeStart": "10.1.2.9",
            "rangeEnd": "10.1.2.20",
            "gateway": "10.1.2.30",
            "ranges": [
                [
                    {
                        "subnet": "11.1.2.0/24",
                        "rangeStart": "11.1.2.9",
                        "rangeEnd": "11.1.2.20",
                        "gateway": "11.1.2.30",
                    }
                ]
            ],
        },
        runtimeConfig={"irrelevant": "a", "ipRanges": [[{"subnet": "12.1.3.0/24"}]]},
    )
    assert windows(conf) == [
        [("12.1.3.0/24", "12.1.3.1", "12.1.3.254", "12.1.3.1")],
        [("10.1.2.0/24", "10.1.2.9", "10.1.2.20", "10.1.2.30")],
        [("11.1.2.0/24", "11.1.2.9", "11.1.2.20", "11.1.2.30")],
    ]
    assert conf.range_set_paths == ("runtimeConfig.ipRanges[0]", "ipam", "ipam.ranges[0]")


def test_keys_match_case_insensitively():
    conf = load({"Ranges": [[{"Subnet": "10.1.2.0/24", "RANGESTART": "10.1.2.5"}]], "DataDir": "/tmp/x"})
    assert windows(conf) == [[("10.1.2.0/24", "10.1.2.5", "10.1.2.254", "10.1.2.1")]]
    assert conf.data_dir == "/tmp/x"


RANGES = {
    "ranges": [
        [
            {
                "subnet": "10.1.2.0/24",
                "rangeStart": "10.1.2.9",
                "rangeEnd": "10.1.2.20",
                "gateway": "10.1.2.30",
            }
        ],
        [
            {
                "subnet": "11.1.2.0/24",
                "rangeStart": "11.1.2.9",
                "rangeEnd": "11.1.2.20",
                "gateway": "11.1.2.30",
            }
        ],
        [{"subnet": "2001:db8:1::/64"}],
    ]
}


@pytest.mark.parametrize("value", ["10.1.2.10", "10.1.2.10/24"])
def test_cni_args_ip(value):
    conf = load(RANGES, f"IP={value}")
    assert [r.address for r in conf.requested] == [ip("10.1.2.10")]
    assert conf.requested[0].source == "CNI_ARGS IP"


@pytest.mark.parametrize("suffix", [("", "", ""), ("/24", "/24", "/64")])
def test_requested_addresses_in_order(suffix):
    conf = load(
        RANGES,
        f"IP=10.1.2.10{suffix[0]}",
        args={
            "cni": {"ips": [f"10.1.2.11{suffix[0]}", f"11.11.11.11{suffix[1]}", f"2001:db8:1::11{suffix[2]}"]}
        },
        runtimeConfig={"ips": ["10.1.2.12"]},
    )
    assert [str(r.address) for r in conf.requested] == [
        "10.1.2.10",
        "10.1.2.11",
        "11.11.11.11",
        "2001:db8:1::11",
        "10.1.2.12",
    ]
    assert conf.requested[-1].source == "runtimeConfig.ips[0]"


def test_empty_cni_args_ip_is_ignored_and_ignore_unknown_works():
    assert load(RANGES, "IP=").requested == ()
    assert load(RANGES, "IgnoreUnknown=1;K8S_POD_NAME=x;MAC=0a:58:0a:01:00:05").requested == ()


def test_one_v4_and_one_v6_range_set_are_fine_on_0_2_0():
    conf = load({"ranges": [[{"subnet": "10.1.2.0/24"}], [{"subnet": "2001:db8:1::/48"}]]}, version="0.2.0")
    assert len(conf.range_sets) == 2


@pytest.mark.parametrize(
    ("ipam", "kwargs", "code", "msg", "details"),
    [
        (None, {}, 7, "IPAM config missing 'ipam' key", "ipam"),
        ({}, {}, 7, "no IP ranges specified", "ipam.ranges"),
        ({"rangeStart": "10.1.2.3"}, {}, 7, "no IP ranges specified", "ipam.ranges"),
        ({"ranges": [[]]}, {}, 7, "invalid range set 0: empty range set", "ipam.ranges[0]"),
        (
            {
                "ranges": [
                    [{"subnet": "10.1.2.0/24"}, {"subnet": "10.2.2.0/24"}],
                    [{"subnet": "10.1.4.0/24"}, {"subnet": "10.1.2.0/24"}],
                ]
            },
            {},
            7,
            "range set 0 overlaps with 1",
            "ipam.ranges[1]",
        ),
        (
            {"ranges": [[{"subnet": "10.1.0.0/22"}, {"subnet": "10.1.2.0/24"}]]},
            {},
            7,
            "invalid range set 0: subnets 10.1.0.1-10.1.3.254 and 10.1.2.1-10.1.2.254 overlap",
            "ipam.ranges[0][0]",
        ),
        (
            {"ranges": [[{"subnet": "10.1.0.0/22"}, {"subnet": "2001:db8:5::/64"}]]},
            {},
            7,
            "invalid range set 0: mixed address families",
            "ipam.ranges[0][1]",
        ),
        (
            {"ranges": [[{"subnet": "10.1.2.0/24"}], [{"subnet": "11.1.2.0/24"}]]},
            {"version": "0.2.0"},
            7,
            "CNI version 0.2.0 does not support more than 1 address per family",
            "cniVersion",
        ),
        (
            {"subnet": "10.1.2.1/24"},
            {},
            7,
            "invalid range set 0: Network has host bits set. "
            "For a subnet mask of length 24 the network address is 10.1.2.0",
            "ipam.subnet",
        ),
        (
            {"ranges": [[{"subnet": "10.1.2.0/24", "gateway": "10.1.2.1", "rangeStart": "10.1.3.5"}]]},
            {},
            7,
            "invalid range set 0: RangeStart 10.1.3.5 not in network 10.1.2.0/24",
            "ipam.ranges[0][0].rangeStart",
        ),
        (
            {"ranges": [[{"subnet": "10.1.2.0/24", "rangeEnd": "10.1.3.5"}]]},
            {},
            7,
            "invalid range set 0: RangeEnd 10.1.3.5 not in network 10.1.2.0/24",
            "ipam.ranges[0][0].rangeEnd",
        ),
        (
            {"ranges": [[{"subnet": "10.1.2.0/31"}]]},
            {},
            7,
            "invalid range set 0: Network 10.1.2.0/31 too small to allocate from",
            "ipam.ranges[0][0].subnet",
        ),
        (
            {"ranges": [[{"rangeStart": "10.1.2.5"}]]},
            {},
            7,
            "invalid range set 0: missing subnet",
            "ipam.ranges[0][0].subnet",
        ),
        (
            {"ranges": [[{"subnet": "10.1.2.0/24"}]]},
            {"args": {"cni": {"ips": [""]}}},
            7,
            "cannot understand ip: IP <nil> not v4 nor v6",
            "args.cni.ips[0]",
        ),
        ({"subnet": "10.1.2.0/24", "dataDir": "/var/lib/../../etc"}, {}, 7, None, "ipam.dataDir"),
    ],
)
def test_config_errors(ipam, kwargs, code, msg, details):
    err = error(ipam, **kwargs)
    assert (err.code, err.details) == (code, details), err
    if msg is not None:
        assert err.msg == msg


@pytest.mark.parametrize(
    ("ipam", "kwargs", "code", "field", "value"),
    [
        (
            {"ranges": [[{"subnet": "10.1.2.0/33"}]]},
            {},
            7,
            "ipam.ranges[0][0].subnet",
            "invalid CIDR address: 10.1.2.0/33",
        ),
        (
            {"ranges": [[{"subnet": "10.1.2.0/24", "gateway": "10.1.2.x"}]]},
            {},
            7,
            "ipam.ranges[0][0].gateway",
            "invalid IP address: 10.1.2.x",
        ),
        ({"subnet": "banana"}, {}, 7, "ipam.subnet", "invalid CIDR address: banana"),
        ({"ranges": [[{"subnet": 10}]]}, {}, 6, "ipam.ranges[0][0].subnet", None),
        ({"ranges": "10.1.2.0/24"}, {}, 6, "ipam.ranges", None),
        (
            {"subnet": "10.1.2.0/24", "routes": [{"dst": "nope"}]},
            {},
            7,
            "ipam.routes[0].dst",
            "invalid CIDR address: nope",
        ),
        (
            {"subnet": "10.1.2.0/24"},
            {"runtimeConfig": {"ips": ["10.1.2.x"]}},
            7,
            "runtimeConfig.ips[0]",
            "invalid IP address 10.1.2.x",
        ),
        (
            {"subnet": "10.1.2.0/24"},
            {"args": {"cni": {"ips": ["10.1.2.x"]}}},
            7,
            "args.cni.ips[0]",
            "invalid IP address 10.1.2.x",
        ),
        ({"subnet": "10.1.2.0/24", "dataDir": 5}, {}, 6, "ipam.dataDir", None),
    ],
)
def test_config_value_and_type_errors_name_the_field(ipam, kwargs, code, field, value):
    err = error(ipam, **kwargs)
    assert err.code == code and err.details == field, err
    assert f'"{field}"' in err.msg
    if value is not None:
        assert value in err.msg


def test_bad_cni_args_ip():
    err = error({"subnet": "10.1.2.0/24"}, "IP=10.1.2.x")
    assert (err.code, err.details) == (4, "CNI_ARGS IP")
    assert err.msg == 'ARGS: error parsing value of pair "IP=10.1.2.x": invalid IP address 10.1.2.x'
    err = error({"subnet": "10.1.2.0/24"}, "MAC=0a:58:0a:01:00:05")
    assert err.code == 4 and err.msg == 'ARGS: unknown args ["MAC=0a:58:0a:01:00:05"]'


def test_routes_are_kept_verbatim():
    conf = load(
        {
            "subnet": "10.1.2.0/24",
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "192.168.0.0/16", "gw": "1.1.1.1"}],
        }
    )
    assert [(r.dst, r.gw) for r in conf.routes] == [("0.0.0.0/0", ""), ("192.168.0.0/16", "1.1.1.1")]
