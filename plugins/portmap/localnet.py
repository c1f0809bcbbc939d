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


# ---------------------------------------------------------------- the route_localnet guard (pure)
#
# route_localnet=1 lets packets to 127.0.0.0/8 be routed on that interface at all: a peer outside
# the host can then reach a hostPort through 127.0.0.1, and a container a host service bound only
# to 127.0.0.1 (plugins#481). The host's own connections to 127.0.0.1 arrive on `lo`; so one rule
# per host drops, before routing and before NAT, whatever arrives for 127.0.0.0/8 on another
# interface. It is never removed (route_localnet is never reset either).

GUARD_COMMENT = "CNI portmap: drop 127.0.0.0/8 not from lo (route_localnet guard)"
GUARD_NFT_TABLE = "cni_portmap_localnet_guard"


def iptables_guard_rule() -> str:
    return f'PREROUTING -d 127.0.0.0/8 ! -i lo -m comment --comment "{GUARD_COMMENT}" -j DROP'


def iptables_guard_batch(raw_table: str) -> list[str]:
    """An iptables-restore section putting the guard first in raw PREROUTING unless the saved raw
    table (`iptables-save -t raw`) already has it."""
    if GUARD_COMMENT in raw_table:
        return []
    return ["*raw", "-I " + iptables_guard_rule().replace("PREROUTING ", "PREROUTING 1 ", 1), "COMMIT"]


def nft_guard_lines() -> list[str]:
    """Idempotent in any transaction: the chain is flushed and refilled."""
    table = f"ip {GUARD_NFT_TABLE}"
    return [
        f'add table {table} {{ comment "{GUARD_COMMENT}" ; }}',
        f"add chain {table} prerouting {{ type filter hook prerouting priority raw ; policy accept ; }}",
        f"flush chain {table} prerouting",
        f'add rule {table} prerouting iifname != "lo" ip daddr 127.0.0.0/8 drop',
    ]
