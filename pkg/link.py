"""Links through pyroute2 (Go's pkg/ip link helpers): veth pairs, lookups, deletion.

The veth is created from the host netns with its peer born inside the container netns: one
netlink call, no move and no rename. Functions take an open IPRoute so a verb opens each
netlink socket once.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from typing import TYPE_CHECKING, Any

from libcni.types.errors import CNIError, ErrCode

from .netlink import is_exists, is_not_found, to_cni_error

if TYPE_CHECKING:  # pragma: no cover
    from pyroute2 import IPRoute

    from .ns import NetNS

VETH_NAME_TRIES = 10
IFF_PROMISC = 0x100


def random_veth_name() -> str:
    """`veth` + 8 lower-case hex digits, like Go's RandomVethName."""
    return "veth" + os.urandom(4).hex()


def get_link(ipr: IPRoute, name: str) -> Any | None:
    """The link message for `name`, or None when there is no such link."""
    try:
        return ipr.link("get", ifname=name)[0]
    except Exception as err:  # pyroute2's NetlinkError; imported lazily elsewhere
        if is_not_found(err):
            return None
        raise


def get_link_by_index(ipr: IPRoute, index: int) -> Any | None:
    try:
        return ipr.link("get", index=index)[0]
    except Exception as err:
        if is_not_found(err):
            return None
        raise


def kind(link: Any) -> str:
    """The link's kind ('bridge', 'veth', ...); '' for devices without one (lo, physical)."""
    return link.get(("linkinfo", "kind")) or ""


def mac(link: Any) -> str:
    return link.get("address") or ""


def peer_index(link: Any) -> int:
    """For a veth: the ifindex of its peer (valid in the peer's netns)."""
    return link.get("link") or 0


def is_promisc(link: Any) -> bool:
    return bool(link["flags"] & IFF_PROMISC)


def bridge_port_info(link: Any) -> dict[str, Any]:
    """The IFLA_BRPORT_* attributes of a bridge port (empty when it is not one)."""
    data = link.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_DATA")
    if data is None:
        return {}
    return {name: value for name, value in data.get("attrs", [])}


def create_veth(
    ipr: IPRoute,
    container_ifname: str,
    netns: NetNS,
    *,
    mtu: int = 0,
    container_mac: str = "",
    master: int = 0,
    up: bool = False,
    host_ifname: str = "",
) -> str:
    """Create a veth pair: the host end here, the `container_ifname` end inside `netns`.

    The host end gets a random name unless `host_ifname` is given; a random-name clash is
    retried like Go does. `master`/`up` are applied to the host end in the same request.
    Returns the host end's name."""
    peer: dict[str, Any] = {"ifname": container_ifname, "net_ns_fd": netns.fd}
    host: dict[str, Any] = {}
    if mtu > 0:
        peer["mtu"] = mtu
        host["mtu"] = mtu
    if container_mac:
        peer["address"] = container_mac
    if master:
        host["master"] = master
    if up:
        host["state"] = "up"
    name = host_ifname
    for _ in range(VETH_NAME_TRIES):
        name = host_ifname or random_veth_name()
        try:
            ipr.link("add", ifname=name, kind="veth", peer=peer, **host)
            return name
        except Exception as err:
            if not is_exists(err):
                raise to_cni_error(err, "failed to make veth pair") from None
            if not host_ifname and get_link(ipr, name) is not None:
                continue  # our random host name was taken: try another
            raise CNIError(
                ErrCode.INTERNAL,
                f'container veth name ("{container_ifname}") peer provided ("{name}") already exists',
            ) from None
    raise CNIError(ErrCode.INTERNAL, "failed to find a unique veth name")


def global_unicast(address: str) -> bool:
    """Go's IP.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or broadcast."""
    ip = ipaddress.ip_address(address)
    if ip.is_unspecified or ip.is_loopback or ip.is_multicast or ip.is_link_local:
        return False
    return not (ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255"))


def link_addresses(ipr: IPRoute, index: int, family: int = 0) -> list[tuple[str, int, int]]:
    """(address, prefix length, IFA flags) of one link, in kernel order."""
    out = []
    kwargs: dict[str, Any] = {"index": index}
    if family:
        kwargs["family"] = family
    for msg in ipr.get_addr(**kwargs):
        if msg.get("index") != index:
            continue
        address = msg.get("IFA_ADDRESS") if msg["family"] == 10 else msg.get("IFA_LOCAL")
        address = address or msg.get("IFA_ADDRESS")
        flags = msg.get("IFA_FLAGS")
        out.append((address, msg["prefixlen"], flags if flags is not None else msg["flags"]))
    return out


def delete_link_by_name_addrs(ipr: IPRoute, name: str) -> list[str] | None:
    """Delete a link and return its global unicast addresses as 'ip/prefix'; None if it is absent."""
    link = get_link(ipr, name)
    if link is None:
        return None
    addrs = [
        f"{address}/{prefix}"
        for address, prefix, _ in link_addresses(ipr, link["index"])
        if global_unicast(address)
    ]
    try:
        ipr.link("del", index=link["index"])
    except Exception as err:
        if not is_not_found(err):
            raise to_cni_error(err, f'failed to delete "{name}"') from None
    return addrs


_RTM_DELLINK = 17
_NLMSG_ERROR = 2
_NLM_F_REQUEST_ACK = 0x1 | 0x4
_IFLA_IFNAME = 3


def delete_link_on_socket(sock: socket.socket, name: str) -> bool:
    """Delete a link by name on a bare NETLINK_ROUTE socket; False when it does not exist.

    One hand-built RTM_DELLINK: DEL needs nothing else from netlink, and this spares it the
    pyroute2 import (the largest part of a DEL's time)."""
    encoded = name.encode() + b"\0"
    attr_len = 4 + len(encoded)
    attr = struct.pack("HH", attr_len, _IFLA_IFNAME) + encoded + b"\0" * (-attr_len % 4)
    body = struct.pack("BxHiII", 0, 0, 0, 0, 0) + attr
    seq = int.from_bytes(os.urandom(4), "little")
    sock.sendto(struct.pack("IHHII", 16 + len(body), _RTM_DELLINK, _NLM_F_REQUEST_ACK, seq, 0) + body, (0, 0))
    while True:
        data = sock.recv(65536)
        offset = 0
        while offset + 16 <= len(data):
            length, msg_type, _, msg_seq, _ = struct.unpack_from("IHHII", data, offset)
            if msg_type == _NLMSG_ERROR and msg_seq == seq:
                (error,) = struct.unpack_from("i", data, offset + 16)
                if error == 0:
                    return True
                if -error in (errno.ENODEV, errno.ENOENT):
                    return False
                raise CNIError(ErrCode.INTERNAL, f'failed to delete "{name}": {os.strerror(-error)}')
            offset += max(length, 16) + (-length % 4)


def delete_link(ipr: IPRoute, name: str) -> bool:
    """Delete a link by name; False when it was already gone."""
    try:
        ipr.link("del", ifname=name)
    except Exception as err:
        if is_not_found(err):
            return False
        raise to_cni_error(err, f'failed to delete "{name}"') from None
    return True
