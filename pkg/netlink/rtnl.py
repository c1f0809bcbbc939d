"""rtnetlink operations on one NETLINK_ROUTE socket: links, addresses, routes (what vishvananda's
netlink does for the Go plugins, in the same messages).

    with Rtnl.open() as nl:                 # this netns; NetNS.rtnl() opens one inside another
        link = nl.get_link("eth0")          # a Link record, or None
        nl.set_link(link.index, up=True)

Lookups return None for a missing link; every other kernel refusal raises NetlinkError (an
OSError with the errno), which callers turn into CNI errors with errors.to_cni_error.
"""

from __future__ import annotations

import _socket
import errno
import ipaddress
import struct

from . import wire
from .conn import NetlinkSocket, Reply
from .constants import (
    AF_BRIDGE,
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    BRIDGE_VLAN_INFO_PVID,
    BRIDGE_VLAN_INFO_UNTAGGED,
    IFA_ADDRESS,
    IFA_BROADCAST,
    IFA_LOCAL,
    IFF_ALLMULTI,
    IFF_PROMISC,
    IFF_UP,
    IFLA_ADDRESS,
    IFLA_AF_SPEC,
    IFLA_BR_VLAN_FILTERING,
    IFLA_BRIDGE_VLAN_INFO,
    IFLA_BRPORT_ISOLATED,
    IFLA_BRPORT_MODE,
    IFLA_EXT_MASK,
    IFLA_IFNAME,
    IFLA_INFO_DATA,
    IFLA_INFO_KIND,
    IFLA_LINKINFO,
    IFLA_MASTER,
    IFLA_MTU,
    IFLA_NET_NS_FD,
    IFLA_PROTINFO,
    IFLA_TXQLEN,
    NETLINK_ROUTE,
    NLA_F_NESTED,
    NLM_F_APPEND,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    RT_SCOPE_NOWHERE,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_MAIN,
    RTA_DST,
    RTA_GATEWAY,
    RTA_OIF,
    RTA_PRIORITY,
    RTA_TABLE,
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_DELROUTE,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
    RTM_SETLINK,
    RTN_UNICAST,
    RTPROT_BOOT,
    VETH_INFO_PEER,
)
from .errors import NetlinkError, is_not_found
from .records import IFADDRMSG, IFINFOMSG, RTMSG, Addr, Link, Route, decode_addr, decode_link, decode_route

# linux/rtnetlink.h RTEXT_FILTER_BRVLAN: ask link dumps for bridge VLANs (pyroute2 has no name for it).
RTEXT_FILTER_BRVLAN = 1 << 1
BRIDGE_VLAN_INFO = struct.Struct("=HH")  # flags, vid
UNREACHABLE = frozenset((errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EINVAL))


def ifinfomsg(index: int = 0, *, family: int = AF_UNSPEC, flags: int = 0, change: int = 0) -> bytes:
    return IFINFOMSG.pack(family, 0, index, flags, change)


