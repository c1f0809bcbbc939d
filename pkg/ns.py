"""Network namespaces (Go's pkg/ns): open by path, check it is a netns, enter, open netlink inside.

A netns is opened once into an fd. Entering is setns() there and back; the process is
single-threaded, so this is safe. A missing netns is never created.
"""

from __future__ import annotations

import os

from libcni import libc
from libcni.netns import NetNSNotFound, check_netns_path
from libcni.types.errors import CNIError, ErrCode, errno_text

TYPE_CHECKING = False  # `typing` costs ~3 ms of every cold call that opens a netns
if TYPE_CHECKING:  # pragma: no cover
    from pkg.netlink import Rtnl

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    try:
        libc.call("setns", fd, CLONE_NEWNET)
    except OSError as err:
        raise OSError(err.errno, f"setns: {err.strerror}") from None


class NetNS:
    """An open network namespace."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def open(cls, path: str) -> NetNS:
        check_netns_path(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as err:
            kind = NetNSNotFound if isinstance(err, FileNotFoundError) else CNIError
            raise kind(
                ErrCode.INTERNAL, f'failed to open netns "{path}": {errno_text(err.errno or 0)}'
            ) from None
        return cls(path, fd)

    @classmethod
    def current(cls) -> NetNS:
        return cls("/proc/self/ns/net", os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> NetNS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def entered(self) -> _Inside:
        """`with ns.entered():` runs the body inside this netns; always returns to the original."""
        return _Inside(self.fd)

    def rtnl(self) -> Rtnl:
        """rtnetlink on a socket that lives in this netns (made inside it, without forking)."""
        from pkg.netlink import Rtnl

        with self.entered():
            return Rtnl.open()


class _Inside:
    """The context of NetNS.entered (a class: contextlib costs ~4 ms of a cold call)."""

    __slots__ = ("fd", "home")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.home = -1

    def __enter__(self) -> None:
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(self.fd)
        except BaseException:
            os.close(self.home)
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            _setns(self.home)
        except OSError:  # staying in the wrong netns would be worse than dying
            os._exit(70)
        finally:
            os.close(self.home)
