"""Small file-system helpers shared by the runtime library and the plugins' state files."""

from __future__ import annotations

import os


def mkdir_all(path: str, mode: int) -> None:
    """Go's os.MkdirAll: every missing component gets `mode` (os.makedirs gives parents 0777)."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path.rstrip("/"))
    if parent and parent != path:
        mkdir_all(parent, mode)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


def replace_file_at(dir_fd: int, name: str, data: bytes, mode: int) -> None:
    """Atomically make `name` in the directory `dir_fd` hold `data`: write a private temp file
    (never through a planted link: O_EXCL|O_NOFOLLOW), then rename it over the old one."""
    tmp = f".{name}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            fd = os.open(tmp, flags, mode, dir_fd=dir_fd)
        except FileExistsError:  # left by a killed process with our pid: not ours to trust
            os.unlink(tmp, dir_fd=dir_fd)
            fd = os.open(tmp, flags, mode, dir_fd=dir_fd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise
