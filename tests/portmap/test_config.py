"""Config parsing and validation (pure): Go's parseConfig scenarios plus our stricter checks."""

from __future__ import annotations

import json

import pytest

from libcni.types.errors import CNIError
from plugins.portmap.config import IPTABLES, NFTABLES, Mapping, parse_config

VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

PREV = {
    "interfaces": [{"name": "host"}, {"name": "container", "sandbox": "netns"}],
    "ips": [
        {"version": "4", "address": "10.0.0.1/24", "gateway": "10.0.0.1", "interface": 0},
        {"version": "6", "address": "2001:db8:1::2/64", "gateway": "2001:db8:1::1", "interface": 1},
        {"version": "4", "address": "10.0.0.2/24", "gateway": "10.0.0.1", "interface": 1},
    ],
}


def parse(
    conf: dict, *, iptables: bool = True, nftables: bool = True, strict: bool = True, ifname="container"
):
    probes: list[str] = []

    def ipt() -> bool:
        probes.append("iptables")
        return iptables

    def nft() -> bool:
        probes.append("nftables")
        return nftables

    conf = {"name": "test", "type": "portmap", **conf}
    parsed = parse_config(
        json.loads(json.dumps(conf)), ifname, iptables_usable=ipt, nftables_usable=nft, strict=strict
    )
    parsed.probes = probes
    return parsed


def error_of(conf: dict, **kw) -> CNIError:
    with pytest.raises(CNIError) as err:
        parse(conf, **kw)
    return err.value


@pytest.mark.parametrize("version", VERSIONS)
def test_add_config_picks_the_sandbox_addresses(version):
    conf = parse(
        {
            "cniVersion": version,
            "backend": "iptables",
            "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]},
            "snat": False,
            "conditionsV4": ["-s", "1.2.3.4"],
            "conditionsV6": ["!", "-s", "12::34"],
            "prevResult": {"cniVersion": version, **PREV},
        }
    )
    assert [n.address for n in conf.container_nets] == ["10.0.0.2/24", "2001:db8:1::2/64"]
    assert conf.snat is False and conf.name == "test" and conf.backend == IPTABLES
    assert conf.conditions(4) == ["-s", "1.2.3.4"] and conf.conditions(6) == ["!", "-s", "12::34"]
    assert conf.mappings == [Mapping(8080, 80, "tcp")]


def test_del_config_without_prev_result_or_mappings_probes_nothing():
    conf = parse({"cniVersion": "1.0.0", "snat": False}, strict=False)
    assert conf.mappings == [] and conf.prev_result is None and conf.probes == []


def test_ip_without_interface_index_is_taken():
    prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "host"}], "ips": [{"address": "10.0.0.1/24"}]}
    conf = parse({"cniVersion": "1.0.0", "prevResult": prev})
    assert [n.ip for n in conf.container_nets] == ["10.0.0.1"]


def test_out_of_range_interface_index_is_taken_and_other_ifname_skipped():
    prev = {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "eth1", "sandbox": "/x"}],
        "ips": [{"address": "10.0.0.5/24", "interface": 0}, {"address": "10.0.0.6/24", "interface": 7}],
    }
    conf = parse({"cniVersion": "1.0.0", "prevResult": prev}, ifname="eth0")
    assert [n.ip for n in conf.container_nets] == ["10.0.0.6"]


def test_defaults():
    conf = parse(
        {
            "cniVersion": "1.0.0",
            "runtimeConfig": {"portMappings": [{"hostPort": 1, "containerPort": 2, "protocol": "udp"}]},
        }
    )
    assert (conf.snat, conf.masq_all, conf.mark_bit, conf.external_set_mark_chain) == (True, False, 13, None)
    assert conf.backend == IPTABLES and conf.probes == ["iptables"]


def test_backend_defaults_to_nftables_only_when_iptables_is_unusable():
    mappings = {"portMappings": [{"hostPort": 1, "containerPort": 2, "protocol": "tcp"}]}
    assert parse({"runtimeConfig": mappings}, iptables=False).backend == NFTABLES
    assert parse({"runtimeConfig": mappings}, iptables=False, nftables=False).backend == IPTABLES


def test_nftables_requested_with_nft_conditions():
    conf = parse({"backend": "nftables", "conditionsV4": ["ip", "saddr", "1.2.3.4"]})
    assert conf.backend == NFTABLES and conf.probes == []


