"""Kernel errors at the netlink edge, and their ONE mapping to CNI errors."""

from __future__ import annotations

import errno

from libcni.types.errors import CNIError, ErrCode, errno_text

NOT_FOUND = frozenset((errno.ENODEV, errno.ENOENT, errno.ESRCH))
RETRY = frozenset((errno.EBUSY, errno.EAGAIN, errno.EINTR))


def go_text(code: int) -> str:
    """An errno as Go's syscall.Errno prints it ("file exists", "no such device")."""
    return errno_text(code)


class NetlinkError(OSError):
    """The kernel refused a netlink request: `errno` says why; str() is Go's text for it."""

    def __init__(self, code: int) -> None:
        super().__init__(code, go_text(code))

    def __str__(self) -> str:
        return self.strerror or ""


def is_not_found(err: OSError) -> bool:
    return err.errno in NOT_FOUND


def is_exists(err: OSError) -> bool:
    return err.errno == errno.EEXIST


def to_cni_error(err: OSError, what: str) -> CNIError:
    """`what: <Go's errno text>`; EBUSY/EAGAIN/EINTR are worth a retry (code 11). The errno's
    name (EEXIST, ...) is the details."""
    code = err.errno or 0
    text = f"{what}: {go_text(code)}" if code else f"{what}: {err}"
    name = errno.errorcode.get(code, "")
    if code in RETRY:
        return CNIError(ErrCode.TRY_AGAIN_LATER, text, name)
    return CNIError(ErrCode.INTERNAL, text, name)
