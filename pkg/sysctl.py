"""sysctl read/write through /proc/sys (per netns: call inside NetNS.entered()).

The one place sysctl names become paths: PROC_SYS here, and `sysctl_path` for the plugins' own
names (Go's utils/sysctl: dotted or slashed). tuning's user-given keys follow Go's tuning rule
(every dot is a slash, under PROC_SYS/net only), in plugins/tuning/sysctls.py."""

from __future__ import annotations

import os

PROC_SYS = "/proc/sys"


def sysctl_path(name: str) -> str:
    """Go's sysctl helper: a '.' before the first '/' means dotted form; swap dots and slashes."""
    name = name.lstrip("/")
    slash = name.find("/")
    dot = name.find(".")
    if dot != -1 and (slash == -1 or dot < slash):
        name = name.translate(str.maketrans("./", "/."))
    return os.path.join(PROC_SYS, name)


def read(name: str) -> str:
    with open(sysctl_path(name)) as f:
        data = f.read()
    return data[:-1] if data.endswith("\n") else data


def write(name: str, value: str) -> None:
    fd = os.open(sysctl_path(name), os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def ensure(name: str, value: str) -> None:
    """Write only when different (forwarding sysctls are not rewritten when already set)."""
    try:
        if read(name) == value:
            return
    except OSError:
        pass
    write(name, value)
