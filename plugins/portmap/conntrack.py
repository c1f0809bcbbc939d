"""Flush stale UDP conntrack entries for mapped host ports (Go's DeleteConntrackEntriesForDstPort).

A UDP "connection" to a host port that existed before the DNAT rule keeps its old NAT binding
and blackholes traffic; Go deletes those entries after adding the rules. This speaks ctnetlink
over pkg/netlink's socket (no library, no `conntrack` exec): dump the family's entries, delete
each one whose original tuple is UDP to one of the ports. The kernel filters the dump per port
(CTA_FILTER, Linux 5.8+), so a node with a huge conntrack table is not read whole; older kernels
refuse the filter and every entry is checked here instead.
"""

from __future__ import annotations

import errno
import ipaddress
import struct

from pkg.netlink import NetlinkError, wire
from pkg.netlink.conn import NetlinkSocket
from pkg.netlink.constants import (
    AF_INET,
    AF_INET6,
    CTA_FILTER,
    CTA_FILTER_ORIG_FLAGS,
    CTA_FILTER_REPLY_FLAGS,
    CTA_PROTO_DST_PORT,
    CTA_PROTO_NUM,
    CTA_TUPLE_ORIG,
    CTA_TUPLE_PROTO,
    CTA_ZONE,
    FILTER_FLAG_CTA_PROTO_DST_PORT,
    FILTER_FLAG_CTA_PROTO_NUM,
    IPCTNL_MSG_CT_DELETE,
    IPCTNL_MSG_CT_GET,
    IPPROTO_UDP,
    NETLINK_NETFILTER,
    NFNL_SUBSYS_CTNETLINK,
    NLA_F_NESTED,
)

CTA_TUPLE_REPLY = 2  # nf_conntrack_common: the reply tuple, and in a tuple:
CTA_TUPLE_IP = 1  # its addresses,
CTA_IP_V4_SRC = 1  # the source (IPv4)
CTA_IP_V6_SRC = 3  # the source (IPv6)

NFGENMSG = struct.Struct("=BBH")  # family, version, resource id
Entry = tuple[bytes, bytes | None]  # (original tuple, zone) payloads, enough to delete one entry


def _port_filter(port: int) -> bytes:
    """Dump only UDP entries whose original destination port is `port`."""
    proto = wire.attr_u8(CTA_PROTO_NUM, IPPROTO_UDP) + wire.attr_be16(CTA_PROTO_DST_PORT, port)
    tuple_attr = wire.nested(
        CTA_TUPLE_ORIG | NLA_F_NESTED, wire.nested(CTA_TUPLE_PROTO | NLA_F_NESTED, proto)
    )
    flags = FILTER_FLAG_CTA_PROTO_NUM | FILTER_FLAG_CTA_PROTO_DST_PORT
    filter_attr = wire.nested(
        CTA_FILTER | NLA_F_NESTED,
        wire.attr_u32(CTA_FILTER_ORIG_FLAGS, flags) + wire.attr_u32(CTA_FILTER_REPLY_FLAGS, 0),
    )
    return tuple_attr + filter_attr


def _kind(message: int) -> int:
    return (NFNL_SUBSYS_CTNETLINK << 8) | message


def _reply_source(table: dict) -> bytes | None:
    """The source address of the reply tuple: where answers come from (the DNAT target)."""
    addresses = wire.attr_map(wire.attr_map(table.get(CTA_TUPLE_REPLY, b"")).get(CTA_TUPLE_IP, b""))
    return addresses.get(CTA_IP_V4_SRC) or addresses.get(CTA_IP_V6_SRC)


def _matches(entry: bytes, ports: set[int], reply_sources: set[bytes] | None = None) -> Entry | None:
    """The original tuple and zone of a UDP entry to one of `ports` (with `reply_sources`: only
    one answered from one of those addresses)."""
    table = wire.attr_map(entry, NFGENMSG.size)
    orig = table.get(CTA_TUPLE_ORIG)
    if orig is None:
        return None
    if reply_sources is not None and _reply_source(table) not in reply_sources:
        return None
    proto = wire.attr_map(wire.attr_map(orig).get(CTA_TUPLE_PROTO, b""))
    number, port = proto.get(CTA_PROTO_NUM), proto.get(CTA_PROTO_DST_PORT)
    if not number or port is None or len(port) < 2 or number[0] != IPPROTO_UDP:
        return None
    return (orig, table.get(CTA_ZONE)) if struct.unpack_from("!H", port)[0] in ports else None


def delete_udp_entries(ports: list[int], family: int, reply_sources: list[str] | None = None) -> int:
    """Delete the UDP entries of `family` (4 or 6) whose original destination port is in `ports`
    (with `reply_sources`: only those NAT-ed to one of these addresses, i.e. answered from it);
    returns how many. Raises NetlinkError (an OSError) when conntrack cannot be reached."""
    if not ports:
        return 0
    af = AF_INET6 if family == 6 else AF_INET
    wanted = set(ports)
    sources = None if reply_sources is None else {ipaddress.ip_address(a).packed for a in reply_sources}
    header = NFGENMSG.pack(af, 0, 0)
    with NetlinkSocket.open(NETLINK_NETFILTER) as nl:
        doomed: list[Entry] = []
        for port in sorted(wanted):
            try:
                doomed += _dump(nl, header + _port_filter(port), wanted, sources)
            except NetlinkError as err:
                if err.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                doomed = _dump(nl, header, wanted, sources)  # a kernel without dump filters
                break
        deleted = 0
        for orig, zone in dict.fromkeys(doomed):  # a kernel ignoring the filter returns each match per port
            body = header + wire.nested(CTA_TUPLE_ORIG | NLA_F_NESTED, orig)
            if zone is not None:
                body += wire.attr(CTA_ZONE, zone)
            try:
                nl.request(_kind(IPCTNL_MSG_CT_DELETE), body)
                deleted += 1
            except NetlinkError as err:
                if err.errno != errno.ENOENT:  # gone meanwhile: fine
                    raise
        return deleted


def _dump(
    nl: NetlinkSocket, request: bytes, ports: set[int], sources: set[bytes] | None = None
) -> list[Entry]:
    replies = nl.dump(_kind(IPCTNL_MSG_CT_GET), request)
    return [m for _, entry in replies if (m := _matches(entry, ports, sources)) is not None]
