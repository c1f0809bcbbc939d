"""pkg.netlink against the real kernel: what our records say is what `ip -j` says, every
operation the plugins use does what iproute2 then shows, errors carry the kernel's errno, and no
plugin verb imports pyroute2."""

from __future__ import annotations

import errno
import ipaddress
import struct
import subprocess
import sys

import pytest

from libcni.types.errors import ErrCode
from pkg.netlink import NetlinkError, Rtnl, is_exists, is_not_found, to_cni_error, wire
from pkg.netlink.constants import (
    AF_INET,
    AF_INET6,
    NDA_DST,
    NDA_LLADDR,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NUD_PERMANENT,
    RT_SCOPE_LINK,
    RT_TABLE_MAIN,
    RTM_GETLINK,
    RTM_GETNEIGH,
    RTM_NEWLINK,
    RTM_NEWNEIGH,
    RTPROT_BOOT,
)
from pkg.netlink.rtnl import ifinfomsg
from pkg.ns import NetNS

pytestmark = pytest.mark.kernel


@pytest.fixture
def nl(container_ns):
    with NetNS.open(container_ns.path) as ns, ns.rtnl() as rtnl:
        yield rtnl


def ip_links(ns) -> dict[str, dict]:
    return {link["ifname"]: link for link in ns.links()}


def assert_link_matches(record, shown: dict, by_name: dict[str, dict]) -> None:
    """One Link record against `ip -j -d link show`'s entry for it."""
    info = shown.get("linkinfo", {})
    assert record.index == shown["ifindex"]
    assert record.name == shown["ifname"]
    assert record.mtu == shown["mtu"]
    assert record.mac == shown.get("address", "")
    assert record.txqlen == shown.get("txqlen", 0)
    assert record.operstate == shown["operstate"].lower()
    assert record.kind == info.get("info_kind", "")
    assert record.port_kind == info.get("info_slave_kind", "")
    assert record.up == ("UP" in shown["flags"])
    assert record.promisc == ("PROMISC" in shown["flags"])
    assert record.allmulti == ("ALLMULTI" in shown["flags"])
    assert record.master == (by_name[shown["master"]]["ifindex"] if "master" in shown else 0)
    if "link_index" in shown:  # the peer lives in another netns
        assert record.peer_index == shown["link_index"] and record.netnsid == shown["link_netnsid"]
    elif "link" in shown and shown["link"] in by_name:
        assert record.peer_index == by_name[shown["link"]]["ifindex"] and record.netnsid == -1
    if record.port_kind == "bridge":
        assert record.hairpin == info["info_slave_data"]["hairpin"]
        assert record.isolated == info["info_slave_data"]["isolated"]


def test_links_match_ip_link(nl, container_ns, netns_factory):
    other = netns_factory()
    container_ns.run("ip", "link", "add", "br9", "type", "bridge")
    container_ns.run("ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
    container_ns.run("ip", "link", "add", "vx", "type", "veth", "peer", "name", "vy", "netns", other.name)
    container_ns.run("ip", "link", "set", "va", "master", "br9", "mtu", "1400", "txqlen", "77", "up")
    container_ns.run(
        "ip", "link", "set", "vb", "promisc", "on", "allmulticast", "on", "address", "02:00:00:aa:bb:cc"
    )
    container_ns.run(
        "ip", "link", "set", "dev", "va", "type", "bridge_slave", "hairpin", "on", "isolated", "on"
    )
    shown = ip_links(container_ns)
    records = {link.name: link for link in nl.links()}
    assert set(records) == set(shown) == {"lo", "br9", "va", "vb", "vx"}
    for name, record in records.items():
        assert_link_matches(record, shown[name], shown)
        assert nl.get_link(name) == record == nl.get_link_by_index(record.index)
    assert records["va"].hairpin and records["va"].isolated and records["va"].port_kind == "bridge"
    assert records["vx"].netnsid >= 0 and records["vb"].promisc and records["vb"].allmulti
    assert nl.get_link("nosuch0") is None and nl.get_link_by_index(99999) is None


def test_a_dump_longer_than_one_datagram(nl, container_ns):
    """Hundreds of links: the dump comes back in many multipart datagrams, all of them read."""
    script = "".join(f"link add m{i}a type veth peer name m{i}b\n" for i in range(120))
    container_ns.run("ip", "-batch", "-", input=script)
    names = [link.name for link in nl.links()]
    assert len(names) == len(set(names)) == 241
    assert set(names) == set(ip_links(container_ns))


def test_create_and_change_links_as_ip_shows_them(nl, container_ns, netns_factory):
    other = netns_factory()
    nl.add_bridge("br7", mtu=1450)
    bridge = nl.get_link("br7")
    assert bridge is not None and bridge.kind == "bridge" and not bridge.up
    with NetNS.open(other.path) as peer_ns:
        nl.add_veth(
            "h7",
            "c7",
            peer_netns_fd=peer_ns.fd,
            mtu=1450,
            peer_mac="0a:58:0a:00:00:07",
            master=bridge.index,
            up=True,
        )
    host_end = nl.get_link("h7")
    shown = ip_links(container_ns)
    assert_link_matches(host_end, shown["h7"], shown)
    assert host_end.master == bridge.index and host_end.up and host_end.mtu == 1450
    peer = other.link("c7")
    assert (
        peer["address"] == "0a:58:0a:00:00:07"
        and peer["mtu"] == 1450
        and peer["ifindex"] == host_end.peer_index
    )

    nl.set_up(bridge.index)
    nl.set_link(host_end.index, promisc=True)
    nl.set_link(host_end.index, allmulti=True)
    nl.set_link(host_end.index, mtu=1300, mac="02:11:22:33:44:55", txqlen=42)
    nl.set_bridge_port(host_end.index, hairpin=True, isolated=True)
    shown = ip_links(container_ns)
    assert "UP" in shown["br7"]["flags"]
    h7 = shown["h7"]
    assert {"PROMISC", "ALLMULTI"} <= set(h7["flags"])
    assert (h7["mtu"], h7["address"], h7["txqlen"]) == (1300, "02:11:22:33:44:55", 42)
    assert h7["linkinfo"]["info_slave_data"]["hairpin"] and h7["linkinfo"]["info_slave_data"]["isolated"]
    assert_link_matches(nl.get_link("h7"), h7, shown)

    shown_vlans = container_ns.json(
        "bridge", "-j", "vlan", "show", "dev", "h7"
    )  # empty without VLAN filtering
    assert nl.bridge_vlans(host_end.index) == [v["vlan"] for e in shown_vlans for v in e.get("vlans", [])]

    nl.set_bridge_port(host_end.index, hairpin=False)
    nl.set_link(host_end.index, promisc=False, allmulti=False)
    h7 = container_ns.link("h7")
    assert not h7["linkinfo"]["info_slave_data"]["hairpin"] and h7["linkinfo"]["info_slave_data"]["isolated"]
    assert not {"PROMISC", "ALLMULTI"} & set(h7["flags"])

    nl.set_link(host_end.index, master=0)
    assert "master" not in container_ns.link("h7")
    nl.set_link(host_end.index, up=False)
    nl.set_link(host_end.index, name="renamed7")
    assert container_ns.link("h7") is None and container_ns.link("renamed7")["ifindex"] == host_end.index
    with NetNS.open(other.path) as peer_ns:
        nl.set_link(host_end.index, netns_fd=peer_ns.fd)
    assert container_ns.link("renamed7") is None and other.link("renamed7") is not None

    assert nl.del_link(name="br7") is True
    assert nl.del_link(name="br7") is False
    assert nl.del_link(index=bridge.index) is False
    assert set(ip_links(container_ns)) == {"lo"}


def test_addresses_match_ip_addr(nl, container_ns):
    nl.add_bridge("br5")
    index = nl.get_link("br5").index
    container_ns.run("sysctl", "-qw", "net.ipv6.conf.br5.disable_ipv6=0")
    nl.set_up(index)
    for cidr in ("10.5.0.1/24", "10.6.0.9/31", "fd00:5::1/64"):
        nl.add_addr(index, cidr)
    with pytest.raises(NetlinkError) as err:
        nl.add_addr(index, "10.5.0.1/24")
    assert is_exists(err.value)

    shown = container_ns.json("ip", "-j", "addr", "show", "dev", "br5")[0]["addr_info"]
    ours = [a for a in nl.addrs(index) if a.scope == 0]  # not the kernel's link-local one
    assert [(a.address, a.prefixlen) for a in ours] == [
        (s["local"], s["prefixlen"]) for s in shown if s["scope"] == "global"
    ]
    v4 = {s["local"]: s for s in shown if s["family"] == "inet"}
    assert (
        v4["10.5.0.1"]["broadcast"] == "10.5.0.255" and "broadcast" not in v4["10.6.0.9"]
    )  # as Go's netlink
    assert {a.family for a in ours} == {AF_INET, AF_INET6}
    assert [a.cidr for a in nl.addrs(index, AF_INET6) if a.scope == 0] == ["fd00:5::1/64"]
    assert all(a.index == index for a in nl.addrs(index)) and nl.addrs(99999) == []
    for addr in ours:
        shown_flags = next(s for s in shown if s["local"] == addr.address)
        assert addr.tentative == bool(shown_flags.get("tentative"))

    nl.del_addr(index, "10.5.0.1/24")
    assert "10.5.0.1/24" not in container_ns.addrs("br5") and "10.6.0.9/31" in container_ns.addrs("br5")
    with pytest.raises(NetlinkError) as err:
        nl.del_addr(index, "10.5.0.1/24")
    assert err.value.errno == errno.EADDRNOTAVAIL


def test_routes_match_ip_route(nl, container_ns):
    container_ns.run("ip", "link", "add", "r0", "type", "veth", "peer", "name", "r1")
    index = nl.get_link("r0").index
    container_ns.run("sysctl", "-qw", "net.ipv6.conf.r0.disable_ipv6=0")
    nl.add_addr(index, "10.8.0.2/24")
    nl.add_addr(index, "fd00:8::2/64")
    nl.set_up(index)
    container_ns.run("ip", "link", "set", "r1", "up")
    nl.add_route("0.0.0.0/0", oif=index, gateway="10.8.0.1")
    nl.add_route("10.9.0.0/16", oif=index, gateway="10.8.0.1", priority=50)
    nl.add_route("10.9.0.0/16", oif=index, gateway="10.8.0.3", priority=50)  # appended beside it
    nl.add_route("10.10.0.0/16", oif=index, scope=RT_SCOPE_LINK, table=1000)
    nl.add_route("fd00:9::/48", oif=index, gateway="fd00:8::1")

    def key(route):
        return (route.dst, route.gateway or "", route.table, route.priority)

    def ip_key(family, shown, table):
        dst = shown["dst"]
        if dst == "default":
            dst = "0.0.0.0/0" if family == "-4" else "::/0"
        elif "/" not in dst:
            dst += "/32" if family == "-4" else "/128"
        return (dst, shown.get("gateway", ""), table, shown.get("metric", 0))

    tables = (("-4", AF_INET, RT_TABLE_MAIN), ("-4", AF_INET, 1000), ("-6", AF_INET6, RT_TABLE_MAIN))
    for family, af, table in tables:
        shown = container_ns.json("ip", "-j", family, "route", "show", "table", str(table))
        expected = sorted(k for k in (ip_key(family, s, table) for s in shown) if not k[0].startswith("fe80"))
        ours = [key(r) for r in nl.routes(af, table) if not r.dst.startswith("fe80")]
        assert expected and sorted(ours) == expected
    extra = nl.routes(AF_INET, 1000)
    assert [(r.dst, r.scope, r.table, r.protocol) for r in extra] == [
        ("10.10.0.0/16", RT_SCOPE_LINK, 1000, RTPROT_BOOT)
    ]
    every = nl.routes(table=0)
    assert {r.table for r in every} >= {RT_TABLE_MAIN, 1000, 255}  # 255: the kernel's local table

    got = nl.route_to("10.9.1.1")
    shown = container_ns.json("ip", "-j", "route", "get", "10.9.1.1")[0]
    assert got.oif == index and got.gateway == shown["gateway"] and got.prefsrc == shown["prefsrc"]
    assert nl.route_to("fd00:9::5").gateway == "fd00:8::1"
    container_ns.run("ip", "route", "del", "default")
    assert nl.route_to("192.0.2.1") is None  # unreachable

    nl.del_route("10.9.0.0/16", oif=index, gateway="10.8.0.3", priority=50)
    left = container_ns.json("ip", "-j", "route", "show", "10.9.0.0/16")
    assert [r.get("gateway") for r in left] == ["10.8.0.1"]
    with pytest.raises(NetlinkError) as err:
        nl.del_route("10.99.0.0/16")
    assert err.value.errno == errno.ESRCH and is_not_found(err.value)


def test_multipath_next_hops(nl, container_ns):
    container_ns.run("ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1")
    container_ns.run("ip", "addr", "add", "10.11.0.2/24", "dev", "p0")
    container_ns.run("ip", "link", "set", "p0", "up")
    container_ns.run("ip", "link", "set", "p1", "up")
    container_ns.run(
        "ip", "route", "add", "10.12.0.0/16", "nexthop", "via", "10.11.0.1", "nexthop", "via", "10.11.0.3"
    )
    (route,) = [r for r in nl.routes(AF_INET) if r.dst == "10.12.0.0/16"]
    assert route.gateway == "" and route.gateways == ("10.11.0.1", "10.11.0.3")
    assert {oif for _, oif in route.multipath} == {nl.get_link("p0").index}


def test_kernel_errors_map_to_cni_errors(nl):
    nl.add_bridge("br3")
    with pytest.raises(NetlinkError) as err:
        nl.add_bridge("br3")
    assert is_exists(err.value) and str(err.value) == "file exists"
    cni = to_cni_error(err.value, 'failed to create bridge "br3"')
    assert (cni.code, cni.msg, cni.details) == (
        ErrCode.INTERNAL,
        'failed to create bridge "br3": file exists',
        "EEXIST",
    )
    with pytest.raises(NetlinkError) as err:
        nl.set_link(99999, up=True)
    assert err.value.errno == errno.ENODEV and is_not_found(err.value)
    with pytest.raises(NetlinkError) as err:
        nl.add_link("bad0", "no-such-kind")
    assert err.value.errno == errno.EOPNOTSUPP
    busy = to_cni_error(NetlinkError(errno.EBUSY), "x")
    assert (busy.code, busy.msg, busy.details) == (
        ErrCode.TRY_AGAIN_LATER,
        "x: device or resource busy",
        "EBUSY",
    )


def test_requests_without_a_method_go_through_request_and_dump(nl, container_ns):
    """The extension path (here a neighbour entry): a payload built with `wire`, sent raw."""
    container_ns.run("ip", "link", "add", "n0", "type", "veth", "peer", "name", "n1")
    index = nl.get_link("n0").index
    ndmsg = struct.pack("=BxxxiHBB", AF_INET, index, NUD_PERMANENT, 0, 0)
    payload = (
        ndmsg
        + wire.attr(NDA_DST, bytes([10, 3, 0, 9]))
        + wire.attr(NDA_LLADDR, bytes.fromhex("020000000309"))
    )
    nl.request(RTM_NEWNEIGH, payload, NLM_F_CREATE | NLM_F_EXCL)
    shown = container_ns.json("ip", "-j", "neigh", "show", "dev", "n0")
    assert [(n["dst"], n["lladdr"], n["state"]) for n in shown] == [
        ("10.3.0.9", "02:00:00:00:03:09", ["PERMANENT"])
    ]
    dumped = nl.dump(RTM_GETNEIGH, struct.pack("=BxxxiHBB", AF_INET, 0, 0, 0, 0))
    mine = [
        body
        for kind, body in dumped
        if kind == RTM_NEWNEIGH and struct.unpack_from("=i", body, 4)[0] == index
    ]
    assert len(mine) == 1 and wire.attr_map(mine[0], 12)[NDA_DST] == bytes([10, 3, 0, 9])
    links = [body for kind, body in nl.dump(RTM_GETLINK, ifinfomsg()) if kind == RTM_NEWLINK]
    assert len(links) == len(nl.links()) == 3


def test_one_socket_per_netns(container_ns, netns_factory):
    """A socket opened inside a netns acts there, whatever netns the process is in later."""
    other = netns_factory()
    with NetNS.open(container_ns.path) as a, NetNS.open(other.path) as b, a.rtnl() as in_a, b.rtnl() as in_b:
        in_a.add_bridge("only-a")
        assert in_b.get_link("only-a") is None and in_a.get_link("only-a") is not None
        with b.entered():
            assert in_a.get_link("only-a") is not None  # still a's socket
    assert container_ns.link("only-a") is not None and other.link("only-a") is None
    with Rtnl.open() as here:
        assert here.get_link("only-a") is None  # the test process's own netns is neither


NO_PYROUTE2 = """
import sys
import pkg.netlink, plugins.bridge.commands, plugins.tuning.commands, plugins.portmap.commands
import plugins.bridge.check, plugins.bridge.bridge_link, plugins.tuning.link_settings
import plugins.portmap.conntrack, plugins.portmap.localnet, pkg.configure, pkg.link
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "pyroute2")
assert not loaded, loaded
print("ok")
"""


def test_no_plugin_verb_module_imports_pyroute2():
    proc = subprocess.run([sys.executable, "-c", NO_PYROUTE2], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_records_compare_by_value_and_parse_addresses(nl):
    nl.add_bridge("br4")
    first, second = nl.get_link("br4"), nl.get_link("br4")
    assert first == second and hash(first) == hash(second) and "name='br4'" in repr(first)
    nl.add_addr(first.index, "10.4.0.1/24")
    (addr,) = nl.addrs(first.index, AF_INET)
    assert ipaddress.ip_interface(addr.cidr) == ipaddress.ip_interface("10.4.0.1/24")
