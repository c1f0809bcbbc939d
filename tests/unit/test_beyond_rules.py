"""The pure halves of issue 18's fixes: the GC rule, the INVALID drops, the localnet guard, the
spoof-check listing, the empty-bridge decision and the conntrack reply-source match."""

from __future__ import annotations

import json
import struct

from libcni.gc import from_list, valid_attachments
from pkg import ipmasq, spoofcheck
from pkg.hashing import format_chain_name, format_comment
from pkg.netlink import wire
from plugins.bridge.empty_bridge import removable
from plugins.portmap import conntrack, localnet


class Conf:
    def __init__(self, valid=None, legacy=None):
        self.valid_attachments, self.legacy_attachments = valid, legacy


class Att:
    def __init__(self, cid, ifname):
        self.containerID, self.ifname = cid, ifname


def test_missing_list_means_nothing_is_stale_and_an_empty_list_is_authoritative():
    assert valid_attachments(Conf()) is None
    empty = valid_attachments(Conf(valid=[]))
    assert empty is not None and not empty.keeps("a") and not empty.keeps("a", "eth0")
    listed = valid_attachments(Conf(valid=[Att("a", "eth0")], legacy=[Att("b", "eth0")]))
    assert listed.keeps("a", "eth0") and listed.keeps("a") and not listed.keeps("a", "eth1")
    assert not listed.keeps("b")  # the new key wins over the pre-rename one
    assert valid_attachments(Conf(legacy=[Att("b", "eth0")])).keeps("b", "eth0")
    assert list(from_list([{"containerID": "c", "ifname": "net1"}])) == [("c", "net1")]


def test_invalid_drops_rendered_found_and_removed():
    comment = format_comment("net", "a")
    setup = ipmasq.iptables_invalid_setup(ipmasq.SavedTable(), ["10.1.0.5/24"], comment)
    q = '"name: \\"net\\" id: \\"a\\""'
    rule = f"-s 10.1.0.5/32 ! -d 10.1.0.0/24 -m conntrack --ctstate INVALID -m comment --comment {q} -j DROP"
    assert setup == ["*mangle", f"-I POSTROUTING 1 {rule}", "COMMIT"]
    saved = ipmasq.SavedTable.of_chains({"POSTROUTING": [rule]})
    assert ipmasq.iptables_invalid_setup(saved, ["10.1.0.5/24"], comment) == []  # already there
    assert ipmasq.iptables_invalid_teardown(saved, comment) == ["*mangle", f"-D POSTROUTING {rule}", "COMMIT"]
    assert ipmasq.iptables_invalid_teardown(saved, format_comment("net", "b")) == []
    assert ipmasq.iptables_invalid_stale(saved, "net", ["a"]) == []
    assert ipmasq.iptables_invalid_stale(saved, "other", []) == []
    assert ipmasq.iptables_invalid_stale(saved, "net", []) == ["*mangle", f"-D POSTROUTING {rule}", "COMMIT"]
    # A drop whose masquerade jump is gone (a Go DEL) is an orphan; one with its jump is not.
    jump = ipmasq.SavedTable.of_chains(
        {"POSTROUTING": [f"-s 10.1.0.5/32 -m comment --comment {q} -j {format_chain_name('net', 'a')}"]}
    )
    assert ipmasq.iptables_invalid_orphans(saved, jump, "x") == []
    assert ipmasq.iptables_invalid_orphans(saved, ipmasq.SavedTable.of_chains({}), comment) == []
    assert ipmasq.iptables_invalid_orphans(saved, ipmasq.SavedTable.of_chains({}), "x")[1].startswith(
        "-D POSTROUTING"
    )


