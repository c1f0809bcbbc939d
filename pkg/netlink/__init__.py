"""All netlink I/O of the plugins, over plain sockets, with typed records out.

    constants   every netlink number, generated from pyroute2 (scripts/netlink_constants.py)
    wire        the wire format, pure: headers and attributes in, messages out
    conn        NetlinkSocket: request -> ACK or errno, dump -> multipart (any netlink family)
    records     Link, Addr, Route decoded from the kernel's messages
    rtnl        Rtnl: link / address / route operations on one NETLINK_ROUTE socket
    errors      NetlinkError (an OSError with the errno) and its one mapping to a CNIError

Importing all of it costs 1-2 ms; pyroute2 itself is never imported at run time (its message
classes alone cost ~27 ms of a cold call, its IPRoute ~150 ms).
A socket acts in the netns it was opened in: `Rtnl.open()` here, `NetNS.rtnl()` inside another.

    with netns.rtnl() as nl:                        # e.g. a loopback plugin
        lo = nl.get_link("lo")
        nl.set_up(lo.index)

A new kind of request (a tc qdisc, a neighbour) is a payload built with `wire` (its header struct,
then attributes), sent with `nl.request(RTM_..., payload, NLM_F_CREATE | ...)` or read with
`nl.dump(...)`, and a decoder beside those in `records`; add the numbers it needs to
scripts/netlink_constants.py and regenerate (`make netlink-constants`).
"""

from .errors import NetlinkError, is_exists, is_not_found, to_cni_error
from .records import Addr, Link, Route
from .rtnl import Rtnl

__all__ = ["Addr", "Link", "NetlinkError", "Route", "Rtnl", "is_exists", "is_not_found", "to_cni_error"]
