"""The host side of the bridge plugin: the bridge, its ports, its gateway addresses."""

from __future__ import annotations

import errno
import ipaddress

from libcni.types.errors import CNIError, ErrCode
from pkg import sysctl
from pkg.link import create_veth
from pkg.netlink import NetlinkError, is_exists, to_cni_error
from pkg.netlink.constants import AF_INET, AF_INET6

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~2-3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from pkg.netlink import Link, Rtnl
    from pkg.ns import NetNS


class VlanUnsupported(CNIError):
    """The kernel has no bridge VLAN filtering (EOPNOTSUPP)."""


def _error(what: str, err: NetlinkError) -> CNIError:
    mapped = to_cni_error(err, what)
    if err.errno == errno.EOPNOTSUPP:
        return VlanUnsupported(mapped.code, mapped.msg, mapped.details)
    return mapped


def bridge_by_name(nl: Rtnl, name: str) -> Link:
    link = nl.get_link(name)
    if link is None:
        raise CNIError(ErrCode.INTERNAL, f'could not lookup "{name}": Link not found')
    if link.kind != "bridge":
        raise CNIError(ErrCode.INTERNAL, f'"{name}" already exists but is not a bridge')
    return link


def ensure_bridge(nl: Rtnl, name: str, mtu: int, promisc: bool, vlan_filtering: bool) -> Link:
    """Create the bridge unless it exists (an existing one is reused as is), set it up."""
    link = nl.get_link(name)  # the common case: it exists, and one lookup is all it costs
    if link is None:
        try:
            nl.add_bridge(name, mtu=mtu, vlan_filtering=vlan_filtering)
        except NetlinkError as err:
            if not is_exists(err):  # a concurrent ADD may have just created it
                raise _error(f'failed to create bridge "{name}": could not add "{name}"', err) from None
    try:
        link = bridge_by_name(nl, name) if link is None or link.kind != "bridge" else link
    except CNIError as err:
        raise CNIError(err.code, f'failed to create bridge "{name}": {err.msg}') from None
    if promisc and not link.promisc:
        try:
            nl.set_link(link.index, promisc=True)
        except NetlinkError as err:
            raise to_cni_error(
                err, f'failed to create bridge "{name}": could not set promiscuous mode'
            ) from None
    try:
        sysctl.write(f"net/ipv6/conf/{name}/accept_ra", "0")  # we own this interface's routes
    except OSError:
        pass
    if not link.up:
        try:
            nl.set_up(link.index)
        except NetlinkError as err:
            raise to_cni_error(err, f'failed to set bridge "{name}" up') from None
    return link


def setup_port(
    nl: Rtnl,
    index: int,
    name: str,
    *,
    hairpin: bool,
    isolated: bool,
    vlan: int,
    vlans: list[int],
    preserve_default_vlan: bool,
) -> None:
    """Bridge-port flags (always set explicitly) and VLAN entries of the host veth."""
    try:
        nl.set_bridge_port(index, hairpin=hairpin, isolated=isolated)
    except NetlinkError as err:
        raise to_cni_error(err, f"failed to setup hairpin mode for {name}") from None
    if not (vlan or vlans):
        return
    try:
        if not preserve_default_vlan:
            for vid in nl.bridge_vlans(index):
                nl.set_bridge_vlan(index, vid, add=False)
    except NetlinkError as err:
        raise _error(f'failed to remove default vlan on interface "{name}"', err) from None
    entries: list[tuple[int, bool]] = []
    if vlan:
        entries.append((vlan, True))
    entries += [(vid, False) for vid in vlans]
    if not vlan:
        entries.append((1, True))  # a trunk without `vlan` keeps VID 1 as its native VLAN
    for vid, native in entries:
        try:
            nl.set_bridge_vlan(index, vid, pvid=native, untagged=native)
        except NetlinkError as err:
            raise _error(f'failed to setup vlan tag on interface "{name}"', err) from None


def ensure_addr(nl: Rtnl, link: Link, family: int, gateway: str, force: bool) -> None:
    """Put `gateway` ('ip/prefix') on the bridge with Go's conflict rules, then pin its MAC."""
    name = link.name
    wanted = ipaddress.ip_interface(gateway)
    index = link.index
    for addr in nl.addrs(index, AF_INET if family == 4 else AF_INET6):
        existing = ipaddress.ip_interface(addr.cidr)
        if existing == wanted:
            return
        if family == 4 or existing.ip in wanted.network or wanted.ip in existing.network:
            if not force:
                raise CNIError(
                    ErrCode.INTERNAL, f'"{name}" already has an IP address different from {wanted}'
                )
            try:
                nl.del_addr(index, addr.cidr)
            except NetlinkError as err:
                raise to_cni_error(err, f'could not remove IP address from "{name}"') from None
    try:
        nl.add_addr(index, str(wanted))
    except NetlinkError as err:
        if not is_exists(err):
            raise to_cni_error(err, f'could not add IP address {wanted} to "{name}"') from None
    try:
        # Pin the MAC: a bridge otherwise takes the lowest port MAC, which changes as ports churn.
        nl.set_link(index, mac=link.mac)
    except NetlinkError as err:
        raise to_cni_error(err, "could not set bridge's mac") from None


def ensure_vlan_gateway(nl: Rtnl, bridge: Link, vlan: int, preserve_default_vlan: bool, host: NetNS) -> Link:
    """The `<bridge>.<vlan>` veth that carries the gateway address of a VLAN (created once)."""
    name = f"{bridge.name}.{vlan}"
    link = nl.get_link(name)
    if link is not None:
        return link
    port = create_veth(nl, name, host, mtu=bridge.mtu, master=bridge.index, up=True)
    port_link = lookup(nl, port)
    setup_port(
        nl,
        port_link.index,
        port,
        hairpin=False,
        isolated=False,
        vlan=vlan,
        vlans=[],
        preserve_default_vlan=preserve_default_vlan,
    )
    link = lookup(nl, name)
    try:
        nl.set_up(link.index)
    except NetlinkError as err:
        raise to_cni_error(err, f'failed to set "{name}" up') from None
    return lookup(nl, name)


def lookup(nl: Rtnl, name: str) -> Link:
    link = nl.get_link(name)
    if link is None:
        raise CNIError(ErrCode.INTERNAL, f'failed to lookup "{name}": Link not found')
    return link
