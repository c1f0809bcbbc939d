"""Apply an IPAM result to an interface inside a netns (Go's ipam.ConfigureIface).

Addresses (IPv6 enabled first, with keep_addr_on_down), link up, IPv6 DAD settle when there is
an IPv6 gateway, then routes. Routes are added like Go's netlink: protocol boot, main table,
universe scope unless the result says otherwise, no NLM_F_EXCL (same-destination routes with
other gateways are added next to each other).
"""

from __future__ import annotations

import ipaddress
import sys
import time
from typing import TYPE_CHECKING, Any

from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import Result, Route

from . import sysctl
from .link import get_link, link_addresses

if TYPE_CHECKING:  # pragma: no cover
    from pyroute2 import IPRoute

    from .ns import NetNS

AF_INET6 = 10
IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40
RTPROT_BOOT = 3
DAD_SETTLE_TIMEOUT = 5.0
SETTLE_INTERVAL = 0.05


def address_kwargs(cidr: str) -> dict[str, Any]:
    """pyroute2 addr() arguments for 'ip/prefix', with Go netlink's automatic IPv4 broadcast."""
    iface = ipaddress.ip_interface(cidr)
    kwargs: dict[str, Any] = {"address": str(iface.ip), "prefixlen": iface.network.prefixlen}
    if iface.version == 4 and iface.network.prefixlen < 31:
        kwargs["broadcast"] = str(iface.network.broadcast_address)
    return kwargs


def _enable_ipv6(netns: NetNS, ifname: str) -> None:
    with netns.entered():
        for name in ("lo", ifname):
            key = f"net/ipv6/conf/{name}/disable_ipv6"
            try:
                value = sysctl.read(key)
            except OSError as err:
                sys.stderr.write(f'ipam_linux: failed to read sysctl "{key}": {err}\n')
                continue
            if value == "0":
                continue
            try:
                sysctl.write(key, "0")
            except OSError as err:
                raise CNIError(
                    ErrCode.INTERNAL,
                    f'failed to enable IPv6 for interface "{name}" ({key}={value}): {err.strerror}',
                ) from None
        try:
            sysctl.write(f"net/ipv6/conf/{ifname}/keep_addr_on_down", "1")
        except OSError as err:
            raise CNIError(
                ErrCode.INTERNAL,
                f'failed to enable keep_addr_on_down for interface "{ifname}": {err.strerror}',
            ) from None


def settle_addresses(ipr: IPRoute, ifname: str, index: int, timeout: float = DAD_SETTLE_TIMEOUT) -> None:
    """Wait until no IPv6 address of the link is tentative (Go's ip.SettleAddresses)."""
    deadline = time.monotonic() + timeout
    while True:
        tentative = False
        for address, _, flags in link_addresses(ipr, index, AF_INET6):
            if flags & IFA_F_DADFAILED:
                raise CNIError(ErrCode.INTERNAL, f"link {ifname} has address {address} in DADFAILED state")
            if flags & IFA_F_TENTATIVE:
                tentative = True
        if not tentative:
            return
        if time.monotonic() > deadline:
            link = get_link(ipr, ifname)
            if link is not None and link.get("operstate") == "UP":
                raise CNIError(
                    ErrCode.INTERNAL,
                    f"link {ifname} still has tentative addresses after {timeout:g} seconds",
                )
            return
        time.sleep(SETTLE_INTERVAL)


def route_kwargs(route: Route, index: int, gateway: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"dst": route.dst, "oif": index, "proto": RTPROT_BOOT}
    if gateway:
        kwargs["gateway"] = gateway
    if route.priority:
        kwargs["priority"] = route.priority
    kwargs["table"] = route.table if route.table is not None else 254
    kwargs["scope"] = route.scope if route.scope is not None else 0
    return kwargs


def configure_iface(ipr: IPRoute, netns: NetNS, ifname: str, result: Result, link: Any = None) -> None:
    """Configure `ifname` (inside `netns`, reached through `ipr`) from `result`.

    `link` is the interface's link message when the caller already has it (saves a lookup)."""
    if not result.interfaces:
        raise CNIError(ErrCode.INTERNAL, "no interfaces to configure")
    link = link if link is not None else get_link(ipr, ifname)
    if link is None:
        raise CNIError(ErrCode.INTERNAL, f'failed to lookup "{ifname}": Link not found')
    index = link["index"]

    gateways: dict[int, str] = {}
    ipv6_enabled = False
    for ipc in result.ips:
        if ipc.interface is None:
            continue
        idx = ipc.interface
        if idx < 0 or idx >= len(result.interfaces) or result.interfaces[idx].name != ifname:
            raise CNIError(
                ErrCode.INTERNAL,
                f'failed to add IP addr {ipc.address} to "{ifname}": invalid interface index',
            )
        if not ipv6_enabled and ipc.family == 6:
            _enable_ipv6(netns, ifname)
            ipv6_enabled = True
        try:
            ipr.addr("add", index=index, **address_kwargs(ipc.address))
        except Exception as err:
            raise CNIError(
                ErrCode.INTERNAL, f'failed to add IP addr {ipc.address} to "{ifname}": {err}'
            ) from None
        if ipc.gateway:
            gateways.setdefault(ipc.family, ipc.gateway)

    try:
        ipr.link("set", index=index, state="up")
    except Exception as err:
        raise CNIError(ErrCode.INTERNAL, f'failed to set "{ifname}" UP: {err}') from None

    if 6 in gateways:
        try:
            settle_addresses(ipr, ifname, index)
        except CNIError as err:
            raise CNIError(
                ErrCode.INTERNAL, f'failed to settle addresses for "{ifname}": {err.msg}'
            ) from None

    for route in result.routes:
        family = ipaddress.ip_network(route.dst, strict=False).version
        gateway = route.gw or gateways.get(family, "")
        try:
            ipr.route("append", **route_kwargs(route, index, gateway))
        except Exception as err:
            raise CNIError(
                ErrCode.INTERNAL,
                f"failed to add route '{route.dst} via {gateway or '<nil>'} dev {ifname} "
                f"metric {route.priority}': {err}",
            ) from None
