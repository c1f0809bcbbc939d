"""One netlink socket and its two exchanges: a request answered by an ACK (or an errno), and a
dump answered by a multipart reply ending in NLMSG_DONE.

The socket belongs to the network namespace it was created in (pkg/ns.NetNS.rtnl opens one
inside another netns without forking); every request on it acts there.
"""

from __future__ import annotations

import _socket  # socket's C core: socket.py's enums would cost ~3 ms of every cold call
import errno
import os

from . import wire
from .constants import (
    AF_NETLINK,
    NETLINK_ROUTE,
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    NLMSG_OVERRUN,
)
from .errors import NetlinkError

RECV_SIZE = 1 << 16  # the kernel's dump datagrams stay below 32 KiB
DUMP_TRIES = 5  # a dump cut by concurrent changes (NLM_F_DUMP_INTR) is asked again

Reply = tuple[int, bytes]  # (message type, payload)


class NetlinkSocket:
    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self._seq = int.from_bytes(os.urandom(3), "little")

    @classmethod
    def open(cls, protocol: int = NETLINK_ROUTE) -> NetlinkSocket:
        """A socket in the current network namespace."""
        try:
            sock = _socket.socket(AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, protocol)
        except OSError as err:  # EMFILE, EPROTONOSUPPORT (no such netlink family), ...
            raise NetlinkError(err.errno or errno.EIO) from None
        try:
            sock.bind((0, 0))
        except OSError as err:
            sock.close()
            raise NetlinkError(err.errno or errno.EIO) from None
        return cls(sock)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> NetlinkSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, kind: int, flags: int, payload: bytes) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        try:
            self.sock.send(wire.message(kind, flags, self._seq, payload))
        except OSError as err:
            raise NetlinkError(err.errno or errno.EIO) from None
        return self._seq

    def _receive(self, seq: int) -> list[tuple[int, int, bytes]]:
        """The next datagram's messages of this request: (type, flags, payload)."""
        try:
            data = self.sock.recv(RECV_SIZE)
        except OSError as err:  # ENOBUFS: the kernel dropped replies for us
            raise NetlinkError(err.errno or errno.EIO) from None
        return [(k, f, p) for k, f, s, p in wire.messages(data) if s == seq]

    def request(self, kind: int, payload: bytes, flags: int = 0) -> list[Reply]:
        """Send one request with NLM_F_ACK; the messages answered before the ACK (a GET's reply).
        Raises NetlinkError with the kernel's errno."""
        seq = self._send(kind, NLM_F_REQUEST | NLM_F_ACK | flags, payload)
        replies: list[Reply] = []
        while True:
            for msg_kind, _, body in self._receive(seq):
                if msg_kind == NLMSG_ERROR:
                    code = wire.error_code(body)
                    if code:
                        raise NetlinkError(code)
                    return replies
                if msg_kind == NLMSG_DONE:
                    return replies
                if msg_kind not in (NLMSG_NOOP, NLMSG_OVERRUN):
                    replies.append((msg_kind, body))

    def dump(self, kind: int, payload: bytes) -> list[Reply]:
        """Every message of a dump (NLM_F_DUMP). An interrupted dump is asked again."""
        for _ in range(DUMP_TRIES):
            replies, interrupted = self._dump_once(kind, payload)
            if not interrupted:
                return replies
        raise NetlinkError(errno.EINTR)

    def _dump_once(self, kind: int, payload: bytes) -> tuple[list[Reply], bool]:
        seq = self._send(kind, NLM_F_REQUEST | NLM_F_DUMP, payload)
        replies: list[Reply] = []
        interrupted = False
        while True:
            for msg_kind, flags, body in self._receive(seq):
                interrupted = interrupted or bool(flags & NLM_F_DUMP_INTR)
                if msg_kind in (NLMSG_DONE, NLMSG_ERROR):
                    code = wire.error_code(body)
                    if code:
                        raise NetlinkError(code)
                    return replies, interrupted
                if msg_kind not in (NLMSG_NOOP, NLMSG_OVERRUN):
                    replies.append((msg_kind, body))
