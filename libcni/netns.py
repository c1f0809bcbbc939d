"""Is a path a network namespace? (Go's ns.IsNSorErr): the statfs magic of nsfs or procfs.

Owned by libcni so that the runtime side (cnitool's GC) can check a netns without the kernel
helpers in pkg/; pkg.ns builds NetNS on top of it.
"""

from __future__ import annotations

import errno
import os
import sys

from libcni.types.errors import CNIError, ErrCode, errno_text

NSFS_MAGIC = 0x6E736673
_LONG = 8 if sys.maxsize > 2**32 else 4
PROCFS_MAGIC = 0x9FA0


class NetNSNotFound(CNIError):
    """The netns path does not exist (bridge DEL tolerates this)."""


def _fs_magic(path: str) -> int:
    from . import libc

    buf = libc.buffer(256)  # struct statfs; f_type is the first word (a long)
    try:
        libc.call("statfs", os.fsencode(path), buf)
    except OSError as err:
        kind = NetNSNotFound if err.errno == errno.ENOENT else CNIError
        raise kind(ErrCode.INTERNAL, f'failed to Statfs "{path}": {errno_text(err.errno or 0)}') from None
    raw = buf.raw  # type: ignore[attr-defined]
    return int.from_bytes(raw[:_LONG], sys.byteorder) & 0xFFFFFFFF


def check_netns_path(path: str) -> None:
    try:  # every nsfs inode is on the one nsfs superblock: the device of our own netns
        if os.stat(path).st_dev == os.stat("/proc/self/ns/net").st_dev:
            return
    except OSError:
        pass  # the statfs below reports it as Go does
    magic = _fs_magic(path)
    if magic not in (NSFS_MAGIC, PROCFS_MAGIC):
        raise CNIError(ErrCode.INTERNAL, f'unknown FS magic on "{path}": {magic:x}')
