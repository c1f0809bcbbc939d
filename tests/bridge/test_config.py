"""Bridge config parsing and validation, gateway maths and rule rendering (no kernel needed)."""

from __future__ import annotations

import json

import pytest

from libcni.types.errors import CNIError
from libcni.types.results import IPConfig, Result, Route
from pkg import ipmasq, spoofcheck
from plugins.bridge.config import collect_vlan_trunk, load, validate_for_add
from plugins.bridge.gateways import calc_gateways
from plugins.bridge.schema import VlanTrunk


def conf_bytes(**keys) -> bytes:
    return json.loads(json.dumps({"cniVersion": "1.0.0", "name": "n", "type": "bridge", **keys}))


def test_defaults():
    conf = load(conf_bytes(), "")
    assert conf.bridge == "cni0"
    assert not (conf.isGateway or conf.ipMasq or conf.preserveDefaultVlan or conf.vlan_filtering)
    assert conf.vlans == [] and conf.mac == "" and not conf.is_layer3


def test_keys_match_case_insensitively_like_go():
    conf = load(conf_bytes(Bridge="br9", ISGATEWAY=True, RuntimeConfig={"MAC": "0a:00:00:00:00:01"}), "")
    assert conf.bridge == "br9" and conf.is_gateway and conf.mac == "0a:00:00:00:00:01"


def test_default_gateway_implies_gateway():
    assert load(conf_bytes(isDefaultGateway=True), "").is_gateway


@pytest.mark.parametrize("vlan", [-100, 5000, 4095])
def test_vlan_out_of_range(vlan):
    with pytest.raises(CNIError) as err:
        load(conf_bytes(vlan=vlan), "")
    assert err.value.msg == f"invalid VLAN ID {vlan} (must be between 0 and 4094)"
    assert err.value.code == 7


@pytest.mark.parametrize(
    "trunk,expected",
    [
        ([], None),
        ([{"minID": 101, "maxID": 105}], [101, 102, 103, 104, 105]),
        ([{"id": 101}], [101]),
        ([{"minID": 101, "maxID": 103}, {"id": 55}, {"id": 102}], [55, 101, 102, 103]),
        ([{"minID": 200, "maxID": 201, "id": 5}], [5, 200, 201]),
    ],
)
def test_vlan_trunk_parsing(trunk, expected):
    assert collect_vlan_trunk([VlanTrunk.record(**t) for t in trunk]) == expected


@pytest.mark.parametrize(
    "trunk,message",
    [
        ([{"maxID": 101}], "minID and maxID should be configured simultaneously, minID is missing"),
        ([{"minID": 101}], "minID and maxID should be configured simultaneously, maxID is missing"),
        ([{"minID": 0, "maxID": 10}], "incorrect trunk minID parameter"),
        ([{"minID": 5000, "maxID": 10}], "incorrect trunk minID parameter"),
        ([{"minID": 10, "maxID": 5000}], "incorrect trunk maxID parameter"),
        ([{"minID": 10, "maxID": 0}], "incorrect trunk maxID parameter"),
        ([{"minID": 20, "maxID": 10}], "minID is greater than maxID in trunk parameter"),
        ([{"id": 0}], "incorrect trunk id parameter"),
        ([{"id": 4095}], "incorrect trunk id parameter"),
    ],
)
def test_vlan_trunk_errors(trunk, message):
    with pytest.raises(CNIError) as err:
        load(conf_bytes(vlanTrunk=trunk), "")
    assert err.value.msg == message and err.value.code == 7


def test_empty_trunk_still_turns_on_vlan_filtering():
    conf = load(conf_bytes(vlanTrunk=[]), "")
    assert conf.vlan_filtering and conf.vlans == []


def test_mac_precedence_cni_args_then_args_then_runtime_config():
    mac_env = "IgnoreUnknown=1;MAC=0a:00:00:00:00:01"
    assert load(conf_bytes(), mac_env).mac == "0a:00:00:00:00:01"
    with_args = conf_bytes(args={"cni": {"mac": "0a:00:00:00:00:02"}})
    assert load(with_args, mac_env).mac == "0a:00:00:00:00:02"
    with_rc = conf_bytes(
        args={"cni": {"mac": "0a:00:00:00:00:02"}}, runtimeConfig={"mac": "0A-00-00-00-00-03"}
    )
    conf = load(with_rc, mac_env)
    validate_for_add(conf)
    assert conf.mac == "0a:00:00:00:00:03"


def test_unknown_cni_args_fail_without_ignore_unknown():
    with pytest.raises(CNIError) as err:
        load(conf_bytes(), "IP=10.0.0.1")
    assert 'ARGS: unknown args ["IP=10.0.0.1"]' in err.value.msg