@pytest.mark.parametrize(
    "conf,message",
    [
        (
            {
                "backend": "iptables",
                "conditionsV4": ["ip", "saddr", "1.2.3.4"],
                "conditionsV6": ["ip6", "saddr", "12::34"],
            },
            "iptables backend was requested but configuration contains nftables-specific options "
            "[conditionsV4 conditionsV6]",
        ),
        (
            {
                "backend": "nftables",
                "externalSetMarkChain": "KUBE-MARK-MASQ",
                "conditionsV4": ["-s", "1.2.3.4"],
                "conditionsV6": ["-s", "12::34"],
            },
            "nftables backend was requested but configuration contains iptables-specific options "
            "[externalSetMarkChain conditionsV4 conditionsV6]",
        ),
        # nft conditions do not switch the default backend (as in Go): they are then rejected.
        (
            {"conditionsV4": ["ip", "saddr", "1.2.3.4"]},
            "iptables backend was requested but configuration contains nftables-specific options "
            "[conditionsV4]",
        ),
        ({"backend": "ebpf"}, 'unrecognized backend "ebpf"'),
        (
            {"markMasqBit": 5, "externalSetMarkChain": "X"},
            "Cannot specify externalSetMarkChain and markMasqBit",
        ),
        ({"markMasqBit": 32}, "MasqMarkBit must be between 0 and 31"),
        ({"markMasqBit": -1}, "MasqMarkBit must be between 0 and 31"),
    ],
)
def test_go_config_errors(conf, message):
    err = error_of(conf)
    assert err.msg == message and err.code == 7


def mapping_error(entry: dict, *others: dict) -> CNIError:
    return error_of({"runtimeConfig": {"portMappings": [*others, entry]}})


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"hostPort": 0, "containerPort": 80, "protocol": "tcp"}, "Invalid host port number: 0"),
        ({"hostPort": 70000, "containerPort": 80, "protocol": "tcp"}, "Invalid host port number: 70000"),
        ({"hostPort": 80, "containerPort": -1, "protocol": "tcp"}, "Invalid container port number: -1"),
        ({"hostPort": 80, "containerPort": 65536, "protocol": "tcp"}, "Invalid container port number: 65536"),
        ({"hostPort": 80, "containerPort": 80, "protocol": "icmp"}, 'Invalid protocol "icmp"'),
        ({"hostPort": 80, "containerPort": 80}, 'Invalid protocol ""'),
        (
            {"hostPort": 80, "containerPort": 80, "protocol": "tcp", "hostIP": "1.2.3"},
            'Invalid hostIP "1.2.3"',
        ),
    ],
)
def test_bad_mappings_are_named(entry, message):
    err = mapping_error(entry, {"hostPort": 1, "containerPort": 1, "protocol": "tcp"})
    assert err.msg.startswith(message) and err.code == 7
    assert (
        err.details.startswith("runtimeConfig.portMappings[1]: ")
        and json.dumps(entry["hostPort"]) in err.details
    )


def test_conflicting_mappings():
    first = {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}
    err = mapping_error(
        {"hostPort": 8080, "containerPort": 81, "protocol": "tcp", "hostIP": "0.0.0.0"}, first
    )
    assert "Conflicting port mappings: tcp host port 8080" in err.msg
    assert "portMappings[0]" in err.details and "portMappings[1]" in err.details


@pytest.mark.parametrize(
    "others",
    [
        [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],  # exact duplicate
        [{"hostPort": 8080, "containerPort": 81, "protocol": "udp"}],  # other protocol
        [{"hostPort": 8080, "containerPort": 81, "protocol": "tcp", "hostIP": "192.0.2.1"}],  # other address
        [{"hostPort": 8080, "containerPort": 81, "protocol": "tcp", "hostIP": "::"}],  # v6 only vs v4 only
    ],
)
def test_compatible_mappings(others):
    conf = parse(
        {
            "runtimeConfig": {
                "portMappings": [
                    {"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": "0.0.0.0"},
                    *others,
                ]
            }
        }
    )
    assert len(conf.mappings) == 2


def test_protocol_case_is_normalised_and_del_is_lenient():
    conf = parse(
        {"runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": 80, "protocol": "TCP"}]}}
    )
    assert conf.mappings[0].protocol == "tcp"
    lenient = parse(
        {"runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": 99999, "protocol": "x"}]}},
        strict=False,
    )
    assert lenient.mappings[0].container_port == 99999


def test_port_zero_is_rejected_on_del_too_like_go():
    err = error_of(
        {"runtimeConfig": {"portMappings": [{"hostPort": 0, "containerPort": 80, "protocol": "tcp"}]}},
        strict=False,
    )
    assert err.msg == "Invalid host port number: 0"


def test_type_errors_name_the_field():
    err = error_of(
        {"runtimeConfig": {"portMappings": [{"hostPort": "80", "containerPort": 80, "protocol": "tcp"}]}}
    )
    assert err.code == 6 and "hostPort" in err.msg


def test_bad_prev_result():
    err = error_of(
        {"cniVersion": "1.0.0", "prevResult": {"cniVersion": "1.0.0", "ips": [{"address": "nonsense"}]}}
    )
    assert err.msg.startswith("could not parse prevResult: ")


def test_valid_attachments():
    conf = parse(
        {"cniVersion": "1.1.0", "cni.dev/valid-attachments": [{"containerID": "a", "ifname": "eth0"}]},
        strict=False,
    )
    assert conf.valid_container_ids == {"a"}
