"""Bare rtnetlink requests on a NETLINK_ROUTE socket, without pyroute2.

What a plugin that only toggles a link and reads its addresses needs: a link's index and flags by
name, setting it up or down (one RTM_NEWLINK), and its addresses (one RTM_GETADDR dump). Messages
are packed by hand; importing this costs nothing measurable. Errors are CNIError with Go's texts
(vishvananda/netlink: "Link not found", the errno's text otherwise).
"""

from __future__ import annotations

import errno
import os
import socket
import struct

from libcni.types.errors import CNIError, ErrCode, errno_text

IFF_UP = 0x1

_RTM_NEWLINK, _RTM_GETLINK, _RTM_NEWADDR, _RTM_GETADDR = 16, 18, 20, 22
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_NLM_F_REQUEST, _NLM_F_ACK, _NLM_F_DUMP = 0x1, 0x4, 0x300
_IFLA_IFNAME = 3
_IFA_ADDRESS, _IFA_LOCAL = 1, 2
_HEADER = struct.Struct("IHHII")  # nlmsghdr: len, type, flags, seq, pid
_IFINFO = struct.Struct("BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("BBBBi")  # ifaddrmsg: family, prefixlen, flags, scope, index
_ATTR = struct.Struct("HH")


def _name_attr(name: str) -> bytes:
    encoded = name.encode() + b"\0"
    length = _ATTR.size + len(encoded)
    return _ATTR.pack(length, _IFLA_IFNAME) + encoded + b"\0" * (-length % 4)


def _attrs(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    while offset + _ATTR.size <= end:
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        found.setdefault(kind & 0x3FFF, data[offset + _ATTR.size : offset + length])
        offset += length + (-length % 4)
    return found


def _request(sock: socket.socket, msg_type: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
    """Send one request; return the (type, message) replies, up to the ack or the end of the dump.
    A negative ack raises OSError with its errno."""
    seq = int.from_bytes(os.urandom(4), "little")
    sock.sendto(_HEADER.pack(_HEADER.size + len(body), msg_type, flags, seq, 0) + body, (0, 0))
    replies: list[tuple[int, bytes]] = []
    while True:
        data = sock.recv(262144)
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, kind, _, msg_seq, _ = _HEADER.unpack_from(data, offset)
            message = data[offset : offset + length]
            offset += max(length, _HEADER.size) + (-length % 4)
            if msg_seq != seq:
                continue
            if kind == _NLMSG_ERROR:
                (error,) = struct.unpack_from("i", message, _HEADER.size)
                if error:
                    raise OSError(-error, errno_text(-error))
                return replies
            if kind == _NLMSG_DONE:
                return replies
            replies.append((kind, message))


def _kernel_error(err: OSError, what: str = "") -> CNIError:
    if err.errno in (errno.EBUSY, errno.EAGAIN, errno.EINTR):
        return CNIError(ErrCode.TRY_AGAIN_LATER, f"{what}{errno_text(err.errno)}")
    return CNIError(ErrCode.INTERNAL, f"{what}{errno_text(err.errno or 0)}")


def link_by_name(sock: socket.socket, name: str) -> tuple[int, int]:
    """(index, flags) of the link called `name`."""
    try:
        replies = _request(
            sock, _RTM_GETLINK, _NLM_F_REQUEST | _NLM_F_ACK, _IFINFO.pack(0, 0, 0, 0, 0) + _name_attr(name)
        )
    except OSError as err:
        if err.errno in (errno.ENODEV, errno.ENOENT):
            raise CNIError(ErrCode.INTERNAL, "Link not found") from None
        raise _kernel_error(err) from None
    for kind, message in replies:
        if kind == _RTM_NEWLINK:
            _, _, index, flags, _ = _IFINFO.unpack_from(message, _HEADER.size)
            return index, flags
    raise CNIError(ErrCode.INTERNAL, "Link not found")


def set_up(sock: socket.socket, index: int, up: bool) -> None:
    """Set the link up or down: one RTM_NEWLINK changing only IFF_UP (Go's LinkSetUp/LinkSetDown)."""
    body = _IFINFO.pack(socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP)
    try:
        _request(sock, _RTM_NEWLINK, _NLM_F_REQUEST | _NLM_F_ACK, body)
    except OSError as err:
        raise _kernel_error(err) from None


def addresses(sock: socket.socket, index: int) -> list[tuple[int, str, int]]:
    """(family, address, prefix length) of every address on the link, in the kernel's order
    (IPv4 first, then IPv6)."""
    try:
        replies = _request(
            sock, _RTM_GETADDR, _NLM_F_REQUEST | _NLM_F_DUMP, _IFADDR.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        )
    except OSError as err:
        raise _kernel_error(err) from None
    found: list[tuple[int, str, int]] = []
    for kind, message in replies:
        if kind != _RTM_NEWADDR:
            continue
        family, prefixlen, _, _, addr_index = _IFADDR.unpack_from(message, _HEADER.size)
        if addr_index != index or family not in (socket.AF_INET, socket.AF_INET6):
            continue
        attrs = _attrs(message, _HEADER.size + _IFADDR.size, len(message))
        raw = attrs.get(_IFA_LOCAL) or attrs.get(_IFA_ADDRESS)
        if raw is None:
            continue
        found.append((family, socket.inet_ntop(family, raw), prefixlen))
    return found