@pytest.mark.parametrize(
    "keys,message",
    [
        (
            {"ipam": {"type": "host-local"}, "disableContainerInterface": True},
            "cannot use IPAM when DisableContainerInterface flag is set",
        ),
        (
            {"hairpinMode": True, "promiscMode": True},
            "cannot set hairpin mode and promiscuous mode at the same time",
        ),
        ({"ipMasq": True, "ipMasqBackend": "pf"}, 'unknown ipmasq backend "pf"'),
        ({"runtimeConfig": {"mac": "nope"}}, "address nope: invalid MAC address"),
    ],
)
def test_add_validation(keys, message):
    conf = load(conf_bytes(**keys), "")
    with pytest.raises(CNIError) as err:
        validate_for_add(conf)
    assert err.value.msg == message


def test_wrong_types_are_decoding_errors():
    with pytest.raises(CNIError) as err:
        load(conf_bytes(portIsolation="true"), "")
    assert err.value.code == 6 and "portIsolation" in err.value.msg


def test_bad_bridge_name_is_rejected():
    with pytest.raises(CNIError) as err:
        load(conf_bytes(bridge="a/b"), "")
    assert err.value.code == 7 and '"bridge"' in err.value.msg


# ---------------------------------------------------------------- gateways


def result_with(*ips: tuple[str, str], routes=()) -> Result:
    return Result(
        cniVersion="1.1.0",
        ips=[IPConfig(address=a, gateway=g) for a, g in ips],
        routes=[Route(**r) for r in routes],
    )


def test_gateways_default_to_first_address_and_point_at_container():
    result = result_with(("10.1.2.7/24", ""), ("fd00:1::7/64", ""))
    gws = calc_gateways(result, True, True)
    assert [ip.gateway for ip in result.ips] == ["10.1.2.1", "fd00:1::1"]
    assert all(ip.interface == 2 for ip in result.ips)
    assert gws.by_family == {4: ["10.1.2.1/24"], 6: ["fd00:1::1/64"]}
    assert [(r.dst, r.gw) for r in result.routes] == [("0.0.0.0/0", "10.1.2.1"), ("::/0", "fd00:1::1")]


def test_ipam_gateway_kept_and_no_gateway_without_is_gateway():
    result = result_with(("10.1.2.7/24", "10.1.2.254"), ("10.3.0.7/16", ""))
    gws = calc_gateways(result, False, False)
    assert [ip.gateway for ip in result.ips] == ["10.1.2.254", ""]
    assert gws.by_family == {4: [], 6: []} and result.routes == []


def test_ipam_default_route_with_gateway_suppresses_ours():
    result = result_with(("10.1.2.7/24", ""), routes=[{"dst": "0.0.0.0/0", "gw": "10.1.2.9"}])
    calc_gateways(result, True, True)
    assert [(r.dst, r.gw) for r in result.routes] == [("0.0.0.0/0", "10.1.2.9")]


def test_ipam_default_route_without_gateway_still_gets_ours_quirk():
    result = result_with(("10.1.2.7/24", ""), routes=[{"dst": "0.0.0.0/0"}])
    calc_gateways(result, True, True)
    assert [(r.dst, r.gw) for r in result.routes] == [("0.0.0.0/0", ""), ("0.0.0.0/0", "10.1.2.1")]


def test_one_default_route_per_family_with_two_addresses():
    result = result_with(("fd00:1::7/64", ""), ("fd00:2::7/64", ""))
    gws = calc_gateways(result, True, True)
    assert [(r.dst, r.gw) for r in result.routes] == [("::/0", "fd00:1::1")]
    assert gws.by_family[6] == ["fd00:1::1/64", "fd00:2::1/64"]


# ---------------------------------------------------------------- ipmasq / spoofcheck rendering


def test_nft_hashes_and_comment_match_go():
    assert ipmasq.hash_for_network("unit-test") == "6fd94d501e58f0aa"
    assert ipmasq.hash_for_instance("unit-test", "eth0", "one") == "6fd94d501e58f0aa-287fc69eff0574a2"
    assert (
        ipmasq.comment_for_instance("unit-test", "eth0", "one")
        == "6fd94d501e58f0aa-287fc69eff0574a2, net: unit-test, if: eth0, id: one"
    )
    assert len(ipmasq.comment_for_instance("n", "eth0", "x" * 200)) == 128


