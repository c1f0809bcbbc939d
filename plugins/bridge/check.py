"""CHECK: the bridge, the container veth, its host peer and the addresses/routes still match."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from libcni.skel import CmdArgs
from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import Interface, IPConfig, Result, Route

from .config import BridgeRecord

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~2-3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from pkg.netlink import Link, Rtnl
    from pkg.ns import NetNS


def _fail(message: str) -> CNIError:
    return CNIError(ErrCode.INTERNAL, message)


@dataclass
class Found:
    name: str = ""
    index: int = 0
    peer_index: int = 0
    master_index: int = 0
    found: bool = False


def _lookup(nl: Rtnl, iface: Interface, in_sandbox: bool) -> Link:
    if not iface.name:
        raise _fail("Interface name missing ")
    link = nl.get_link(iface.name)
    if link is None:
        raise _fail(f"Interface name {iface.name} not found")
    if in_sandbox and not iface.sandbox:
        raise _fail(f"Interface {iface.name} is expected to be in a sandbox")
    if not in_sandbox and iface.sandbox:
        raise _fail(f"Interface {iface.name} should not be in sandbox")
    return link


def check_bridge(nl: Rtnl, iface: Interface, conf: BridgeRecord) -> Found:
    link = _lookup(nl, iface, in_sandbox=False)
    if link.kind != "bridge":
        raise _fail(f"Interface {iface.name} does not have link type of bridge")
    if iface.mac and iface.mac != link.mac:
        raise _fail(f"Bridge interface {iface.name} Mac doesn't match: {iface.mac}")
    if link.promisc != conf.promiscMode:
        raise _fail(
            f"Bridge interface {iface.name} configured Promisc Mode {str(conf.promiscMode).lower()} "
            f"doesn't match current state: {str(link.promisc).lower()} "
        )
    return Found(iface.name, link.index, 0, link.master, True)


def check_container(cnl: Rtnl, iface: Interface) -> Found:
    link = _lookup(cnl, iface, in_sandbox=True)
    if link.kind != "veth":
        raise _fail(f"Error: Container interface {iface.name} not of type veth")
    if iface.mac and iface.mac != link.mac:
        raise _fail(f"Interface {iface.name} Mac {iface.mac} doesn't match container Mac: {link.mac}")
    return Found(iface.name, link.index, link.peer_index, 0, True)


def check_host_veth(nl: Rtnl, iface: Interface, bridge: Found, container: Found) -> Found:
    link = _lookup(nl, iface, in_sandbox=False)
    if link.kind != "veth":
        return Found()  # not something we created: skip it
    found = Found(iface.name, link.index, link.peer_index, link.master)
    if found.index != container.peer_index or container.index != found.peer_index:
        return found
    if found.master_index != bridge.index:
        return found
    if iface.mac and iface.mac != link.mac:
        raise _fail(f"Interface {iface.name} Mac doesn't match: {iface.mac} not found")
    found.found = True
    return found


def check(args: CmdArgs, conf: BridgeRecord, netns: NetNS, prev: Result) -> None:
    from pkg.netlink import Rtnl

    bridge_entry = Interface()
    container_entry = Interface()
    for iface in prev.interfaces:
        if iface.name == conf.bridge:
            bridge_entry = iface
        elif iface.name == args.ifname and iface.sandbox == args.netns:
            container_entry = iface

    nl = Rtnl.open()
    cnl = netns.rtnl()
    try:
        bridge = check_bridge(nl, bridge_entry, conf)
        if container_entry.sandbox != args.netns:
            sandbox = container_entry.sandbox
            raise _fail(f"Sandbox in prevResult {sandbox} doesn't match configured netns: {args.netns}")
        container = check_container(cnl, container_entry)
        veth = Found()
        for iface in prev.interfaces:
            if iface.name in (bridge_entry.name, container_entry.name):
                continue
            veth = check_host_veth(nl, iface, bridge, container)
            if veth.found:
                break
        if not bridge.found:
            raise _fail(f"CNI created bridge {conf.bridge} in host namespace was not found")
        if not container.found:
            raise _fail(f"CNI created interface in container {args.ifname} not found")
        if not veth.found:
            raise _fail(f"CNI veth created for bridge {conf.bridge} was not found")
        check_addresses(cnl, args.ifname, prev.ips)
        check_routes(cnl, prev.routes)
    finally:
        cnl.close()
        nl.close()


def check_addresses(cnl: Rtnl, ifname: str, ips: list[IPConfig]) -> None:
    """Every IP is on the interface with its prefix, and a route to its subnet exists."""
    if not ips:
        return
    link = cnl.get_link(ifname)
    if link is None:
        raise _fail(f"Cannot find container link {ifname}")
    present = {ipaddress.ip_interface(addr.cidr) for addr in cnl.addrs(link.index)}
    for ipc in ips:
        wanted = ipaddress.ip_interface(ipc.address)
        if wanted not in present:
            raise _fail(f"Failed to match addr {ipc.address} on interface {ifname}")
        if not _routes_to(cnl, wanted.version, str(wanted.network)):
            raise _fail(f"Failed to find Gateway {ipc.gateway or '<nil>'} for interface {ifname}")


def check_routes(cnl: Rtnl, routes: list[Route]) -> None:
    """Every route of the result is in the table (default routes matched by destination only)."""
    for route in routes:
        network = ipaddress.ip_network(route.dst, strict=False)
        gateway = "" if network.prefixlen == 0 else route.gw
        if not _routes_to(cnl, network.version, str(network), gateway, route.table):
            raise _fail(
                f"Expected Route {{Dst:{route.dst} GW:{route.gw or '<nil>'}}} not found in routing table"
            )


def _routes_to(cnl: Rtnl, version: int, dst: str, gateway: str = "", table: int | None = None) -> bool:
    from pkg.netlink.constants import AF_INET, AF_INET6, RT_TABLE_MAIN

    network = ipaddress.ip_network(dst)
    via = ipaddress.ip_address(gateway) if gateway else None
    for route in cnl.routes(AF_INET6 if version == 6 else AF_INET, table or RT_TABLE_MAIN):
        if ipaddress.ip_network(route.dst) != network:
            continue
        if via is not None and via not in {ipaddress.ip_address(gw) for gw in route.gateways}:
            continue
        return True
    return False
