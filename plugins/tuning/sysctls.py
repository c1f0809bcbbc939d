"""Sysctl keys -> files under /proc/sys/net, the allow-list, and reading/writing them in a netns.

A key is dotted (`net.ipv4.conf.IFNAME.rp_filter`) or slashed; every `.` becomes `/`, then the
first `IFNAME` becomes CNI_IFNAME (so interface names with dots work). The file must lie under
/proc/sys/net: checked on the text first (pure), then on the real path inside the container netns
(no symlink may lead elsewhere). Values are only ever written inside the container netns.
"""

from __future__ import annotations

import os
import posixpath
import stat

from libcni.types.errors import CNIError, ErrCode
from pkg.quoting import go_quote
from pkg.sysctl import PROC_SYS

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

NET_ROOT = PROC_SYS + "/net/"
ALLOWLIST_FILE = "/etc/cni/tuning/allowlist.conf"
IFNAME_TOKEN = "IFNAME"
_MAX_VALUE_READ = 1 << 16


def os_error_text(op: str, path: str, err: OSError) -> str:
    """Go's *PathError text: `open /proc/sys/x: no such file or directory`."""
    reason = os.strerror(err.errno) if err.errno else str(err)
    return f"{op} {path}: {reason[:1].lower()}{reason[1:]}"


def _invalid_key(text: str, why: str = "") -> CNIError:
    message = f"invalid net sysctl key: {go_quote(text)}"
    return CNIError(ErrCode.INVALID_NETWORK_CONFIG, f"{message}: {why}" if why else message)


def sysctl_path(key: str, ifname: str) -> str:
    """The file for `key` (Go's getSysctlFilename), refusing anything outside /proc/sys/net."""
    if "\0" in key:
        raise _invalid_key(key, "NUL byte in key")
    if ".." in key.split("/"):
        raise _invalid_key(key, "'..' is not allowed")
    slashed = key.replace(".", "/")
    if slashed.startswith("/"):
        raise _invalid_key(key, "absolute paths are not allowed, use a name relative to /proc/sys")
    name = slashed.replace(IFNAME_TOKEN, ifname, 1)
    # Only the substituted interface name can still hold dots or extra slashes; `..` would climb out.
    if ".." in name.split("/"):
        raise _invalid_key(name, "'..' is not allowed")
    path = posixpath.normpath(posixpath.join(PROC_SYS, name))
    if not path.startswith(NET_ROOT):
        raise _invalid_key(name)
    return path


def check_ifname(ifname: str) -> None:
    """Go's validateArgs: the interface name becomes part of sysctl paths."""
    if "/" in ifname:
        raise CNIError(
            ErrCode.INVALID_ENVIRONMENT_VARIABLES,
            f"Interface name ({ifname}) contains an invalid character /",
        )


def resolve_all(sysctls: Mapping[str, str], ifname: str) -> list[tuple[str, str]]:
    """(path, value) for every key, in config order; any bad key fails before anything is written."""
    return [(sysctl_path(key, ifname), value) for key, value in sysctls.items()]


def read_allowlist(path: str = ALLOWLIST_FILE) -> list[str] | None:
    """The allow-list patterns (non-empty trimmed lines), or None when there is no file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise CNIError(ErrCode.INTERNAL, os_error_text("open", path, err)) from None
    return [line.strip() for line in text.split("\n") if line.strip()]


def check_allowlist(keys: Iterable[str], path: str = ALLOWLIST_FILE) -> None:
    """Every key (as written, before IFNAME substitution) must match a pattern (unanchored search)."""
    patterns = read_allowlist(path)
    if patterns is None:
        return
    import re  # only with an allow-list (its lines are regular expressions, as in Go)

    try:
        compiled = [re.compile(p) for p in patterns]
    except re.error as err:
        raise CNIError(
            ErrCode.INVALID_NETWORK_CONFIG, f"error parsing regexp in {path}: {err}", str(err.pattern)
        ) from None
    allowed = " ".join(patterns)
    for key in keys:
        if not any(p.search(key) for p in compiled):
            raise CNIError(
                ErrCode.INVALID_NETWORK_CONFIG,
                f"Sysctl {key} is not allowed. Only the following sysctls are allowed: [{allowed}]",
            )


# --- inside the container netns (call under NetNS.entered()) ---------------------------------


def confine(path: str) -> None:
    """Refuse a path whose real location is not itself: a symlink anywhere on the way could lead
    out of /proc/sys/net (this netns's view of it is what counts, so check it here)."""
    real = os.path.realpath(path)
    if real != path or not real.startswith(NET_ROOT):
        raise CNIError(
            ErrCode.INVALID_NETWORK_CONFIG,
            f"invalid net sysctl key: {go_quote(path)} resolves to {go_quote(real)}, outside {NET_ROOT}",
        )


def _open(path: str, flags: int) -> int:
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IsADirectoryError(21, "not a sysctl file")
    return fd


def read(path: str) -> str:
    """The current value, minus one trailing newline."""
    try:
        fd = _open(path, os.O_RDONLY)
    except OSError as err:
        raise CNIError(ErrCode.INTERNAL, os_error_text("open", path, err)) from None
    try:
        data = os.read(fd, _MAX_VALUE_READ)
    except OSError as err:
        raise CNIError(ErrCode.INTERNAL, os_error_text("read", path, err)) from None
    finally:
        os.close(fd)
    text = data.decode(errors="surrogateescape")
    return text[:-1] if text.endswith("\n") else text


def write(path: str, value: str) -> None:
    """Write the value as-is (no newline), like Go's os.WriteFile."""
    try:
        fd = _open(path, os.O_WRONLY)
    except OSError as err:
        raise CNIError(ErrCode.INTERNAL, os_error_text("open", path, err)) from None
    try:
        os.write(fd, value.encode(errors="surrogateescape"))
    except OSError as err:
        raise CNIError(ErrCode.INTERNAL, os_error_text("write", path, err)) from None
    finally:
        os.close(fd)


def apply(targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Write every value; returns the (path, old value) pairs to put back if a later step fails.
    A failing write puts back the ones already made before raising."""
    for path, _ in targets:
        confine(path)
    undo: list[tuple[str, str]] = []
    try:
        for path, value in targets:
            try:
                old = read(path)
            except CNIError:
                old = None  # write-only files (e.g. route/flush) cannot be put back
            write(path, value)
            if old is not None:
                undo.append((path, old))
    except BaseException:
        revert(undo)
        raise
    return undo


def revert(undo: list[tuple[str, str]]) -> None:
    """Best effort: put old values back, newest first."""
    for path, old in reversed(undo):
        try:
            write(path, old)
        except CNIError:
            pass


def verify(targets: list[tuple[str, str]]) -> None:
    """CHECK: each file holds the configured value."""
    for path, _ in targets:
        confine(path)
    for path, wanted in targets:
        current = read(path)
        if current != wanted:
            raise CNIError(
                ErrCode.INTERNAL,
                f"Error: Tuning configured value of {path} is {wanted}, current value is {current}",
            )
