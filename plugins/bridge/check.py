"""CHECK: the bridge, the container veth, its host peer and the addresses/routes still match."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libcni.skel import CmdArgs
from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import Interface, IPConfig, Result, Route

from .config import BridgeRecord

if TYPE_CHECKING:  # pragma: no cover
    from pyroute2 import IPRoute

    from pkg.ns import NetNS

AF_INET, AF_INET6 = 2, 10


def _fail(message: str) -> CNIError:
    return CNIError(ErrCode.INTERNAL, message)


@dataclass
class Found:
    name: str = ""
    index: int = 0
    peer_index: int = 0
    master_index: int = 0
    found: bool = False


def _lookup(ipr: IPRoute, iface: Interface, in_sandbox: bool) -> Any:
    from pkg.link import get_link

    if not iface.name:
        raise _fail("Interface name missing ")
    link = get_link(ipr, iface.name)
    if link is None:
        raise _fail(f"Interface name {iface.name} not found")
    if in_sandbox and not iface.sandbox:
        raise _fail(f"Interface {iface.name} is expected to be in a sandbox")
    if not in_sandbox and iface.sandbox:
        raise _fail(f"Interface {iface.name} should not be in sandbox")
    return link


def check_bridge(ipr: IPRoute, iface: Interface, conf: BridgeRecord) -> Found:
    from pkg.link import is_promisc, kind, mac

    link = _lookup(ipr, iface, in_sandbox=False)
    if kind(link) != "bridge":
        raise _fail(f"Interface {iface.name} does not have link type of bridge")
    if iface.mac and iface.mac != mac(link):
        raise _fail(f"Bridge interface {iface.name} Mac doesn't match: {iface.mac}")
    if is_promisc(link) != conf.promiscMode:
        raise _fail(
            f"Bridge interface {iface.name} configured Promisc Mode {str(conf.promiscMode).lower()} "
            f"doesn't match current state: {str(is_promisc(link)).lower()} "
        )
    return Found(iface.name, link["index"], 0, link.get("master") or 0, True)


def check_container(cipr: IPRoute, iface: Interface) -> Found:
    from pkg.link import kind, mac, peer_index

    link = _lookup(cipr, iface, in_sandbox=True)
    if kind(link) != "veth":
        raise _fail(f"Error: Container interface {iface.name} not of type veth")
    if iface.mac and iface.mac != mac(link):
        raise _fail(f"Interface {iface.name} Mac {iface.mac} doesn't match container Mac: {mac(link)}")
    return Found(iface.name, link["index"], peer_index(link), 0, True)


def check_host_veth(ipr: IPRoute, iface: Interface, bridge: Found, container: Found) -> Found:
    from pkg.link import kind, mac, peer_index

    link = _lookup(ipr, iface, in_sandbox=False)
    if kind(link) != "veth":
        return Found()  # not something we created: skip it
    found = Found(iface.name, link["index"], peer_index(link), link.get("master") or 0)
    if found.index != container.peer_index or container.index != found.peer_index:
        return found
    if found.master_index != bridge.index:
        return found
    if iface.mac and iface.mac != mac(link):
        raise _fail(f"Interface {iface.name} Mac doesn't match: {iface.mac} not found")
    found.found = True
    return found


def check(args: CmdArgs, conf: BridgeRecord, netns: NetNS, prev: Result) -> None:
    from pkg.netlink import iproute

    bridge_entry = Interface()
    container_entry = Interface()
    for iface in prev.interfaces:
        if iface.name == conf.bridge:
            bridge_entry = iface
        elif iface.name == args.ifname and iface.sandbox == args.netns:
            container_entry = iface

    ipr = iproute()
    cipr = netns.iproute()
    try:
        bridge = check_bridge(ipr, bridge_entry, conf)
        if container_entry.sandbox != args.netns:
            sandbox = container_entry.sandbox
            raise _fail(f"Sandbox in prevResult {sandbox} doesn't match configured netns: {args.netns}")
        container = check_container(cipr, container_entry)
        veth = Found()
        for iface in prev.interfaces:
            if iface.name in (bridge_entry.name, container_entry.name):
                continue
            veth = check_host_veth(ipr, iface, bridge, container)
            if veth.found:
                break
        if not bridge.found:
            raise _fail(f"CNI created bridge {conf.bridge} in host namespace was not found")
        if not container.found:
            raise _fail(f"CNI created interface in container {args.ifname} not found")
        if not veth.found:
            raise _fail(f"CNI veth created for bridge {conf.bridge} was not found")
        check_addresses(cipr, args.ifname, prev.ips)
        check_routes(cipr, prev.routes)
    finally:
        cipr.close()
        ipr.close()


def check_addresses(cipr: IPRoute, ifname: str, ips: list[IPConfig]) -> None:
    """Every IP is on the interface with its prefix, and a route to its subnet exists."""
    from pkg.link import get_link, link_addresses

    if not ips:
        return
    link = get_link(cipr, ifname)
    if link is None:
        raise _fail(f"Cannot find container link {ifname}")
    present = {ipaddress.ip_interface(f"{a}/{p}") for a, p, _ in link_addresses(cipr, link["index"])}
    for ipc in ips:
        wanted = ipaddress.ip_interface(ipc.address)
        if wanted not in present:
            raise _fail(f"Failed to match addr {ipc.address} on interface {ifname}")
        if not _routes_to(cipr, wanted.version, str(wanted.network)):
            raise _fail(f"Failed to find Gateway {ipc.gateway or '<nil>'} for interface {ifname}")


def check_routes(cipr: IPRoute, routes: list[Route]) -> None:
    """Every route of the result is in the table (default routes matched by destination only)."""
    for route in routes:
        network = ipaddress.ip_network(route.dst, strict=False)
        gateway = "" if network.prefixlen == 0 else route.gw
        if not _routes_to(cipr, network.version, str(network), gateway, route.table):
            raise _fail(
                f"Expected Route {{Dst:{route.dst} GW:{route.gw or '<nil>'}}} not found in routing table"
            )


def _routes_to(cipr: IPRoute, version: int, dst: str, gateway: str = "", table: int | None = None) -> bool:
    network = ipaddress.ip_network(dst)
    family = AF_INET6 if version == 6 else AF_INET
    for route in cipr.get_routes(family=family, table=table or 254):
        if (route.get("table") or route.get("RTA_TABLE")) != (table or 254):
            continue
        route_dst = route.get("dst") or route.get("RTA_DST")
        prefix = route["dst_len"]
        if prefix != network.prefixlen:
            continue
        if prefix and (route_dst is None or ipaddress.ip_address(route_dst) != network.network_address):
            continue
        if gateway and route.get("gateway") != gateway and not _in_multipath(route, gateway):
            continue
        return True
    return False


def _in_multipath(route: Any, gateway: str) -> bool:
    return any(hop.get("gateway") == gateway for hop in route.get("multipath") or [])
