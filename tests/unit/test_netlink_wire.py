"""pkg/netlink's codec without a kernel: the wire format, and our messages read by pyroute2's
own message classes (and theirs by our decoders), so the two cannot disagree silently. The
constants file must be what scripts/netlink_constants.py generates from pyroute2 today."""

from __future__ import annotations

import errno
import importlib.util
import os
import struct
import subprocess
import sys

import pytest

from pkg.netlink import NetlinkError, wire
from pkg.netlink.constants import (
    AF_BRIDGE,
    AF_INET6,
    IFLA_IFNAME,
    IFLA_LINKINFO,
    NLA_F_NESTED,
    NLMSG_DONE,
    NLMSG_ERROR,
    RTM_DELLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
    RTM_SETLINK,
)
from pkg.netlink.records import decode_addr, decode_link, decode_route
from pkg.netlink.rtnl import Rtnl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_constants_file_is_what_pyroute2_says():
    script = os.path.join(ROOT, "scripts", "netlink_constants.py")
    proc = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


# -- the wire format ----------------------------------------------------------------------------


def test_attributes_are_padded_to_four_bytes_and_parse_back():
    data = wire.attr_str(IFLA_IFNAME, "eth0") + wire.attr_u8(7, 1) + wire.attr_u32(4, 1500)
    assert len(data) == 12 + 8 + 8
    assert wire.attr_str(IFLA_IFNAME, "eth0")[:4] == struct.pack("=HH", 9, IFLA_IFNAME)  # length unpadded
    table = wire.attr_map(data)
    assert wire.get_str(table, IFLA_IFNAME) == "eth0"
    assert (wire.get_u8(table, 7), wire.get_u32(table, 4), wire.get_u32(table, 99, 5)) == (1, 1500, 5)


def test_nested_attributes_and_flag_bits_are_masked():
    inner = wire.attr_u16(1, 0x1234)
    data = wire.nested(IFLA_LINKINFO | NLA_F_NESTED, inner) + wire.attr_be16(3, 8080)
    (kind, payload), (kind2, port) = list(wire.attrs(data))
    assert (kind, kind2) == (IFLA_LINKINFO, 3)
    assert wire.attr_map(payload) == {1: struct.pack("=H", 0x1234)}
    assert struct.unpack("!H", port) == (8080,)


def test_messages_split_one_datagram_and_stop_at_truncation():
    one = wire.message(RTM_NEWLINK, 2, 7, b"abc")  # 19 bytes, padded to 20 in a stream
    two = wire.message(NLMSG_DONE, 2, 7, struct.pack("=i", 0))
    data = one + b"\0" + two
    assert [(k, s, p) for k, _, s, p in wire.messages(data)] == [
        (RTM_NEWLINK, 7, b"abc"),
        (NLMSG_DONE, 7, b"\0" * 4),
    ]
    assert list(wire.messages(data[:-2])) == list(wire.messages(one))


def test_error_codes():
    assert wire.error_code(struct.pack("=i", -errno.EEXIST) + b"\0" * 16) == errno.EEXIST
    assert wire.error_code(struct.pack("=i", 0)) == 0 and wire.error_code(b"") == 0
    err = NetlinkError(errno.ENODEV)
    assert isinstance(err, OSError) and err.errno == errno.ENODEV and str(err) == "no such device"


def test_a_string_that_is_not_utf8_round_trips():
    name = b"e\xfft".decode("utf-8", "surrogateescape")
    assert wire.get_str(wire.attr_map(wire.attr_str(IFLA_IFNAME, name)), IFLA_IFNAME) == name


# -- against pyroute2's message classes ----------------------------------------------------------


