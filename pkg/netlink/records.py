"""Typed records of what the kernel reports (links, addresses, routes), decoded from rtnetlink
payloads. Pure: bytes in, records out."""

from __future__ import annotations

import _socket
import struct

from . import wire
from .constants import (
    AF_INET,
    AF_INET6,
    IFA_ADDRESS,
    IFA_F_DADFAILED,
    IFA_F_TENTATIVE,
    IFA_FLAGS,
    IFA_LOCAL,
    IFF_ALLMULTI,
    IFF_PROMISC,
    IFF_UP,
    IFLA_ADDRESS,
    IFLA_BRPORT_ISOLATED,
    IFLA_BRPORT_MODE,
    IFLA_IFNAME,
    IFLA_INFO_KIND,
    IFLA_INFO_SLAVE_DATA,
    IFLA_INFO_SLAVE_KIND,
    IFLA_LINK,
    IFLA_LINK_NETNSID,
    IFLA_LINKINFO,
    IFLA_MASTER,
    IFLA_MTU,
    IFLA_OPERSTATE,
    IFLA_TXQLEN,
    OPERSTATES,
    RTA_DST,
    RTA_GATEWAY,
    RTA_MULTIPATH,
    RTA_OIF,
    RTA_PREFSRC,
    RTA_PRIORITY,
    RTA_TABLE,
)

IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
RTNEXTHOP = struct.Struct("=HBBi")  # len, flags, hops, ifindex


class Record:
    """A plain record: attributes named by __slots__, compared and printed by value. (Cheaper to
    define than a NamedTuple, which costs ~1 ms of start-up each.)"""

    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__
        )

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in self.__slots__))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Link(Record):
    __slots__ = (
        "index",
        "name",
        "kind",
        "flags",
        "mtu",
        "mac",
        "master",
        "peer_index",
        "txqlen",
        "operstate",
        "port_kind",
        "hairpin",
        "isolated",
        "netnsid",
    )

    def __init__(
        self,
        *,
        index: int,
        name: str,
        kind: str = "",
        flags: int = 0,
        mtu: int = 0,
        mac: str = "",
        master: int = 0,
        peer_index: int = 0,
        txqlen: int = 0,
        operstate: str = "unknown",
        port_kind: str = "",
        hairpin: bool = False,
        isolated: bool = False,
        netnsid: int = -1,
    ) -> None:
        self.index = index
        self.name = name
        self.kind = kind  # IFLA_INFO_KIND: "bridge", "veth", ...; "" for devices without one (lo)
        self.flags = flags  # IFF_*
        self.mtu = mtu
        self.mac = mac  # lower-case "aa:bb:..."; "" when the device has no hardware address
        self.master = master  # the bridge's index; 0 when not enslaved
        self.peer_index = peer_index  # IFLA_LINK: a veth's peer (an index in the peer's netns)
        self.txqlen = txqlen
        self.operstate = operstate  # Go's LinkOperState names: "up", "down", "unknown", ...
        self.port_kind = port_kind  # IFLA_INFO_SLAVE_KIND: "bridge" for a bridge port
        self.hairpin = hairpin  # bridge port attributes (IFLA_BRPORT_MODE, _ISOLATED)
        self.isolated = isolated
        self.netnsid = netnsid  # IFLA_LINK_NETNSID: where the peer lives; -1 when in this netns

    @property
    def up(self) -> bool:
        return bool(self.flags & IFF_UP)

    @property
    def promisc(self) -> bool:
        return bool(self.flags & IFF_PROMISC)

    @property
    def allmulti(self) -> bool:
        return bool(self.flags & IFF_ALLMULTI)


class Addr(Record):
    __slots__ = ("index", "family", "address", "prefixlen", "flags", "scope")

    def __init__(
        self, *, index: int, family: int, address: str, prefixlen: int, flags: int = 0, scope: int = 0
    ):
        self.index = index
        self.family = family  # AF_INET / AF_INET6
        self.address = address
        self.prefixlen = prefixlen
        self.flags = flags  # IFA_F_* (the 32-bit IFA_FLAGS when the kernel sends it)
        self.scope = scope

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"

    @property
    def tentative(self) -> bool:
        return bool(self.flags & IFA_F_TENTATIVE)

    @property
    def dad_failed(self) -> bool:
        return bool(self.flags & IFA_F_DADFAILED)


