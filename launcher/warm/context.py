"""Which server may serve this process: its abstract socket address names everything that must match.

An abstract unix socket lives in a network namespace, so a caller in another netns can never
reach the server. The name adds what the netns does not give: the effective uid, the program
(an upgraded bundle or another checkout gets its own server) and the mount, pid and user
namespaces and root directory (paths such as /var/lib/cni and /proc/<pid>/ns/net must mean the
same thing for the server's children as for the caller).
"""

from __future__ import annotations

import _blake2
import os
import sys

# The checkout (from source) or the bundle's library folder (frozen).
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMESPACES = ("mnt", "pid", "user")
PREFIX = "cni-py-warm"


def program_paths() -> list[str]:
    """What identifies the program: the frozen build, or the python plus the checkout."""
    if getattr(sys, "frozen", False):
        # the support directory all programs share (one server serves them all) and a module of
        # this build (replaced by every build and install)
        return [ROOT, os.path.abspath(__file__)]
    return [os.path.realpath(sys.executable), ROOT]


def file_identity(path: str) -> str:
    st = os.stat(path)
    if os.path.isdir(path):  # a checkout's mtime changes with every new file: its inode is enough
        return f"{path}:{st.st_dev}:{st.st_ino}"
    return f"{path}:{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def context_parts() -> list[str]:
    parts = [f"euid={os.geteuid()}"]
    parts += [file_identity(path) for path in program_paths()]
    for ns in NAMESPACES:
        parts.append(f"{ns}={os.stat(f'/proc/self/ns/{ns}').st_ino}")
    root = os.stat("/")
    parts.append(f"root={root.st_dev}:{root.st_ino}")
    return parts


def address() -> bytes | None:
    """The abstract socket address for this context (b'\\0...'), or None when it cannot be known."""
    try:
        parts = context_parts()
    except OSError:  # no /proc, or the program vanished: run cold
        return None
    digest = _blake2.blake2b("\n".join(parts).encode("utf-8", "surrogateescape"), digest_size=16)
    return f"\0{PREFIX}/{os.geteuid()}/{digest.hexdigest()}".encode()
