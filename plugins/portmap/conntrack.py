"""Flush stale UDP conntrack entries for mapped host ports (Go's DeleteConntrackEntriesForDstPort).

A UDP "connection" to a host port that existed before the DNAT rule keeps its old NAT binding
and blackholes traffic; Go deletes those entries after adding the rules. This speaks ctnetlink
directly (stdlib socket, no library, no `conntrack` exec): dump the family's entries, delete each
one whose original tuple is UDP to one of the ports. The kernel filters the dump per port
(CTA_FILTER, Linux 5.8+), so a node with a huge conntrack table is not read whole; older kernels
ignore the filter and every entry is checked here instead.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Iterator

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_GET = 1
IPCTNL_MSG_CT_DELETE = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLA_TYPE_MASK = 0x3FFF  # strip NLA_F_NESTED / NLA_F_NET_BYTEORDER

CTA_TUPLE_ORIG = 1
CTA_TUPLE_REPLY = 2
CTA_TUPLE_IP = 1
CTA_IP_V4_SRC = 1
CTA_IP_V6_SRC = 3
CTA_ZONE = 18
CTA_FILTER = 25
CTA_FILTER_ORIG_FLAGS = 1
CTA_FILTER_REPLY_FLAGS = 2
CTA_FILTER_F_CTA_PROTO_NUM = 1 << 3
CTA_FILTER_F_CTA_PROTO_DST_PORT = 1 << 5
CTA_TUPLE_PROTO = 2
CTA_PROTO_NUM = 1
CTA_PROTO_DST_PORT = 3
NLA_F_NESTED = 0x8000
IPPROTO_UDP = 17

_HEADER = struct.Struct("=IHHII")


def _attrs(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """(type, payload, whole attribute bytes) of a netlink attribute stream."""
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            return
        yield kind & NLA_TYPE_MASK, data[offset + 4 : offset + length], data[offset : offset + length]
        offset += (length + 3) & ~3


def _find(data: bytes, kind: int) -> bytes | None:
    return next((payload for k, payload, _ in _attrs(data) if k == kind), None)


def _attr(kind: int, payload: bytes) -> bytes:
    data = struct.pack("=HH", 4 + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def _port_filter(port: int) -> bytes:
    """Dump only UDP entries whose original destination port is `port`."""
    proto = _attr(CTA_PROTO_NUM, bytes([IPPROTO_UDP])) + _attr(CTA_PROTO_DST_PORT, struct.pack("!H", port))
    tuple_attr = _attr(CTA_TUPLE_ORIG | NLA_F_NESTED, _attr(CTA_TUPLE_PROTO | NLA_F_NESTED, proto))
    flags = CTA_FILTER_F_CTA_PROTO_NUM | CTA_FILTER_F_CTA_PROTO_DST_PORT
    filter_attr = _attr(
        CTA_FILTER | NLA_F_NESTED,
        _attr(CTA_FILTER_ORIG_FLAGS, struct.pack("=I", flags))
        + _attr(CTA_FILTER_REPLY_FLAGS, struct.pack("=I", 0)),
    )
    return tuple_attr + filter_attr


def _message(kind: int, flags: int, seq: int, family: int, body: bytes = b"") -> bytes:
    payload = struct.pack("=BBH", family, 0, 0) + body
    return (
        _HEADER.pack(_HEADER.size + len(payload), (NFNL_SUBSYS_CTNETLINK << 8) | kind, flags, seq, 0)
        + payload
    )


def _replies(sock: socket.socket) -> Iterator[tuple[int, bytes]]:
    """(type, payload) of every message until DONE or an error/ack; raises OSError on errors."""
    while True:
        data = sock.recv(1 << 16)
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
            payload = data[offset + _HEADER.size : offset + length]
            offset += (length + 3) & ~3
            if kind == NLMSG_DONE:
                return
            if kind == NLMSG_ERROR:
                code = -struct.unpack_from("=i", payload)[0]
                if code:
                    raise OSError(code, os.strerror(code))
                return
            yield kind, payload


def _reply_source(reply: bytes | None) -> bytes | None:
    """The source address of a reply tuple (where the answers come from: the DNAT target)."""
    ip = _find(reply, CTA_TUPLE_IP) if reply is not None else None
    if ip is None:
        return None
    return _find(ip, CTA_IP_V4_SRC) or _find(ip, CTA_IP_V6_SRC)


def _matches(
    entry: bytes, ports: set[int], reply_sources: set[bytes] | None = None
) -> tuple[bytes, bytes | None] | None:
    """The (original tuple attribute, zone attribute) of a UDP entry to one of `ports` (and, with
    `reply_sources`, answered from one of those addresses)."""
    tuple_attr = zone_attr = None
    orig = reply = None
    for kind, payload, whole in _attrs(entry[4:]):  # skip nfgenmsg
        if kind == CTA_TUPLE_ORIG:
            orig, tuple_attr = payload, whole
        elif kind == CTA_TUPLE_REPLY:
            reply = payload
        elif kind == CTA_ZONE:
            zone_attr = whole
    if reply_sources is not None and _reply_source(reply) not in reply_sources:
        return None
    proto = _find(orig, CTA_TUPLE_PROTO) if orig is not None else None
    if proto is None or tuple_attr is None:
        return None
    number = _find(proto, CTA_PROTO_NUM)
    port = _find(proto, CTA_PROTO_DST_PORT)
    if number is None or port is None or number[0] != IPPROTO_UDP:
        return None
    return (tuple_attr, zone_attr) if struct.unpack("!H", port[:2])[0] in ports else None


def delete_udp_entries(ports: list[int], family: int, reply_sources: list[str] | None = None) -> int:
    """Delete the UDP entries of `family` (4 or 6) whose original destination port is in `ports`
    (with `reply_sources`: only those NAT-ed to one of these addresses, i.e. answered from it);
    returns how many. Raises OSError when conntrack cannot be reached."""
    if not ports:
        return 0
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    wanted = set(ports)
    sources = None if reply_sources is None else {ipaddress.ip_address(a).packed for a in reply_sources}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER) as sock:
        sock.bind((0, 0))
        doomed: list[tuple[bytes, bytes | None]] = []
        for port in sorted(wanted):
            try:
                doomed += _dump(sock, af, wanted, _port_filter(port), sources)
            except OSError as err:
                if err.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                doomed = _dump(sock, af, wanted, b"", sources)  # a kernel without dump filters
                break
        deleted = 0
        unique = dict.fromkeys(doomed)  # a kernel ignoring the filter returns every match each time
        for seq, (tuple_attr, zone_attr) in enumerate(unique, start=100):
            body = tuple_attr + b"\0" * (-len(tuple_attr) % 4) + (zone_attr or b"")
            sock.send(_message(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, seq, af, body))
            try:
                for _ in _replies(sock):
                    pass
                deleted += 1
            except OSError as err:
                if err.errno != errno.ENOENT:  # gone meanwhile: fine
                    raise
        return deleted


def _dump(
    sock: socket.socket, af: int, ports: set[int], request_attrs: bytes, sources: set[bytes] | None = None
) -> list[tuple[bytes, bytes | None]]:
    sock.send(_message(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, 1, af, request_attrs))
    return [m for _, entry in _replies(sock) if (m := _matches(entry, ports, sources)) is not None]
