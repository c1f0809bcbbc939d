"""loopback verbs: ADD sets `lo` up and reports its addresses, DEL sets it down, CHECK wants it up.

Like Go's plugin, CNI_IFNAME is ignored (always `lo`), and only ADD decodes the config. GC and
STATUS have no handler: they succeed once the skeleton accepted the config (Go's FIXMEs).
"""

from __future__ import annotations

from libcni.types.errors import CNIError, ErrCode
from pkg.netlink import NetlinkError, to_cni_error
from pkg.ns import NetNS, NetNSNotFound

IFNAME = "lo"  # whatever CNI_IFNAME says

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from libcni.skel import CmdArgs
    from libcni.types.results import AnyResult
    from pkg.netlink import Link, Rtnl
    from plugins.loopback.config import Loopback


def _rtnl(netns_path: str) -> Rtnl:
    """rtnetlink in the container's netns."""
    with NetNS.open(netns_path) as netns:
        return netns.rtnl()


def _lo(rtnl: Rtnl) -> Link:
    link = rtnl.get_link(IFNAME)
    if link is None:
        raise CNIError(ErrCode.INTERNAL, "Link not found")  # Go's netlink LinkByName
    return link


def _set_lo(rtnl: Rtnl, link: Link, up: bool) -> None:
    try:
        rtnl.set_link(link.index, up=up)
    except NetlinkError as err:
        raise to_cni_error(err, f"failed to set {IFNAME} {'up' if up else 'down'}") from None


def prepare_add(args: CmdArgs) -> Loopback:
    """Everything ADD refuses before the kernel: the config and its prevResult."""
    from plugins.loopback.config import load

    return load(args)


# The pure half of each verb (the fuzzer runs these alone); DEL and CHECK decode nothing.
PREPARE = {"ADD": prepare_add}


def cmd_add(args: CmdArgs) -> AnyResult | bytes:
    from plugins.loopback.report import loopback_addresses, render

    conf = prepare_add(args)
    with _rtnl(args.netns) as rtnl:
        link = _lo(rtnl)
        _set_lo(rtnl, link, True)
        v4, v6 = loopback_addresses([(a.family, a.address, a.prefixlen) for a in rtnl.addrs(link.index)])
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
        rtnl = _rtnl(args.netns)
    except NetNSNotFound:
        return  # the runtime already removed the netns (kubernetes#43014)
    with rtnl:
        _set_lo(rtnl, _lo(rtnl), False)


def cmd_check(args: CmdArgs) -> None:
    with _rtnl(args.netns) as rtnl:
        link = _lo(rtnl)
    if not link.up:
        raise CNIError(ErrCode.INTERNAL, "loopback interface is down")
