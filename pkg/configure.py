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

from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import Result

from . import sysctl
from .netlink import NetlinkError, to_cni_error
from .netlink.constants import AF_INET6, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTPROT_BOOT

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~2-3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from .netlink import Link, Rtnl
    from .ns import NetNS

DAD_SETTLE_TIMEOUT = 5.0
SETTLE_INTERVAL = 0.05


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


def settle_addresses(nl: Rtnl, ifname: str, index: int, timeout: float = DAD_SETTLE_TIMEOUT) -> None:
    """Wait until no IPv6 address of the link is tentative (Go's ip.SettleAddresses)."""
    deadline = time.monotonic() + timeout
    while True:
        tentative = False
        for addr in nl.addrs(index, AF_INET6):
            if addr.dad_failed:
                raise CNIError(
                    ErrCode.INTERNAL, f"link {ifname} has address {addr.address} in DADFAILED state"
                )
            if addr.tentative:
                tentative = True
        if not tentative:
            return
        if time.monotonic() > deadline:
            link = nl.get_link(ifname)
            if link is not None and link.operstate == "up":
                raise CNIError(
                    ErrCode.INTERNAL,
                    f"link {ifname} still has tentative addresses after {timeout:g} seconds",
                )
            return
        time.sleep(SETTLE_INTERVAL)


def configure_iface(nl: Rtnl, netns: NetNS, ifname: str, result: Result, link: Link | None = None) -> None:
    """Configure `ifname` (inside `netns`, reached through `nl`) from `result`.

    `link` is the interface's record when the caller already has it (saves a lookup)."""
    if not result.interfaces:
        raise CNIError(ErrCode.INTERNAL, "no interfaces to configure")
    link = link if link is not None else nl.get_link(ifname)
    if link is None:
        raise CNIError(ErrCode.INTERNAL, f'failed to lookup "{ifname}": Link not found')
    index = link.index

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
            nl.add_addr(index, ipc.address)
        except NetlinkError as err:
            raise to_cni_error(err, f'failed to add IP addr {ipc.address} to "{ifname}"') from None
        if ipc.gateway:
            gateways.setdefault(ipc.family, ipc.gateway)

    try:
        nl.set_up(index)
    except NetlinkError as err:
        raise to_cni_error(err, f'failed to set "{ifname}" UP') from None

    if 6 in gateways:
        try:
            settle_addresses(nl, ifname, index)
        except CNIError as err:
            raise CNIError(
                ErrCode.INTERNAL, f'failed to settle addresses for "{ifname}": {err.msg}'
            ) from None

    for route in result.routes:
        family = ipaddress.ip_network(route.dst, strict=False).version
        gateway = route.gw or gateways.get(family, "")
        try:
            nl.add_route(
                route.dst,
                oif=index,
                gateway=gateway,
                priority=route.priority or 0,
                table=route.table if route.table is not None else RT_TABLE_MAIN,
                scope=route.scope if route.scope is not None else RT_SCOPE_UNIVERSE,
                protocol=RTPROT_BOOT,
            )
        except NetlinkError as err:
            what = f"{route.dst} via {gateway or '<nil>'} dev {ifname} metric {route.priority}"
            raise to_cni_error(err, f"failed to add route '{what}'") from None
