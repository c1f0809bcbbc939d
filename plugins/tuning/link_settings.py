"""Link attributes (mac, mtu, promisc, allmulti, txQLen) of the container interface.

Reads and writes go over netlink on an IPRoute whose socket lives in the container netns, so
pyroute2 is imported only when a link attribute is set, checked or restored. The one thing every
CHECK needs (the link exists and is not promiscuous unless asked) is read with a single ioctl.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from libcni.types.errors import CNIError, ErrCode
from pkg.netlink import is_not_found, netlink_error_code

from .backup import SavedLink
from .config import Tuning

if TYPE_CHECKING:  # pragma: no cover
    from pyroute2 import IPRoute

    from pkg.ns import NetNS

IFF_PROMISC = 0x100
IFF_ALLMULTI = 0x200
SIOCGIFFLAGS = 0x8913
_IFREQ = struct.Struct("16sH22x")


@dataclass(frozen=True)
class LinkState:
    index: int
    mac: str
    mtu: int
    promisc: bool
    allmulti: bool
    txqlen: int


class LinkNotFound(CNIError):
    pass


def kernel_error(err: BaseException, what: str) -> CNIError:
    """A netlink failure as a CNI error with the errno's text; busy/interrupted is 'try again'."""
    code = netlink_error_code(err)
    if code is None:
        return CNIError(ErrCode.INTERNAL, f"{what}: {err}")
    reason = os.strerror(code)
    text = f"{what}: {reason[:1].lower()}{reason[1:]}"
    if code in (errno.EBUSY, errno.EAGAIN, errno.EINTR):
        return CNIError(ErrCode.TRY_AGAIN_LATER, text, errno.errorcode.get(code, ""))
    return CNIError(ErrCode.INTERNAL, text, errno.errorcode.get(code, ""))


def read(ipr: IPRoute, ifname: str) -> LinkState:
    try:
        msg = ipr.link("get", ifname=ifname)[0]
    except Exception as err:  # noqa: BLE001 - pyroute2 raises NetlinkError and friends
        if is_not_found(err):
            raise LinkNotFound(ErrCode.INTERNAL, f'failed to get "{ifname}": Link not found') from None
        raise kernel_error(err, f'failed to get "{ifname}"') from None
    flags = msg["flags"]
    return LinkState(
        index=msg["index"],
        mac=(msg.get_attr("IFLA_ADDRESS") or "").lower(),
        mtu=msg.get_attr("IFLA_MTU") or 0,
        promisc=bool(flags & IFF_PROMISC),
        allmulti=bool(flags & IFF_ALLMULTI),
        txqlen=msg.get_attr("IFLA_TXQLEN") or 0,
    )


def _set(ipr: IPRoute, index: int, what: str, **attrs: object) -> None:
    try:
        ipr.link("set", index=index, **attrs)
    except Exception as err:  # noqa: BLE001
        raise kernel_error(err, what) from None


def set_mac(ipr: IPRoute, index: int, ifname: str, mac: str) -> None:
    _set(ipr, index, f'failed to set MAC address of "{ifname}" to {mac}', address=mac)


def set_mtu(ipr: IPRoute, index: int, ifname: str, mtu: int) -> None:
    _set(ipr, index, f'failed to set MTU of "{ifname}" to {mtu}', mtu=mtu)


def set_txqlen(ipr: IPRoute, index: int, ifname: str, txqlen: int) -> None:
    _set(ipr, index, f'failed to set transmit queue length of "{ifname}" to {txqlen}', txqlen=txqlen)


def set_promisc(ipr: IPRoute, index: int, ifname: str, on: bool) -> None:
    what = f'failed to turn promiscuous mode of "{ifname}" {"on" if on else "off"}'
    _set(ipr, index, what, flags=IFF_PROMISC if on else 0, change=IFF_PROMISC)


def set_allmulti(ipr: IPRoute, index: int, ifname: str, on: bool) -> None:
    what = f'failed to turn all-multicast mode of "{ifname}" {"on" if on else "off"}'
    _set(ipr, index, what, flags=IFF_ALLMULTI if on else 0, change=IFF_ALLMULTI)


def snapshot(link: LinkState, tuning: Tuning) -> SavedLink:
    """The current values of exactly the attributes ADD is about to change."""
    return SavedLink(
        mac=link.mac if tuning.mac else "",
        promisc=link.promisc if tuning.promisc else None,
        mtu=link.mtu if tuning.mtu else 0,
        allmulti=link.allmulti if tuning.allmulti is not None else None,
        txQLen=link.txqlen if tuning.txqlen is not None else None,
    )


def apply(ipr: IPRoute, link: LinkState, ifname: str, tuning: Tuning, mac: str) -> None:
    """Go's order: mac, promisc on (false changes nothing), mtu, allmulti, txQLen."""
    if mac:
        set_mac(ipr, link.index, ifname, mac)
    if tuning.promisc:
        set_promisc(ipr, link.index, ifname, True)
    if tuning.mtu:
        set_mtu(ipr, link.index, ifname, tuning.mtu)
    if tuning.allmulti is not None:
        set_allmulti(ipr, link.index, ifname, tuning.allmulti)
    if tuning.txqlen is not None:
        set_txqlen(ipr, link.index, ifname, tuning.txqlen)


def restore(ipr: IPRoute, index: int, ifname: str, saved: SavedLink) -> list[str]:
    """Put saved values back (Go's order: MTU, MAC, promisc, allmulti, txQLen); the failures."""
    steps = []
    if saved.mtu:
        steps.append(("MTU", lambda: set_mtu(ipr, index, ifname, saved.mtu)))
    if saved.mac:
        steps.append(("MAC address", lambda: set_mac(ipr, index, ifname, saved.mac)))
    if saved.promisc is not None:
        steps.append(("promiscuous mode", lambda: set_promisc(ipr, index, ifname, bool(saved.promisc))))
    if saved.allmulti is not None:
        steps.append(("all-multicast mode", lambda: set_allmulti(ipr, index, ifname, bool(saved.allmulti))))
    if saved.txQLen is not None:
        steps.append(("transmit queue length", lambda: set_txqlen(ipr, index, ifname, int(saved.txQLen))))
    failures = []
    for what, step in steps:
        try:
            step()
        except CNIError as err:
            failures.append(f"failed to restore {what}: {err.msg}")
    return failures


def interface_flags(ns: NetNS, ifname: str) -> int | None:
    """The interface's flags (SIOCGIFFLAGS, asked in `ns`), or None when it does not exist.
    Same flags netlink reports, without loading a netlink library."""
    with ns.entered():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    with sock:
        request = _IFREQ.pack(os.fsencode(ifname), 0)
        try:
            reply = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request)
        except OSError as err:
            if err.errno in (errno.ENODEV, errno.ENXIO):
                return None
            raise CNIError(ErrCode.INTERNAL, f'failed to get "{ifname}": {err.strerror}') from None
    return _IFREQ.unpack(reply)[1]
