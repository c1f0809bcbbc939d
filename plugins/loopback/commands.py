"""loopback verbs: ADD sets `lo` up and reports its addresses, DEL sets it down, CHECK wants it up.

Like Go's plugin, CNI_IFNAME is ignored (always `lo`), and only ADD decodes the config. GC and
STATUS have no handler: they succeed once the skeleton accepted the config (Go's FIXMEs).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from libcni.types.errors import CNIError, ErrCode
from pkg import rtnl
from pkg.ns import NetNS, NetNSNotFound

IFNAME = "lo"  # whatever CNI_IFNAME says

if TYPE_CHECKING:  # pragma: no cover
    from libcni.skel import CmdArgs
    from libcni.types.results import AnyResult


def _lo_socket(netns_path: str) -> socket.socket:
    """A NETLINK_ROUTE socket in the container's netns."""
    with NetNS.open(netns_path) as netns:
        return netns.netlink_socket()


def cmd_add(args: CmdArgs) -> AnyResult | bytes:
    from plugins.loopback.config import load
    from plugins.loopback.report import loopback_addresses, render

    conf = load(args)
    with _lo_socket(args.netns) as sock:
        index, _ = rtnl.link_by_name(sock, IFNAME)
        rtnl.set_up(sock, index, True)
        v4, v6 = loopback_addresses(rtnl.addresses(sock, index))
    if conf.prev_result is not None:
        return conf.prev_result  # passed through, printed in the config's version
    if conf.cni_version:
        return render(conf.cni_version, args.netns, v4, v6)
    return _newest_result(args.netns, v4, v6)


def _newest_result(sandbox: str, v4: str | None, v6: str | None) -> AnyResult:
    """A config without cniVersion: Go's result then says the newest version and is converted
    to 0.1.0 (ip4/ip6) by the skeleton."""
    from libcni.types.results import Interface, IPConfig, Result
    from libcni.types.version import CURRENT
    from plugins.loopback.report import MAC

    ips = [IPConfig(interface=0, address=address) for address in (v4, v6) if address is not None]
    return Result(cniVersion=CURRENT, interfaces=[Interface(name=IFNAME, mac=MAC, sandbox=sandbox)], ips=ips)


def cmd_del(args: CmdArgs) -> None:
    if not args.netns:
        return
    try:
        sock = _lo_socket(args.netns)
    except NetNSNotFound:
        return  # the runtime already removed the netns (kubernetes#43014)
    with sock:
        index, _ = rtnl.link_by_name(sock, IFNAME)
        rtnl.set_up(sock, index, False)


def cmd_check(args: CmdArgs) -> None:
    with _lo_socket(args.netns) as sock:
        _, flags = rtnl.link_by_name(sock, IFNAME)
    if not flags & rtnl.IFF_UP:
        raise CNIError(ErrCode.INTERNAL, "loopback interface is down")