class Route(Record):
    __slots__ = (
        "family",
        "dst",
        "gateway",
        "oif",
        "table",
        "priority",
        "protocol",
        "scope",
        "type",
        "prefsrc",
        "multipath",
    )

    def __init__(
        self,
        *,
        family: int,
        dst: str,
        gateway: str = "",
        oif: int = 0,
        table: int = 0,
        priority: int = 0,
        protocol: int = 0,
        scope: int = 0,
        type: int = 0,
        prefsrc: str = "",
        multipath: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.family = family
        self.dst = dst  # "10.1.0.0/24"; "0.0.0.0/0" or "::/0" for a default route
        self.gateway = gateway  # "" when none (directly connected, or multipath)
        self.oif = oif
        self.table = table
        self.priority = priority
        self.protocol = protocol  # RTPROT_*
        self.scope = scope  # RT_SCOPE_*
        self.type = type  # RTN_*
        self.prefsrc = prefsrc
        self.multipath = multipath  # (gateway, oif) of each next hop

    @property
    def gateways(self) -> tuple[str, ...]:
        """Every gateway of the route, the single one or the next hops'."""
        return ((self.gateway,) if self.gateway else ()) + tuple(gw for gw, _ in self.multipath if gw)


def ip_text(family: int, packed: bytes | None) -> str:
    return _socket.inet_ntop(family, packed) if packed else ""


def mac_text(packed: bytes | None) -> str:
    return packed.hex(":") if packed else ""


def decode_link(payload: bytes) -> Link:
    _, _, index, flags, _ = IFINFOMSG.unpack_from(payload)
    table = wire.attr_map(payload, IFINFOMSG.size)
    info = wire.attr_map(table.get(IFLA_LINKINFO, b""))
    port = wire.attr_map(info.get(IFLA_INFO_SLAVE_DATA, b""))
    state = wire.get_u8(table, IFLA_OPERSTATE)
    return Link(
        index=index,
        name=wire.get_str(table, IFLA_IFNAME),
        kind=wire.get_str(info, IFLA_INFO_KIND),
        flags=flags,
        mtu=wire.get_u32(table, IFLA_MTU),
        mac=mac_text(table.get(IFLA_ADDRESS)),
        master=wire.get_u32(table, IFLA_MASTER),
        peer_index=wire.get_u32(table, IFLA_LINK),
        txqlen=wire.get_u32(table, IFLA_TXQLEN),
        operstate=OPERSTATES[state] if state < len(OPERSTATES) else "unknown",
        port_kind=wire.get_str(info, IFLA_INFO_SLAVE_KIND),
        hairpin=bool(wire.get_u8(port, IFLA_BRPORT_MODE)),
        isolated=bool(wire.get_u8(port, IFLA_BRPORT_ISOLATED)),
        netnsid=wire.get_i32(table, IFLA_LINK_NETNSID, -1),
    )


def decode_addr(payload: bytes) -> Addr:
    family, prefixlen, flags, scope, index = IFADDRMSG.unpack_from(payload)
    table = wire.attr_map(payload, IFADDRMSG.size)
    # IPv4: IFA_LOCAL is the address, IFA_ADDRESS the peer (the same unless point-to-point).
    packed = table.get(IFA_LOCAL) if family == AF_INET else None
    return Addr(
        index=index,
        family=family,
        address=ip_text(family, packed or table.get(IFA_ADDRESS)),
        prefixlen=prefixlen,
        flags=wire.get_u32(table, IFA_FLAGS, flags),
        scope=scope,
    )


def decode_route(payload: bytes) -> Route:
    family, dst_len, _, _, table_id, protocol, scope, kind, _ = RTMSG.unpack_from(payload)
    table = wire.attr_map(payload, RTMSG.size)
    dst = ip_text(family, table.get(RTA_DST)) or ("::" if family == AF_INET6 else "0.0.0.0")
    return Route(
        family=family,
        dst=f"{dst}/{dst_len}",
        gateway=ip_text(family, table.get(RTA_GATEWAY)),
        oif=wire.get_u32(table, RTA_OIF),
        table=wire.get_u32(table, RTA_TABLE, table_id),
        priority=wire.get_u32(table, RTA_PRIORITY),
        protocol=protocol,
        scope=scope,
        type=kind,
        prefsrc=ip_text(family, table.get(RTA_PREFSRC)),
        multipath=_next_hops(family, table.get(RTA_MULTIPATH, b"")),
    )


def _next_hops(family: int, data: bytes) -> tuple[tuple[str, int], ...]:
    hops = []
    offset = 0
    while offset + RTNEXTHOP.size <= len(data):
        length, _, _, ifindex = RTNEXTHOP.unpack_from(data, offset)
        if length < RTNEXTHOP.size:
            break
        hop = wire.attr_map(data[offset + RTNEXTHOP.size : offset + length])
        hops.append((ip_text(family, hop.get(RTA_GATEWAY)), ifindex))
        offset += wire.align(length)
    return tuple(hops)
