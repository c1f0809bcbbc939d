"""Link attributes (mac, mtu, promisc, allmulti, txQLen) of the container interface, read and
written over rtnetlink on a socket that lives in the container netns (pkg/netlink)."""

from __future__ import annotations

from libcni.types.errors import CNIError, ErrCode
from pkg.netlink import Link, NetlinkError, to_cni_error

from .backup import SavedLink
from .config import Tuning

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~2-3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from pkg.netlink import Rtnl


class LinkNotFound(CNIError):
    pass


def read(nl: Rtnl, ifname: str) -> Link:
    try:
        link = nl.get_link(ifname)
    except NetlinkError as err:
        raise to_cni_error(err, f'failed to get "{ifname}"') from None
    if link is None:
        raise LinkNotFound(ErrCode.INTERNAL, f'failed to get "{ifname}": Link not found')
    return link


def _checked(what: str, change: Callable[[], None]) -> None:
    try:
        change()
    except NetlinkError as err:
        raise to_cni_error(err, what) from None


def set_mac(nl: Rtnl, index: int, ifname: str, mac: str) -> None:
    _checked(f'failed to set MAC address of "{ifname}" to {mac}', lambda: nl.set_link(index, mac=mac))


def set_mtu(nl: Rtnl, index: int, ifname: str, mtu: int) -> None:
    _checked(f'failed to set MTU of "{ifname}" to {mtu}', lambda: nl.set_link(index, mtu=mtu))


def set_txqlen(nl: Rtnl, index: int, ifname: str, txqlen: int) -> None:
    what = f'failed to set transmit queue length of "{ifname}" to {txqlen}'
    _checked(what, lambda: nl.set_link(index, txqlen=txqlen))


def set_promisc(nl: Rtnl, index: int, ifname: str, on: bool) -> None:
    what = f'failed to turn promiscuous mode of "{ifname}" {"on" if on else "off"}'
    _checked(what, lambda: nl.set_link(index, promisc=on))


def set_allmulti(nl: Rtnl, index: int, ifname: str, on: bool) -> None:
    what = f'failed to turn all-multicast mode of "{ifname}" {"on" if on else "off"}'
    _checked(what, lambda: nl.set_link(index, allmulti=on))


def snapshot(link: Link, tuning: Tuning) -> SavedLink:
    """The current values of exactly the attributes ADD is about to change."""
    return SavedLink(
        mac=link.mac if tuning.mac else "",
        promisc=link.promisc if tuning.promisc else None,
        mtu=link.mtu if tuning.mtu else 0,
        allmulti=link.allmulti if tuning.allmulti is not None else None,
        txQLen=link.txqlen if tuning.txqlen is not None else None,
    )


def apply(nl: Rtnl, link: Link, ifname: str, tuning: Tuning, mac: str) -> None:
    """Go's order: mac, promisc on (false changes nothing), mtu, allmulti, txQLen."""
    if mac:
        set_mac(nl, link.index, ifname, mac)
    if tuning.promisc:
        set_promisc(nl, link.index, ifname, True)
    if tuning.mtu:
        set_mtu(nl, link.index, ifname, tuning.mtu)
    if tuning.allmulti is not None:
        set_allmulti(nl, link.index, ifname, tuning.allmulti)
    if tuning.txqlen is not None:
        set_txqlen(nl, link.index, ifname, tuning.txqlen)


def restore(nl: Rtnl, index: int, ifname: str, saved: SavedLink) -> list[str]:
    """Put saved values back (Go's order: MTU, MAC, promisc, allmulti, txQLen); the failures."""
    steps = []
    if saved.mtu:
        steps.append(("MTU", lambda: set_mtu(nl, index, ifname, saved.mtu)))
    if saved.mac:
        steps.append(("MAC address", lambda: set_mac(nl, index, ifname, saved.mac)))
    if saved.promisc is not None:
        steps.append(("promiscuous mode", lambda: set_promisc(nl, index, ifname, bool(saved.promisc))))
    if saved.allmulti is not None:
        steps.append(("all-multicast mode", lambda: set_allmulti(nl, index, ifname, bool(saved.allmulti))))
    if saved.txQLen is not None:
        txqlen = saved.txQLen
        steps.append(("transmit queue length", lambda: set_txqlen(nl, index, ifname, txqlen)))
    failures = []
    for what, step in steps:
        try:
            step()
        except CNIError as err:
            failures.append(f"failed to restore {what}: {err.msg}")
    return failures