def test_nft_setup_script():
    script = ipmasq.nft_setup_script(["10.1.0.5/24", "fd00::5/64"], "unit-test", "eth0", "one", [7])
    assert "flush chain inet cni_plugins_masquerade postrouting\n" in script
    assert "delete rule inet cni_plugins_masquerade masq_checks handle 7\n" in script
    assert (
        "add rule inet cni_plugins_masquerade masq_checks ip saddr == 10.1.0.5 ip daddr != 10.1.0.0/24 "
        'masquerade comment "6fd94d501e58f0aa-287fc69eff0574a2, net: unit-test, if: eth0, id: one"'
    ) in script
    assert "ip6 saddr == fd00::5 ip6 daddr != fd00::/64 masquerade" in script


def test_iptables_setup_is_append_unique_and_never_redeclares_the_chain():
    chain, comment = "CNI-x", 'name: "n" id: "c"'
    script = ipmasq.iptables_setup_script(ipmasq.SavedTable(), ["10.1.0.5/24"], chain, comment)
    q = '"name: \\"n\\" id: \\"c\\""'
    assert script == [
        "*nat",
        ":CNI-x - [0:0]",
        f"-A CNI-x -d 10.1.0.5/24 -j ACCEPT -m comment --comment {q}",
        f"-A CNI-x ! -d 224.0.0.0/4 -j MASQUERADE -m comment --comment {q}",
        f"-A POSTROUTING -s 10.1.0.5 -j CNI-x -m comment --comment {q}",
        "COMMIT",
    ]
    saved = ipmasq.SavedTable.parse(
        "\n".join(
            [
                ":POSTROUTING ACCEPT [0:0]",
                ":CNI-x - [0:0]",
                f"-A POSTROUTING -s 10.1.0.5/32 -m comment --comment {q} -j CNI-x",
                f"-A CNI-x -d 10.1.0.0/24 -m comment --comment {q} -j ACCEPT",
                f"-A CNI-x ! -d 224.0.0.0/4 -m comment --comment {q} -j MASQUERADE",
            ]
        )
    )
    assert ipmasq.iptables_setup_script(saved, ["10.1.0.5/24"], chain, comment) == []
    assert ipmasq.iptables_teardown_script(saved, chain) == [
        "*nat",
        f"-D POSTROUTING -s 10.1.0.5/32 -m comment --comment {q} -j CNI-x",
        "-F CNI-x",
        "-X CNI-x",
        "COMMIT",
    ]


def test_iptables_stale_chains_found_by_comment():
    from pkg.hashing import format_chain_name

    keep, drop = format_chain_name("net", "a"), format_chain_name("net", "b")
    other = format_chain_name("other", "b")
    saved = ipmasq.SavedTable.parse(
        "\n".join(
            f'-A {chain} ! -d 224.0.0.0/4 -m comment --comment "name: \\"{n}\\" id: \\"{c}\\"" -j MASQUERADE'
            for chain, n, c in ((keep, "net", "a"), (drop, "net", "b"), (other, "other", "b"))
        )
    )
    assert ipmasq.iptables_stale_chains(saved, "net", ["a"]) == [drop]


def test_parse_go_comment_round_trips_quoting():
    from pkg.hashing import format_comment

    assert ipmasq.parse_go_comment(format_comment('we"ird\\', "id-1")) == ('we"ird\\', "id-1")
    assert ipmasq.parse_go_comment('dnat name: "n" id: "c"') is None


def test_spoofcheck_script_names_match_go():
    script = spoofcheck.setup_script("veth1", "0a:58:0a:01:00:05", "ctr-eth0")
    assert (
        "add chain bridge nat PREROUTING { type filter hook prerouting priority -300 ; policy accept ; }"
        in script
    )
    assert (
        'add rule bridge nat PREROUTING iifname "veth1" jump cni-br-iface-ctr-eth0 '
        'comment "macspoofchk-ctr-eth0"' in script
    )
    assert "add rule bridge nat cni-br-iface-ctr-eth0-mac ether saddr 0a:58:0a:01:00:05 return" in script
    rules = [
        {
            "handle": 4,
            "comment": "macspoofchk-ctr-eth0",
            "expr": [{"jump": {"target": "cni-br-iface-ctr-eth0"}}],
        },
        {"handle": 5, "comment": "macspoofchk-other", "expr": [{"jump": {"target": "cni-br-iface-other"}}]},
    ]
    chains = {"PREROUTING", "cni-br-iface-ctr-eth0", "cni-br-iface-ctr-eth0-mac"}
    assert spoofcheck.teardown_script(rules, "ctr-eth0", chains) == (
        "delete rule bridge nat PREROUTING handle 4\n"
        "delete chain bridge nat cni-br-iface-ctr-eth0\n"
        "delete chain bridge nat cni-br-iface-ctr-eth0-mac\n"
    )
