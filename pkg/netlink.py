"""The one place pyroute2 is imported (lazily: it costs ~200 ms), and netlink error mapping."""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

from libcni.types.errors import CNIError, ErrCode

if TYPE_CHECKING:  # pragma: no cover
    from pyroute2 import IPRoute


def iproute(sock: socket.socket | None = None) -> IPRoute:
    """An IPRoute in the current netns, or on a socket opened in another one."""
    from pyroute2 import IPRoute

    return IPRoute(use_socket=sock) if sock is not None else IPRoute()


def netlink_error_code(err: BaseException) -> int | None:
    """The errno of a pyroute2 NetlinkError, else None."""
    code = getattr(err, "code", None)
    return code if isinstance(code, int) else None


def is_not_found(err: BaseException) -> bool:
    return netlink_error_code(err) in (errno.ENODEV, errno.ENOENT, errno.ESRCH)


def is_exists(err: BaseException) -> bool:
    return netlink_error_code(err) == errno.EEXIST


def to_cni_error(err: BaseException, what: str) -> CNIError:
    """Map a kernel error to a CNI error; EBUSY/EAGAIN/EINTR are worth a retry (code 11)."""
    code = netlink_error_code(err)
    if code in (errno.EBUSY, errno.EAGAIN, errno.EINTR):
        return CNIError(ErrCode.TRY_AGAIN_LATER, f"{what}: {errno.errorcode.get(code, code)}")
    detail = errno.errorcode.get(code, str(code)) if code is not None else ""
    return CNIError(ErrCode.INTERNAL, f"{what}: {err}", detail)
