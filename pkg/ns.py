"""Network namespaces (Go's pkg/ns): open by path, check it is a netns, enter, open netlink inside.

A netns is opened once into an fd. Entering is setns() there and back; the process is
single-threaded, so this is safe. A missing netns is never created.
"""

from __future__ import annotations

import _ctypes  # ctypes' C core: the ctypes package costs ~3 ms of every call that enters a netns
import os

from libcni.netns import NetNSNotFound, check_netns_path
from libcni.types.errors import CNIError, ErrCode, errno_text

TYPE_CHECKING = False  # `typing` costs ~3 ms of every cold call that opens a netns
if TYPE_CHECKING:  # pragma: no cover
    from pkg.netlink import Rtnl

CLONE_NEWNET = 0x40000000


class _CInt(_ctypes._SimpleCData):  # ctypes.c_int
    _type_ = "i"


class _LibcFunction(_ctypes.CFuncPtr):  # a function of ctypes.CDLL(None, use_errno=True)
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _CInt


class _Libc:
    _handle = _ctypes.dlopen(None, os.RTLD_NOW | os.RTLD_LOCAL)  # type: ignore[arg-type]  # the program


_libc_setns = _LibcFunction(("setns", _Libc))  # type: ignore[arg-type]  # CDLL is duck-typed


def _setns(fd: int) -> None:
    if _libc_setns(fd, CLONE_NEWNET) != 0:
        err = _ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


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
