"""Install a directory of programs onto a node so that no runtime ever runs a half-written one.

The source is a release layout: programs at the top level (files or relative links) and
support directories beside them. In the destination:
- a support directory NAME becomes a link NAME -> .NAME-<content hash>, a complete copy made
  aside first; the link is replaced by rename, so a program sees the old tree or the new one,
  never a mix. The copy it replaced stays (a plugin running right now may still read it) until
  the next version replaces it in turn.
- each program is written aside (or its link made aside), flushed, then renamed over the old.
Support directories go first, so a new program never points at a tree that is not there yet.
Anything already identical is left alone: a second run changes nothing.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass, field

CHUNK = 1 << 20
# what _aside() names look like; one left by a killed installer is removed once it is this old
ASIDE = re.compile(r"^\..+\.\d+\.new$")
STALE_AFTER = 600.0


@dataclass
class Report:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _file_digest(path: str, h) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)


def tree_digest(root: str) -> str:
    """sha256 over a tree's relative paths, kinds, exec bits, link targets and file contents."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                h.update(f"L {rel} {os.readlink(path)}\0".encode())
            elif stat.S_ISREG(st.st_mode):
                h.update(f"F {rel} {st.st_mode & 0o111:o} {st.st_size}\0".encode())
                _file_digest(path, h)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def _source_digest(root: str) -> str:
    """The source is the image's own read-only copy: hash it once per process, not every pass."""
    return tree_digest(root)


def remove_stale_asides(directory: str, report: Report | None = None, now: float | None = None) -> None:
    """Temporary copies of an installer that was killed mid-write (SIGKILL, node reboot)."""
    now = time.time() if now is None else now
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        path = os.path.join(directory, name)
        if ASIDE.match(name) and now - os.lstat(path).st_mtime > STALE_AFTER:
            _remove(path)
            if report is not None:
                report.removed.append(name)


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_file(src: str, dst: str, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(dst, flags, 0o600)
    try:
        with open(src, "rb") as f:
            while chunk := f.read(CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_tree(src: str, dst: str) -> None:
    """A full copy of src at dst (which must not exist), every file flushed."""
    os.mkdir(dst, 0o755)
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target_dir = os.path.normpath(os.path.join(dst, rel))
        for name in list(dirnames):
            s, d = os.path.join(dirpath, name), os.path.join(target_dir, name)
            if os.path.islink(s):
                os.symlink(os.readlink(s), d)
                dirnames.remove(name)
            else:
                os.mkdir(d, 0o755)
        for name in filenames:
            s, d = os.path.join(dirpath, name), os.path.join(target_dir, name)
            st = os.lstat(s)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(s), d)
            elif stat.S_ISREG(st.st_mode):
                _copy_file(s, d, 0o755 if st.st_mode & 0o111 else 0o644)
    for dirpath, _dirnames, _filenames in os.walk(dst):
        _fsync_path(dirpath)


def _same_file(a: str, b: str) -> bool:
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except FileNotFoundError:
        return False
    if not (stat.S_ISREG(sa.st_mode) and stat.S_ISREG(sb.st_mode)):
        return False
    if sa.st_size != sb.st_size or (sa.st_mode & 0o777) != (sb.st_mode & 0o777):
        return False
    ha, hb = hashlib.sha256(), hashlib.sha256()
    _file_digest(a, ha)
    _file_digest(b, hb)
    return ha.digest() == hb.digest()


def _aside(dest_dir: str, name: str) -> str:
    return os.path.join(dest_dir, f".{name}.{os.getpid()}.new")


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _link_into_place(dest_dir: str, name: str, target: str) -> bool:
    """Make dest_dir/name a link to target by rename; False when it already was."""
    path = os.path.join(dest_dir, name)
    if os.path.islink(path) and os.readlink(path) == target:
        return False
    tmp = _aside(dest_dir, name)
    _remove(tmp)
    os.symlink(target, tmp)
    if os.path.isdir(path) and not os.path.islink(path):
        # A real directory (e.g. an earlier tarball install) cannot be replaced by rename:
        # move it aside first; it stays until the next version replaces ours.
        replaced = os.path.join(dest_dir, f".{name}-replaced")
        _remove(replaced)
        os.rename(path, replaced)
    os.rename(tmp, path)
    return True


def _install_support_dir(src: str, dest_dir: str, name: str, report: Report) -> None:
    version = f".{name}-{_source_digest(os.path.realpath(src))[:16]}"
    final = os.path.join(dest_dir, version)
    if not os.path.isdir(final):
        tmp = _aside(dest_dir, name + "-tree")
        _remove(tmp)
        _copy_tree(src, tmp)
        os.rename(tmp, final)
    link = os.path.join(dest_dir, name)
    previous: str | None
    if os.path.islink(link):
        previous = os.readlink(link)
    else:  # a real directory (tarball install) is moved aside by _link_into_place
        previous = f".{name}-replaced" if os.path.isdir(link) else None
    if _link_into_place(dest_dir, name, version):
        report.changed.append(name + "/")
    else:
        report.unchanged.append(name + "/")
    # keep the current tree and the one it just replaced; older ones have no reader left
    keep = {version, previous}
    versions = re.compile(rf"^\.{re.escape(name)}-([0-9a-f]{{16}}|replaced)$")
    for entry in os.listdir(dest_dir):
        if versions.match(entry) and entry not in keep:
            _remove(os.path.join(dest_dir, entry))
            report.removed.append(entry)


def _install_program(src: str, dest_dir: str, name: str, report: Report) -> None:
    dst = os.path.join(dest_dir, name)
    if os.path.islink(src):
        changed = _link_into_place(dest_dir, name, os.readlink(src))
    elif _same_file(src, dst):
        changed = False
    else:
        tmp = _aside(dest_dir, name)
        _remove(tmp)
        _copy_file(src, tmp, 0o755)
        os.rename(tmp, dst)
        changed = True
    (report.changed if changed else report.unchanged).append(name)


def install_programs(source: str, dest_dir: str, skip: frozenset[str] = frozenset()) -> Report:
    """Install every program and support directory of `source` into `dest_dir` (see module doc)."""
    report = Report()
    os.makedirs(dest_dir, mode=0o755, exist_ok=True)
    remove_stale_asides(dest_dir, report)
    entries = sorted(e for e in os.listdir(source) if e not in skip and not e.startswith("."))
    dirs = [e for e in entries if os.path.isdir(os.path.join(source, e))]
    dirs = [e for e in dirs if not os.path.islink(os.path.join(source, e))]
    programs = [e for e in entries if e not in dirs]
    for name in dirs:
        _install_support_dir(os.path.join(source, name), dest_dir, name, report)
    for name in programs:
        _install_program(os.path.join(source, name), dest_dir, name, report)
    _fsync_path(dest_dir)
    return report


def write_if_changed(path: str, data: bytes, mode: int = 0o644) -> bool:
    """Write a config file aside and rename it into place, only when its bytes differ."""
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    except FileNotFoundError:
        pass
    directory, name = os.path.split(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    remove_stale_asides(directory)
    tmp = _aside(directory, name)
    _remove(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    return True
