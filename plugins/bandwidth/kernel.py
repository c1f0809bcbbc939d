"""The kernel edge of bandwidth: tc requests and dumps over the shared netlink socket (pkg.netlink),
with Go's error texts."""

from __future__ import annotations

import errno

from pkg.netlink import NetlinkError, Rtnl, to_cni_error
from pkg.netlink.constants import NLM_F_CREATE, NLM_F_EXCL, RTM_NEWLINK

from . import tcmsg
from .shaping import Qdisc

CREATE = NLM_F_CREATE | NLM_F_EXCL


def create(rt: Rtnl, kind: int, payload: bytes, what: str) -> None:
    """One creating request; failures read `what: <Go's errno text>` (EBUSY and co. code 11)."""
    try:
        rt.nl.request(kind, payload, CREATE)
    except NetlinkError as err:
        raise to_cni_error(err, what) from None


def add_ifb(rt: Rtnl, name: str, mtu: int) -> None:
    create(rt, RTM_NEWLINK, tcmsg.ifb_link(name, mtu), "adding link")


def qdiscs(rt: Rtnl, ifindex: int) -> list[Qdisc]:
    """The qdiscs of one device, in the kernel's order (root first)."""
    out = []
    for kind, body in rt.nl.dump(tcmsg.RTM_GETQDISC, tcmsg.tcmsg()):
        if kind == tcmsg.RTM_NEWQDISC:
            index, qdisc = tcmsg.parse_qdisc(body)
            if index == ifindex:
                out.append(qdisc)
    return out


def filters(rt: Rtnl, ifindex: int, parent: int) -> list[tcmsg.Filter]:
    try:
        replies = rt.nl.dump(tcmsg.RTM_GETTFILTER, tcmsg.tcmsg(ifindex, 0, parent))
    except NetlinkError as err:
        if err.errno in (errno.EINVAL, errno.ENOENT, errno.ENODEV):
            return []
        raise
    return [tcmsg.parse_filter(body) for kind, body in replies if kind == tcmsg.RTM_NEWTFILTER]


def delete_qdisc(rt: Rtnl, ifindex: int, handle: int, parent: int) -> bool:
    """False when it was already gone (or could not be removed): callers are best effort."""
    try:
        rt.nl.request(tcmsg.RTM_DELQDISC, tcmsg.qdisc_ref(ifindex, handle, parent))
    except NetlinkError:
        return False
    return True
