"""All netlink I/O of the plugins, over plain sockets, with typed records out.

    constants   every netlink number, generated from pyroute2 (scripts/netlink_constants.py)
    wire        the wire format, pure: headers and attributes in, messages out
    conn        NetlinkSocket: request -> ACK or errno, dump -> multipart (any netlink family)
    records     Link, Addr, Route decoded from the kernel's messages
    rtnl        Rtnl: link / address / route operations on one NETLINK_ROUTE socket
    errors      NetlinkError (an OSError with the errno) and its one mapping to a CNIError

Importing all of it costs about a millisecond; pyroute2 itself is never imported at run time.
A socket acts in the netns it was opened in: `Rtnl.open()` here, `NetNS.rtnl()` inside another.
"""

from .errors import NetlinkError, is_exists, is_not_found, to_cni_error
from .records import Addr, Link, Route
from .rtnl import Rtnl

__all__ = ["Addr", "Link", "NetlinkError", "Route", "Rtnl", "is_exists", "is_not_found", "to_cni_error"]