@pytest.fixture(scope="module")
def pyroute2_messages():
    """pyroute2's message classes, loaded without its package __init__ (test-time only)."""
    spec = importlib.util.spec_from_file_location(
        "netlink_constants", os.path.join(ROOT, "scripts", "netlink_constants.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.lean_pyroute2()
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    return {"link": ifinfmsg, "addr": ifaddrmsg, "route": rtmsg}


class Recorder:
    """Stands in for the socket: keeps what Rtnl would send, answers nothing."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, bytes, int]] = []

    def request(self, kind: int, payload: bytes, flags: int = 0) -> list:
        self.sent.append((kind, payload, flags))
        return []


def sent(build, cls):
    recorder = Recorder()
    build(Rtnl(recorder))  # type: ignore[arg-type]
    kind, payload, flags = recorder.sent[-1]
    msg = cls(wire.message(kind, flags, 1, payload))
    msg.decode()
    return kind, msg


def test_our_veth_request_reads_right_in_pyroute2(pyroute2_messages):
    kind, msg = sent(
        lambda nl: nl.add_veth(
            "h0", "c0", peer_netns_fd=5, mtu=1400, peer_mac="0a:58:00:00:00:01", master=3, up=True
        ),
        pyroute2_messages["link"],
    )
    assert kind == RTM_NEWLINK and msg["flags"] & 1 and msg["change"] & 1
    assert (msg.get_attr("IFLA_IFNAME"), msg.get_attr("IFLA_MTU"), msg.get_attr("IFLA_MASTER")) == (
        "h0",
        1400,
        3,
    )
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "veth"
    peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert peer.get_attr("IFLA_IFNAME") == "c0" and peer.get_attr("IFLA_NET_NS_FD") == 5
    assert peer.get_attr("IFLA_ADDRESS") == "0a:58:00:00:00:01" and peer.get_attr("IFLA_MTU") == 1400


def test_our_bridge_and_link_changes_read_right_in_pyroute2(pyroute2_messages):
    ifinfmsg = pyroute2_messages["link"]
    _, msg = sent(lambda nl: nl.add_bridge("br0", mtu=9000, vlan_filtering=True), ifinfmsg)
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "bridge" and msg.get_attr("IFLA_MTU") == 9000
    assert info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_BR_VLAN_FILTERING") == 1
    _, msg = sent(
        lambda nl: nl.set_link(4, promisc=True, allmulti=False, txqlen=7, name="x0", mac="02:00:00:00:00:09"),
        ifinfmsg,
    )
    assert (msg["index"], msg["flags"], msg["change"]) == (4, 0x100, 0x300)
    assert (msg.get_attr("IFLA_TXQLEN"), msg.get_attr("IFLA_IFNAME"), msg.get_attr("IFLA_ADDRESS")) == (
        7,
        "x0",
        "02:00:00:00:00:09",
    )
    kind, msg = sent(lambda nl: nl.set_bridge_port(6, hairpin=True, isolated=False), ifinfmsg)
    assert kind == RTM_SETLINK and (msg["family"], msg["index"]) == (AF_BRIDGE, 6)
    port = msg.get_attr("IFLA_PROTINFO")
    assert (port.get_attr("IFLA_BRPORT_MODE"), port.get_attr("IFLA_BRPORT_ISOLATED")) == (1, 0)
    kind, msg = sent(lambda nl: nl.set_bridge_vlan(6, 100, add=False, pvid=True, untagged=True), ifinfmsg)
    assert kind == RTM_DELLINK
    assert msg.get_attr("IFLA_AF_SPEC").get_attr("IFLA_BRIDGE_VLAN_INFO") == {"flags": 6, "vid": 100}


def test_our_address_and_route_requests_read_right_in_pyroute2(pyroute2_messages):
    kind, msg = sent(lambda nl: nl.add_addr(3, "10.1.0.5/24"), pyroute2_messages["addr"])
    assert kind == RTM_NEWADDR and (msg["index"], msg["prefixlen"]) == (3, 24)
    assert (msg.get_attr("IFA_LOCAL"), msg.get_attr("IFA_ADDRESS"), msg.get_attr("IFA_BROADCAST")) == (
        "10.1.0.5",
        "10.1.0.5",
        "10.1.0.255",
    )
    _, msg = sent(lambda nl: nl.add_addr(3, "fd00::5/64"), pyroute2_messages["addr"])
    assert (
        msg["family"] == AF_INET6
        and msg.get_attr("IFA_ADDRESS") == "fd00::5"
        and msg.get_attr("IFA_BROADCAST") is None
    )
    kind, msg = sent(
        lambda nl: nl.add_route("10.2.0.0/16", oif=2, gateway="10.1.0.1", priority=5, table=1000),
        pyroute2_messages["route"],
    )
    assert kind == RTM_NEWROUTE and (msg["dst_len"], msg["proto"], msg["table"]) == (16, 3, 0)
    assert [msg.get_attr(a) for a in ("RTA_DST", "RTA_GATEWAY", "RTA_OIF", "RTA_PRIORITY", "RTA_TABLE")] == [
        "10.2.0.0",
        "10.1.0.1",
        2,
        5,
        1000,
    ]
    _, msg = sent(lambda nl: nl.add_route("::/0", gateway="fd00::1"), pyroute2_messages["route"])
    assert msg["dst_len"] == 0 and msg.get_attr("RTA_DST") is None and msg.get_attr("RTA_TABLE") == 254


def test_pyroute2_messages_decode_into_our_records(pyroute2_messages):
    link = pyroute2_messages["link"]()
    link["index"], link["flags"] = 4, 0x1 | 0x100
    link["attrs"] = [
        ("IFLA_IFNAME", "eth0"),
        ("IFLA_MTU", 1450),
        ("IFLA_ADDRESS", "02:00:00:00:00:01"),
        ("IFLA_MASTER", 7),
        ("IFLA_LINK", 9),
        ("IFLA_TXQLEN", 1000),
        ("IFLA_OPERSTATE", "UP"),
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_SLAVE_KIND", "bridge")]}),
    ]
    link.encode()
    record = decode_link(bytes(link.data[16:]))
    assert (record.index, record.name, record.kind, record.port_kind, record.operstate) == (
        4,
        "eth0",
        "veth",
        "bridge",
        "up",
    )
    assert (record.mtu, record.mac, record.master, record.peer_index, record.txqlen) == (
        1450,
        "02:00:00:00:00:01",
        7,
        9,
        1000,
    )
    assert record.up and record.promisc and not record.allmulti

    addr = pyroute2_messages["addr"]()
    addr["family"], addr["prefixlen"], addr["index"], addr["flags"] = 2, 24, 4, 0x80
    addr["attrs"] = [("IFA_ADDRESS", "10.0.0.255"), ("IFA_LOCAL", "10.0.0.1")]  # a point-to-point peer
    addr.encode()
    record = decode_addr(bytes(addr.data[16:]))
    assert (record.cidr, record.index, record.flags) == ("10.0.0.1/24", 4, 0x80)

    route = pyroute2_messages["route"]()
    route["family"], route["dst_len"], route["table"], route["proto"], route["type"] = 10, 48, 254, 3, 1
    route["attrs"] = [
        ("RTA_DST", "fd00:9::"),
        ("RTA_GATEWAY", "fd00::1"),
        ("RTA_OIF", 3),
        ("RTA_PRIORITY", 1024),
    ]
    route.encode()
    record = decode_route(bytes(route.data[16:]))
    assert (record.dst, record.gateway, record.oif, record.table, record.priority) == (
        "fd00:9::/48",
        "fd00::1",
        3,
        254,
        1024,
    )


def test_replies_of_other_requests_are_ignored_and_errors_raise():
    """The request loop against a socketpair standing in for the kernel's end."""
    import socket

    from pkg.netlink.conn import NetlinkSocket

    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    nl = NetlinkSocket(ours)
    try:
        seq = nl._seq + 1
        stale = wire.message(NLMSG_ERROR, 0, seq - 1, struct.pack("=i", -errno.EBUSY) + b"\0" * 16)
        reply = wire.message(RTM_NEWLINK, 0, seq, b"x" * 16)
        ack = wire.message(NLMSG_ERROR, 0, seq, struct.pack("=i", 0) + b"\0" * 16)
        kernel.send(stale + reply)
        kernel.send(ack)
        assert nl.request(RTM_NEWLINK, b"") == [(RTM_NEWLINK, b"x" * 16)]
        kernel.send(wire.message(NLMSG_ERROR, 0, seq + 1, struct.pack("=i", -errno.EPERM) + b"\0" * 16))
        with pytest.raises(NetlinkError) as err:
            nl.request(RTM_NEWLINK, b"")
        assert err.value.errno == errno.EPERM
        kernel.recv(4096)
        kernel.recv(4096)
    finally:
        nl.close()
        kernel.close()
