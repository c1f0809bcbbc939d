"""Is a path a network namespace? (Go's ns.IsNSorErr): the statfs magic of nsfs or procfs.

Owned by libcni so that the runtime side (cnitool's GC) can check a netns without the kernel
helpers in pkg/; pkg.ns builds NetNS on top of it.
"""

from __future__ import annotations

import errno
import os

from libcni.types.errors import CNIError, ErrCode, errno_text

NSFS_MAGIC = 0x6E736673
PROCFS_MAGIC = 0x9FA0


class NetNSNotFound(CNIError):
    """The netns path does not exist (bridge DEL tolerates this)."""


def _fs_magic(path: str) -> int:
    import ctypes  # ~4 ms: only for what is not plainly a netns (an error, or an old kernel's procfs)

    _libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(256)  # struct statfs; f_type is the first word
    if _libc.statfs(os.fsencode(path), buf) != 0:
        err = ctypes.get_errno()
        if err == errno.ENOENT:
            raise NetNSNotFound(ErrCode.INTERNAL, f'failed to Statfs "{path}": {errno_text(err)}')
        raise CNIError(ErrCode.INTERNAL, f'failed to Statfs "{path}": {errno_text(err)}')
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF


def check_netns_path(path: str) -> None:
    try:  # every nsfs inode is on the one nsfs superblock: the device of our own netns
        if os.stat(path).st_dev == os.stat("/proc/self/ns/net").st_dev:
            return
    except OSError:
        pass  # the statfs below reports it as Go does
    magic = _fs_magic(path)
    if magic not in (NSFS_MAGIC, PROCFS_MAGIC):
        raise CNIError(ErrCode.INTERNAL, f'unknown FS magic on "{path}": {magic:x}')
