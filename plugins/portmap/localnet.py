"""route_localnet on the host interface that routes to the container, so that 127.0.0.1:hostPort,
DNAT-ed to the container, may cross the routing boundary (Go's getRoutableHostIF +
enableLocalnetRouting). The route is looked up like `ip route get` (pkg/netlink).
"""

from __future__ import annotations

from libcni.types.errors import CNIError, ErrCode
from pkg import sysctl
from pkg.netlink import NetlinkError, Rtnl


def route_interface(ip: str) -> str:
    """The name of the interface the kernel would use to reach `ip`; '' when there is none."""
    try:
        with Rtnl.open() as nl:
            route = nl.route_to(ip)
            link = nl.get_link_by_index(route.oif) if route is not None and route.oif else None
    except NetlinkError:
        return ""  # Go ignores a failed lookup too: no route_localnet then
    return link.name if link is not None else ""


def enable_route_localnet(container_ip: str) -> None:
    ifname = route_interface(container_ip)
    if not ifname:
        return
    try:
        sysctl.write(f"net/ipv4/conf/{ifname}/route_localnet", "1")
    except OSError as err:
        raise CNIError(ErrCode.INTERNAL, f"unable to enable route_localnet: {err}") from None