def test_nft_invalid_drop_beside_each_masquerade_rule():
    script = ipmasq.nft_setup_script(["10.1.0.5/24", "fd00::5/64"], "n", "eth0", "one", [], [9])
    comment = ipmasq.comment_for_instance("n", "eth0", "one")
    assert "add chain inet cni_plugins_masquerade drop_invalid { type filter hook forward" in script
    assert "delete rule inet cni_plugins_masquerade drop_invalid handle 9" in script
    assert (
        f'drop_invalid ip saddr == 10.1.0.5 ip daddr != 10.1.0.0/24 ct state invalid drop comment "{comment}"'
    ) in script
    assert "drop_invalid ip6 saddr == fd00::5 ip6 daddr != fd00::/64 ct state invalid drop" in script


def test_localnet_guard_once():
    batch = localnet.iptables_guard_batch("-P PREROUTING ACCEPT\n")
    assert batch[0] == "*raw" and batch[-1] == "COMMIT"
    assert batch[1].startswith("-I PREROUTING 1 -d 127.0.0.0/8 ! -i lo ") and batch[1].endswith("-j DROP")
    assert localnet.iptables_guard_batch("-A " + localnet.iptables_guard_rule()) == []
    lines = localnet.nft_guard_lines()
    assert any("priority raw" in line for line in lines)
    assert lines[-1].endswith('iifname != "lo" ip daddr 127.0.0.0/8 drop')
    assert any(line.startswith("flush chain") for line in lines)  # idempotent in any transaction


def test_spoofcheck_attachments_from_a_listing():
    listing = json.loads(
        json.dumps(
            [
                {"chain": {"name": "PREROUTING"}},
                {"chain": {"name": "cni-br-iface-a-eth0"}},
                {"chain": {"name": "cni-br-iface-a-eth0-mac"}},
                {"chain": {"name": "cni-br-iface-b-eth0-mac"}},
                {
                    "rule": {
                        "chain": "PREROUTING",
                        "comment": "macspoofchk-a-eth0",
                        "expr": [
                            {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "veth1"}},
                            {"jump": {"target": "cni-br-iface-a-eth0"}},
                        ],
                    }
                },
            ]
        )
    )
    assert spoofcheck.attachments_of(listing) == {"a-eth0": "veth1", "b-eth0": ""}


class Link:
    def __init__(self, index, master=0, peer_index=0, netnsid=-1):
        self.index, self.master, self.peer_index, self.netnsid = index, master, peer_index, netnsid


def test_an_empty_bridge_is_one_without_foreign_ports_or_addresses():
    links = [Link(1), Link(5), Link(7, peer_index=5, netnsid=0)]  # a veth whose peer elsewhere has index 5
    assert removable(5, links, ["10.1.0.1/24", "fe80::1/64"], {"10.1.0.1/24"})
    assert not removable(5, [*links, Link(8, master=5)], [], set())  # a port
    assert not removable(5, [*links, Link(9, peer_index=5)], [], set())  # stacked on it (a VLAN)
    assert not removable(5, links, ["192.0.2.1/24"], {"10.1.0.1/24"})  # an address it did not make


def test_conntrack_match_by_reply_source():
    def entry(reply_src: bytes) -> bytes:
        proto = wire.attr_u8(conntrack.CTA_PROTO_NUM, 17) + wire.attr_be16(conntrack.CTA_PROTO_DST_PORT, 8053)
        orig = wire.nested(conntrack.CTA_TUPLE_ORIG, wire.nested(conntrack.CTA_TUPLE_PROTO, proto))
        ip = wire.nested(conntrack.CTA_TUPLE_IP, wire.attr(conntrack.CTA_IP_V4_SRC, reply_src))
        reply = wire.nested(conntrack.CTA_TUPLE_REPLY, ip)
        return struct.pack("=BBH", 2, 0, 0) + orig + reply

    a, b = bytes([10, 1, 0, 2]), bytes([10, 1, 0, 3])
    assert conntrack._matches(entry(a), {8053}) is not None
    assert conntrack._matches(entry(a), {8053}, {a}) is not None
    assert conntrack._matches(entry(b), {8053}, {a}) is None
    assert conntrack._matches(entry(a), {53}, {a}) is None