def parse_mac(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", "").replace("-", ""))


class Rtnl:
    """rtnetlink requests on one socket, in the netns the socket was made in."""

    def __init__(self, nl: NetlinkSocket) -> None:
        self.nl = nl

    @classmethod
    def open(cls) -> Rtnl:
        return cls(NetlinkSocket.open(NETLINK_ROUTE))

    def close(self) -> None:
        self.nl.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, kind: int, payload: bytes, flags: int = 0) -> list[Reply]:
        """Any rtnetlink request (for kinds this class has no method for: tc, neighbours...)."""
        return self.nl.request(kind, payload, flags)

    def dump(self, kind: int, payload: bytes) -> list[Reply]:
        return self.nl.dump(kind, payload)

    # -- links: reading --------------------------------------------------------------------------

    def _get_link(self, payload: bytes) -> Link | None:
        try:
            replies = self.nl.request(RTM_GETLINK, payload)
        except NetlinkError as err:
            if is_not_found(err):
                return None
            raise
        return next((decode_link(body) for kind, body in replies if kind == RTM_NEWLINK), None)

    def get_link(self, name: str) -> Link | None:
        """The link called `name`, or None."""
        return self._get_link(ifinfomsg() + wire.attr_str(IFLA_IFNAME, name))

    def get_link_by_index(self, index: int) -> Link | None:
        return self._get_link(ifinfomsg(index))

    def links(self) -> list[Link]:
        return [
            decode_link(body) for kind, body in self.nl.dump(RTM_GETLINK, ifinfomsg()) if kind == RTM_NEWLINK
        ]

    # -- links: creating, changing, deleting -----------------------------------------------------

    def add_link(
        self,
        name: str,
        kind: str,
        *,
        mtu: int = 0,
        mac: str = "",
        master: int = 0,
        up: bool = False,
        info_data: bytes = b"",
    ) -> None:
        """Create a link of `kind` ("bridge", "veth", "ifb", ...); EEXIST when the name is taken.
        `info_data` holds the kind's own attributes (IFLA_INFO_DATA)."""
        info = wire.attr_str(IFLA_INFO_KIND, kind)
        if info_data:
            info += wire.nested(IFLA_INFO_DATA, info_data)
        payload = (
            ifinfomsg(flags=IFF_UP if up else 0, change=IFF_UP if up else 0)
            + wire.attr_str(IFLA_IFNAME, name)
            + self._link_attrs(mtu=mtu, mac=mac, master=master)
            + wire.nested(IFLA_LINKINFO, info)
        )
        self.nl.request(RTM_NEWLINK, payload, NLM_F_CREATE | NLM_F_EXCL)

    def add_veth(
        self,
        name: str,
        peer_name: str,
        *,
        peer_netns_fd: int = -1,
        mtu: int = 0,
        peer_mac: str = "",
        master: int = 0,
        up: bool = False,
    ) -> None:
        """A veth pair: `name` here (enslaved to `master` and up when asked), `peer_name` born in
        the netns of `peer_netns_fd` (here when -1). One request: no move, no rename."""
        peer = ifinfomsg() + wire.attr_str(IFLA_IFNAME, peer_name) + self._link_attrs(mtu=mtu, mac=peer_mac)
        if peer_netns_fd >= 0:
            peer += wire.attr_u32(IFLA_NET_NS_FD, peer_netns_fd)
        info_data = wire.nested(VETH_INFO_PEER, peer)
        self.add_link(name, "veth", mtu=mtu, master=master, up=up, info_data=info_data)

    def add_bridge(self, name: str, *, mtu: int = 0, vlan_filtering: bool = False) -> None:
        data = wire.attr_u8(IFLA_BR_VLAN_FILTERING, 1) if vlan_filtering else b""
        self.add_link(name, "bridge", mtu=mtu, info_data=data)

    @staticmethod
    def _link_attrs(*, mtu: int = 0, mac: str = "", master: int = 0) -> bytes:
        out = b""
        if mtu > 0:
            out += wire.attr_u32(IFLA_MTU, mtu)
        if mac:
            out += wire.attr(IFLA_ADDRESS, parse_mac(mac))
        if master > 0:
            out += wire.attr_u32(IFLA_MASTER, master)
        return out

    def set_link(
        self,
        index: int,
        *,
        up: bool | None = None,
        promisc: bool | None = None,
        allmulti: bool | None = None,
        mtu: int = 0,
        mac: str = "",
        txqlen: int | None = None,
        master: int | None = None,
        name: str = "",
        netns_fd: int = -1,
    ) -> None:
        """Change what is given, in one request (give one thing per call for a precise error):
        flags, MTU, MAC, queue length, master (0 releases), a new name, or another netns."""
        flags = change = 0
        for wanted, flag in ((up, IFF_UP), (promisc, IFF_PROMISC), (allmulti, IFF_ALLMULTI)):
            if wanted is not None:
                change |= flag
                flags |= flag if wanted else 0
        payload = ifinfomsg(index, flags=flags, change=change) + self._link_attrs(mtu=mtu, mac=mac)
        if txqlen is not None:
            payload += wire.attr_u32(IFLA_TXQLEN, txqlen)
        if master is not None:
            payload += wire.attr_u32(IFLA_MASTER, master)
        if name:
            payload += wire.attr_str(IFLA_IFNAME, name)
        if netns_fd >= 0:
            payload += wire.attr_u32(IFLA_NET_NS_FD, netns_fd)
        self.nl.request(RTM_NEWLINK, payload)

    def set_up(self, index: int) -> None:
        self.set_link(index, up=True)

    def set_bridge_port(
        self, index: int, *, hairpin: bool | None = None, isolated: bool | None = None
    ) -> None:
        """Bridge-port flags of an enslaved link (IFLA_PROTINFO, like Go's LinkSetHairpin)."""
        attrs = b""
        if hairpin is not None:
            attrs += wire.attr_u8(IFLA_BRPORT_MODE, int(hairpin))
        if isolated is not None:
            attrs += wire.attr_u8(IFLA_BRPORT_ISOLATED, int(isolated))
        payload = ifinfomsg(index, family=AF_BRIDGE) + wire.nested(IFLA_PROTINFO | NLA_F_NESTED, attrs)
        self.nl.request(RTM_SETLINK, payload)

    def del_link(self, index: int = 0, name: str = "") -> bool:
        """Delete a link by index or name; False when there is no such link."""
        payload = ifinfomsg(index) + (wire.attr_str(IFLA_IFNAME, name) if name and not index else b"")
        try:
            self.nl.request(RTM_DELLINK, payload)
        except NetlinkError as err:
            if is_not_found(err):
                return False
            raise
        return True

    # -- bridge VLANs (kernels with bridge VLAN filtering) ---------------------------------------

    def bridge_vlans(self, index: int) -> list[int]:
        """The VLAN IDs of a bridge port."""
        payload = ifinfomsg(family=AF_BRIDGE) + wire.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN)
        vids = []
        for kind, body in self.nl.dump(RTM_GETLINK, payload):
            if kind != RTM_NEWLINK or IFINFOMSG.unpack_from(body)[2] != index:
                continue
            spec = wire.attr_map(body, IFINFOMSG.size).get(IFLA_AF_SPEC, b"")
            vids += [
                BRIDGE_VLAN_INFO.unpack_from(v)[1] for k, v in wire.attrs(spec) if k == IFLA_BRIDGE_VLAN_INFO
            ]
        return vids

    def set_bridge_vlan(
        self, index: int, vid: int, *, add: bool = True, pvid: bool = False, untagged: bool = False
    ) -> None:
        """Add (or delete) one VLAN of a bridge port (Go's BridgeVlanAdd / BridgeVlanDel)."""
        flags = (BRIDGE_VLAN_INFO_PVID if pvid else 0) | (BRIDGE_VLAN_INFO_UNTAGGED if untagged else 0)
        info = wire.attr(IFLA_BRIDGE_VLAN_INFO, BRIDGE_VLAN_INFO.pack(flags, vid))
        payload = ifinfomsg(index, family=AF_BRIDGE) + wire.nested(IFLA_AF_SPEC, info)
        self.nl.request(RTM_SETLINK if add else RTM_DELLINK, payload)

    # -- addresses -------------------------------------------------------------------------------

    def addrs(self, index: int = 0, family: int = AF_UNSPEC) -> list[Addr]:
        """Addresses of one link (every link's when `index` is 0), in the kernel's order."""
        payload = IFADDRMSG.pack(family, 0, 0, 0, 0)
        found = [
            decode_addr(body) for kind, body in self.nl.dump(RTM_GETADDR, payload) if kind == RTM_NEWADDR
        ]
        return [a for a in found if (not index or a.index == index) and (not family or a.family == family)]

    @staticmethod
    def _addr_payload(index: int, cidr: str) -> bytes:
        iface = ipaddress.ip_interface(cidr)
        family = AF_INET6 if iface.version == 6 else AF_INET
        prefix = iface.network.prefixlen
        packed = iface.ip.packed
        payload = IFADDRMSG.pack(family, prefix, 0, RT_SCOPE_UNIVERSE, index)
        payload += wire.attr(IFA_LOCAL, packed) + wire.attr(IFA_ADDRESS, packed)
        if family == AF_INET and prefix < 31:  # like Go's netlink: the broadcast address goes too
            payload += wire.attr(IFA_BROADCAST, iface.network.broadcast_address.packed)
        return payload

    def add_addr(self, index: int, cidr: str) -> None:
        """Add "ip/prefix" to a link; EEXIST when it is there already."""
        self.nl.request(RTM_NEWADDR, self._addr_payload(index, cidr), NLM_F_CREATE | NLM_F_EXCL)

    def del_addr(self, index: int, cidr: str) -> None:
        self.nl.request(RTM_DELADDR, self._addr_payload(index, cidr))

    # -- routes ----------------------------------------------------------------------------------

    def routes(self, family: int = AF_UNSPEC, table: int = RT_TABLE_MAIN) -> list[Route]:
        """Routes of one table (every table's when `table` is 0)."""
        payload = RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        found = [
            decode_route(body) for kind, body in self.nl.dump(RTM_GETROUTE, payload) if kind == RTM_NEWROUTE
        ]
        return [r for r in found if (not table or r.table == table) and (not family or r.family == family)]

    @staticmethod
    def _route_payload(
        dst: str, oif: int, gateway: str, priority: int, table: int, scope: int, protocol: int
    ) -> bytes:
        network = ipaddress.ip_network(dst, strict=False)
        family = AF_INET6 if network.version == 6 else AF_INET
        header_table = table if table < 256 else 0
        payload = RTMSG.pack(family, network.prefixlen, 0, 0, header_table, protocol, scope, RTN_UNICAST, 0)
        if network.prefixlen:
            payload += wire.attr(RTA_DST, network.network_address.packed)
        if gateway:
            payload += wire.attr(RTA_GATEWAY, _socket.inet_pton(family, gateway))
        if oif:
            payload += wire.attr_u32(RTA_OIF, oif)
        if priority:
            payload += wire.attr_u32(RTA_PRIORITY, priority)
        return payload + wire.attr_u32(RTA_TABLE, table)

    def add_route(
        self,
        dst: str,
        *,
        oif: int = 0,
        gateway: str = "",
        priority: int = 0,
        table: int = RT_TABLE_MAIN,
        scope: int = RT_SCOPE_UNIVERSE,
        protocol: int = RTPROT_BOOT,
        replace: bool = False,
    ) -> None:
        """Add a route to `dst` ("net/prefix"). Without `replace` a route to the same destination
        through another gateway is added beside the existing ones (NLM_F_APPEND, as ConfigureIface
        needs); with it the existing one is replaced."""
        payload = self._route_payload(dst, oif, gateway, priority, table, scope, protocol)
        self.nl.request(RTM_NEWROUTE, payload, NLM_F_CREATE | (NLM_F_REPLACE if replace else NLM_F_APPEND))

    def del_route(
        self, dst: str, *, oif: int = 0, gateway: str = "", priority: int = 0, table: int = RT_TABLE_MAIN
    ) -> None:
        payload = self._route_payload(dst, oif, gateway, priority, table, RT_SCOPE_NOWHERE, 0)
        self.nl.request(RTM_DELROUTE, payload)

    def route_to(self, ip: str) -> Route | None:
        """The route the kernel would take to `ip` (`ip route get`); None when unreachable."""
        address = ipaddress.ip_address(ip)
        family = AF_INET6 if address.version == 6 else AF_INET
        payload = RTMSG.pack(family, address.max_prefixlen, 0, 0, 0, 0, 0, 0, 0)
        payload += wire.attr(RTA_DST, address.packed)
        try:
            replies = self.nl.request(RTM_GETROUTE, payload)
        except NetlinkError as err:
            if err.errno in UNREACHABLE:
                return None
            raise
        return next((decode_route(body) for kind, body in replies if kind == RTM_NEWROUTE), None)
