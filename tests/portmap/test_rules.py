"""Rule rendering (pure), checked against the expectations of Go's own portmap tests."""
# ruff: noqa: E501 (golden rule text is kept on one line per rule)

from __future__ import annotations

import json

from pkg.quoting import restore_token
from plugins.portmap import iptables_rules as ipt
from plugins.portmap import nft_rules as nft
from plugins.portmap.config import ContainerNet, parse_config

GO_CONTAINER_ID = (
    "icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9"
    "ceu0daez5hashee8ooYai5wa3y"
)
GO_MAPPINGS = [
    {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
    {"hostPort": 8081, "containerPort": 80, "protocol": "tcp"},
    {"hostPort": 8080, "containerPort": 81, "protocol": "udp"},
    {"hostPort": 8082, "containerPort": 82, "protocol": "udp"},
    {"hostPort": 8083, "containerPort": 83, "protocol": "tcp", "hostIP": "192.168.0.2"},
    {"hostPort": 8084, "containerPort": 84, "protocol": "tcp", "hostIP": "0.0.0.0"},
    {"hostPort": 8085, "containerPort": 85, "protocol": "tcp", "hostIP": "2001:db8:a::1"},
    {"hostPort": 8086, "containerPort": 86, "protocol": "tcp", "hostIP": "::"},
]
V4 = ContainerNet("10.0.0.2/24")
V6 = ContainerNet("2001:db8::2/64")


def config(**keys):
    data = {"name": "test", "type": "portmap", "cniVersion": "1.0.0", **keys}
    return parse_config(
        json.loads(json.dumps(data)), "eth0", iptables_usable=lambda: True, nftables_usable=lambda: True
    )


def test_chain_names_match_go():
    assert ipt.dnat_chain_name("testNetName", GO_CONTAINER_ID) == "CNI-DN-bfd599665540dd91d5d28"
    assert ipt.dnat_chain_name("test", GO_CONTAINER_ID) == "CNI-DN-67e92b96e692a494b6b85"


def test_iptables_container_chain_matches_go():
    conf = config(
        runtimeConfig={"portMappings": GO_MAPPINGS},
        snat=True,
        conditionsV4=["-a", "b"],
        conditionsV6=["-c", "d"],
    )
    chain = ipt.dnat_chain(conf, GO_CONTAINER_ID, V4)
    comment = f'dnat name: "test" id: "{GO_CONTAINER_ID}"'
    head = ["-m", "comment", "--comment", comment, "-m", "multiport", "-p"]
    assert chain.entry_chains == ["CNI-HOSTPORT-DNAT"]
    assert chain.entry_rules == [
        [*head, "tcp", "--destination-ports", "8080,8081,8083,8084,8085,8086", "-a", "b"],
        [*head, "udp", "--destination-ports", "8080,8082", "-a", "b"],
    ]
    mark = "CNI-HOSTPORT-SETMARK"
    expected = []
    for proto, port, to, dst in [
        ("tcp", 8080, 80, None),
        ("tcp", 8081, 80, None),
        ("udp", 8080, 81, None),
        ("udp", 8082, 82, None),
        ("tcp", 8083, 83, "192.168.0.2"),
        ("tcp", 8084, 84, None),
    ]:
        base = ["-p", proto, "--dport", str(port)] + (["-d", dst] if dst else [])
        expected += [
            [*base, "-s", "10.0.0.2/24", "-j", mark],
            [*base, "-s", "127.0.0.1", "-j", mark],
            [*base, "-j", "DNAT", "--to-destination", f"10.0.0.2:{to}"],
        ]
    assert chain.rules == expected

    chain6 = ipt.dnat_chain(conf, GO_CONTAINER_ID, V6)
    assert chain6.entry_rules[0][-2:] == ["-c", "d"]
    assert chain6.rules[-4:] == [
        ["-p", "tcp", "--dport", "8085", "-d", "2001:db8:a::1", "-s", "2001:db8::2/64", "-j", mark],
        [
            "-p",
            "tcp",
            "--dport",
            "8085",
            "-d",
            "2001:db8:a::1",
            "-j",
            "DNAT",
            "--to-destination",
            "[2001:db8::2]:85",
        ],
        ["-p", "tcp", "--dport", "8086", "-s", "2001:db8::2/64", "-j", mark],
        ["-p", "tcp", "--dport", "8086", "-j", "DNAT", "--to-destination", "[2001:db8::2]:86"],
    ]
    assert len(chain6.rules) == 12

    no_snat = config(runtimeConfig={"portMappings": GO_MAPPINGS}, snat=False)
    assert [r for r in ipt.dnat_chain(no_snat, GO_CONTAINER_ID, V4).rules if "DNAT" not in r] == []


def test_external_mark_chain_and_masq_all():
    conf = config(runtimeConfig={"portMappings": GO_MAPPINGS[:1]}, externalSetMarkChain="PLZ-SET-MARK")
    assert ipt.dnat_chain(conf, "x", V4).rules == [
        ["-p", "tcp", "--dport", "8080", "-s", "10.0.0.2/24", "-j", "PLZ-SET-MARK"],
        ["-p", "tcp", "--dport", "8080", "-s", "127.0.0.1", "-j", "PLZ-SET-MARK"],
        ["-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.0.0.2:80"],
    ]
    assert [c.name for c in ipt.shared_chains(conf)] == ["CNI-HOSTPORT-DNAT"]
    masq_all = config(runtimeConfig={"portMappings": GO_MAPPINGS[:1]}, masqAll=True)
    assert ipt.dnat_chain(masq_all, "x", V4).rules[0][-3:] == ["0.0.0.0/0", "-j", "CNI-HOSTPORT-SETMARK"]
    assert len(ipt.dnat_chain(masq_all, "x", V4).rules) == 2
    assert ipt.dnat_chain(masq_all, "x", V6).rules[0][-3:] == ["::/0", "-j", "CNI-HOSTPORT-SETMARK"]


def test_mark_and_top_level_chains_match_go():
    assert ipt.set_mark_chain(5).rules == [
        [
            "-m",
            "comment",
            "--comment",
            "CNI portfwd masquerade mark",
            "-j",
            "MARK",
            "--set-xmark",
            "0x20/0x20",
        ]
    ]
    masq = ipt.mark_masq_chain(5)
    assert masq.entry_chains == ["POSTROUTING"] and masq.prepend_entry
    assert masq.entry_rules == [["-m", "comment", "--comment", "CNI portfwd requiring masquerade"]]
    assert masq.rules == [["-m", "mark", "--mark", "0x20/0x20", "-j", "MASQUERADE"]]
    top = ipt.top_level_dnat_chain()
    assert top.entry_chains == ["PREROUTING", "OUTPUT"]
    assert top.entry_rules == [["-m", "addrtype", "--dst-type", "LOCAL"]]


def test_multiport_groups_of_fifteen_and_comment_trim():
    assert ipt.split_ports(list(range(1, 32))) == [
        ",".join(map(str, range(1, 16))),
        ",".join(map(str, range(16, 31))),
        "31",
    ]
    long = ipt.dnat_comment("n" * 200, "c" * 100)
    assert len(long) == 256 and long.endswith("...")


SAVED = """# Generated by iptables-save
*filter
:INPUT ACCEPT [0:0]
-A INPUT -j CNI-DN-aaa
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-DN-aaa - [0:0]
:CNI-DN-bbb - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"net\\" id: \\"a\\"" -m multiport --dports 80 -j CNI-DN-aaa
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"other\\" id: \\"b\\"" -m multiport --dports 81 -j CNI-DN-bbb
-A CNI-DN-aaa -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:80
COMMIT
"""


def test_saved_table_parsing_and_matching():
    table = ipt.NatTable.parse(SAVED)
    assert set(table.chains) == {"PREROUTING", "POSTROUTING", "CNI-HOSTPORT-DNAT", "CNI-DN-aaa", "CNI-DN-bbb"}
    assert table.has_rule("PREROUTING", ["-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"])
    assert not table.has_rule("PREROUTING", ["-m", "addrtype", "--dst-type", "LOCAL", "-j", "OTHER"])
    assert [c for c, _ in table.jumps_to("CNI-DN-aaa")] == ["CNI-HOSTPORT-DNAT"]  # filter table ignored


def test_signature_ignores_what_iptables_save_changes():
    ours = ["-m", "comment", "--comment", "x y", "-m", "multiport", "-p", "tcp", "--destination-ports", "80"]
    saved = '-p tcp -m comment --comment "x y" -m multiport --dports 80'
    assert ipt.rule_signature(ours) == ipt.rule_signature(ipt.saved_tokens(saved))
    assert ipt.rule_signature(["-s", "10.0.0.2/24", "-j", "X"]) == ipt.rule_signature(
        ["-s", "10.0.0.0/24", "-j", "X"]
    )
    assert ipt.rule_signature(["!", "-s", "1.2.3.4"]) != ipt.rule_signature(["-s", "1.2.3.4"])


def test_del_and_gc_batches():
    table = ipt.NatTable.parse(SAVED)
    assert ipt.teardown_lines(table, "CNI-DN-aaa") == [
        '-D CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"net\\" id: \\"a\\"" -m multiport '
        "--dports 80 -j CNI-DN-aaa",
        "-F CNI-DN-aaa",
        "-X CNI-DN-aaa",
    ]
    assert ipt.teardown_lines(table, "CNI-DN-missing") == []
    # GC of network "net": container "a" (chain CNI-DN-aaa, not the hash of net+a) is not valid.
    assert ipt.stale_dnat_chains("net", set(), table) == ["CNI-DN-aaa"]
    assert ipt.stale_dnat_chains("other", set(), table) == ["CNI-DN-bbb"]
    assert ipt.stale_dnat_chains("third", set(), table) == []


def test_quoting_for_restore():
    assert restore_token("plain") == "plain"
    assert restore_token('dnat name: "n" id: "c"') == '"dnat name: \\"n\\" id: \\"c\\""'
    assert restore_token("") == '""'


GO_NFT_V4 = """
add rule ip cni_hostport hostports tcp dport 8080 dnat to 10.0.0.2:80 comment "icee6giejonei6so"
add rule ip cni_hostport hostports tcp dport 8081 dnat to 10.0.0.2:80 comment "icee6giejonei6so"
add rule ip cni_hostport hostports udp dport 8080 dnat to 10.0.0.2:81 comment "icee6giejonei6so"
add rule ip cni_hostport hostports udp dport 8082 dnat to 10.0.0.2:82 comment "icee6giejonei6so"
add rule ip cni_hostport hostports ip daddr 192.168.0.2 tcp dport 8083 dnat to 10.0.0.2:83 comment "icee6giejonei6so"
add rule ip cni_hostport hostports tcp dport 8084 dnat to 10.0.0.2:84 comment "icee6giejonei6so"
add rule ip cni_hostport masquerading ip saddr 10.0.0.2 ip daddr 10.0.0.2 masquerade comment "icee6giejonei6so"
add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.0.0.2 masquerade comment "icee6giejonei6so"
"""
GO_NFT_V6_NO_SNAT = """
add rule ip6 cni_hostport hostports tcp dport 8080 dnat to [2001:db8::2]:80 comment "icee6giejonei6so"
add rule ip6 cni_hostport hostports tcp dport 8081 dnat to [2001:db8::2]:80 comment "icee6giejonei6so"
add rule ip6 cni_hostport hostports udp dport 8080 dnat to [2001:db8::2]:81 comment "icee6giejonei6so"
add rule ip6 cni_hostport hostports udp dport 8082 dnat to [2001:db8::2]:82 comment "icee6giejonei6so"
add rule ip6 cni_hostport hostports ip6 daddr 2001:db8:a::1 tcp dport 8085 dnat to [2001:db8::2]:85 comment "icee6giejonei6so"
add rule ip6 cni_hostport hostports tcp dport 8086 dnat to [2001:db8::2]:86 comment "icee6giejonei6so"
"""


def test_nft_rules_match_go():
    conf = config(runtimeConfig={"portMappings": GO_MAPPINGS}, backend="nftables", conditionsV4=["a", "b"])
    assert nft.container_rules(conf, "icee6giejonei6so", V4) == GO_NFT_V4.strip().splitlines()
    skeleton = nft.skeleton(4, ["a", "b"], True)
    assert "add rule ip cni_hostport prerouting a b fib daddr type local jump hostports_all" in skeleton
    assert "add rule ip cni_hostport output a b fib daddr type local jump hostports_all" in skeleton
    assert "add chain ip cni_hostport masquerading { type nat hook postrouting priority 100 ; }" in skeleton
    conf.snat = False
    assert nft.container_rules(conf, "icee6giejonei6so", V6) == GO_NFT_V6_NO_SNAT.strip().splitlines()
    assert not any("masquerading" in line for line in nft.skeleton(6, [], False))


def test_nft_masq_all():
    conf = config(runtimeConfig={"portMappings": GO_MAPPINGS[:1]}, backend="nftables", masqAll=True)
    assert nft.container_rules(conf, "c", V4)[1:] == [
        'add rule ip cni_hostport masquerading ip saddr 0.0.0.0/0 ip daddr 10.0.0.2 masquerade comment "c"'
    ]
    assert nft.container_rules(conf, "c", V6)[1:] == [
        'add rule ip6 cni_hostport masquerading ip6 saddr ::/0 ip6 daddr 2001:db8::2 masquerade comment "c"'
    ]


def listing(*rules):
    return [nft.ListedRule(family, chain, handle, comment) for family, chain, handle, comment in rules]


def test_nft_add_replaces_the_containers_rules_and_del_gc_select_by_comment():
    conf = config(runtimeConfig={"portMappings": GO_MAPPINGS[:1]}, backend="nftables")
    existing = listing(
        (4, "hostports", 5, "c"),
        (4, "hostports", 6, "other"),
        (6, "masquerading", 9, "c"),
        (4, "hostports_all", 2, None),
        (4, "prerouting", 3, "c"),  # not a container chain: never touched
    )
    script = nft.add_script(conf, "c", [V4], existing)
    assert "delete rule ip cni_hostport hostports handle 5" in script
    assert "delete rule ip6 cni_hostport masquerading handle 9" in script
    assert "handle 6" not in script and "handle 3" not in script
    assert nft.del_script("c", existing).splitlines() == [
        "delete rule ip cni_hostport hostports handle 5",
        "delete rule ip6 cni_hostport masquerading handle 9",
    ]
    assert nft.del_script("nobody", existing) is None
    assert nft.gc_script({"other"}, existing).splitlines() == [
        "delete rule ip cni_hostport hostports handle 6"
    ]
    assert nft.gc_script(set(), existing) is None
    # Another network's rules share the comment: kept, the new ones appended.
    kept = nft.add_script(conf, "c", [V4], existing, replace=False)
    assert "delete rule" not in kept and 'comment "c"' in kept


def test_nft_check_counts_like_go():
    conf = config(runtimeConfig={"portMappings": GO_MAPPINGS}, backend="nftables")
    # v4: the two mappings with a v6 hostIP do not count (and vice versa).
    assert nft.expected_counts(conf, V4) == {"hostports": 6, "masquerading": 2}
    assert nft.expected_counts(conf, V6) == {"hostports": 6, "masquerading": 1}
    conf.snat = False
    assert nft.expected_counts(conf, V4) == {"hostports": 6}
    assert nft.check_errors(conf, "c", V4, []) == 'missing hostport rules in "hostports" chain'
    full = listing(*[(4, "hostports", i, "c") for i in range(6)])
    assert nft.check_errors(conf, "c", V4, full) is None
