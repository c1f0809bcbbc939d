"""Go's pkg/ip link helpers on pkg/netlink: the veth pair with its peer born in the container
netns (one request: no move and no rename), and deletion by name with CNI errors."""

from __future__ import annotations

import os

from libcni.types.errors import CNIError, ErrCode

from .netlink import NetlinkError, is_exists, to_cni_error

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~2-3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from .netlink import Rtnl
    from .ns import NetNS

VETH_NAME_TRIES = 10


def random_veth_name() -> str:
    """`veth` + 8 lower-case hex digits, like Go's RandomVethName."""
    return "veth" + os.urandom(4).hex()


def create_veth(
    nl: Rtnl,
    container_ifname: str,
    netns: NetNS,
    *,
    mtu: int = 0,
    container_mac: str = "",
    master: int = 0,
    up: bool = False,
    host_ifname: str = "",
) -> str:
    """Create a veth pair: the host end on `nl`'s netns, the `container_ifname` end inside `netns`.

    The host end gets a random name unless `host_ifname` is given; a random-name clash is
    retried like Go does. `master`/`up` are applied to the host end in the same request.
    Returns the host end's name."""
    for _ in range(VETH_NAME_TRIES):
        name = host_ifname or random_veth_name()
        try:
            nl.add_veth(
                name,
                container_ifname,
                peer_netns_fd=netns.fd,
                mtu=mtu,
                peer_mac=container_mac,
                master=master,
                up=up,
            )
            return name
        except NetlinkError as err:
            if not is_exists(err):
                raise to_cni_error(err, "failed to make veth pair") from None
            if not host_ifname and nl.get_link(name) is not None:
                continue  # our random host name was taken: try another
            raise CNIError(
                ErrCode.INTERNAL,
                f'container veth name ("{container_ifname}") peer provided ("{name}") already exists',
            ) from None
    raise CNIError(ErrCode.INTERNAL, "failed to find a unique veth name")


def delete_link(nl: Rtnl, name: str) -> bool:
    """Delete a link by name; False when it was already gone."""
    try:
        return nl.del_link(name=name)
    except NetlinkError as err:
        raise to_cni_error(err, f'failed to delete "{name}"') from None
