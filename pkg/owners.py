"""Which networks' ADDs made something keyed only by container (portmap's nftables rules, tuning's
backups), so that one network's GC touches only its own.

Used by portmap (below, the default STATE_DIR) and by tuning (markers of its backups, keyed
`<containerID>_<ifname>`, under `<dataDir>/networks`).

The nft rules carry only the container ID as their comment (Go's DEL finds them by exactly that),
so the network is recorded beside them: `<STATE_DIR>/<network>/<containerID>`, an empty-ish file
holding the interface name of the last ADD (informational: the rules are per container). GC of a
network only considers containers with a marker there, so it never removes rules another network
(or Go's portmap, which writes no markers) made.

Directories are 0700 and files 0600; the network directory and the marker are opened relative to
their parent without following symlinks, and a marker is written to a temporary file that is
renamed over it, so a planted link is never written through.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable

from libcni.files import replace_file_at
from libcni.types.errors import CNIError, ErrCode

STATE_DIR = "/var/lib/cni/portmap"
DIR_MODE = 0o700
FILE_MODE = 0o600
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _is_safe(value: str) -> bool:
    """One path component: no separator, NUL, or leading dot ('.', '..' and our temporary files).
    The skeleton already forbids these; this keeps the file layer safe on its own."""
    return bool(value) and "/" not in value and "\0" not in value and not value.startswith(".")


def _safe_name(what: str, value: str, code: int) -> str:
    if not _is_safe(value):
        raise CNIError(code, f"{what} {value!r} cannot name a portmap state file")
    return value


def _network_dir(network: str, state_dir: str, create: bool) -> int | None:
    """An fd of the network's directory (never through a symlink); None if it does not exist."""
    name = _safe_name("network name", network, ErrCode.INVALID_NETWORK_CONFIG)
    if create:
        os.makedirs(state_dir, mode=DIR_MODE, exist_ok=True)
    try:
        root = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        if create:
            try:
                os.mkdir(name, DIR_MODE, dir_fd=root)
            except FileExistsError:
                pass
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=root)
        except FileNotFoundError:
            return None
    finally:
        os.close(root)


def record(network: str, container_id: str, ifname: str, state_dir: str = STATE_DIR) -> None:
    """Mark the container's rules as made by this network's ADD (atomically replaced)."""
    name = _safe_name("container ID", container_id, ErrCode.INVALID_ENVIRONMENT_VARIABLES)
    where = os.path.join(state_dir, network, container_id)
    try:
        dir_fd = _network_dir(network, state_dir, create=True)
        assert dir_fd is not None
        try:
            replace_file_at(dir_fd, name, f"{ifname}\n".encode(), FILE_MODE)
        finally:
            os.close(dir_fd)
    except OSError as err:
        raise CNIError(ErrCode.INTERNAL, f"failed to record port mapping owner {where}: {err}") from None


def forget(network: str, container_ids: Iterable[str], state_dir: str = STATE_DIR) -> None:
    """Remove the markers (missing ones, or a network directory that is not one, are fine)."""
    try:
        dir_fd = _network_dir(network, state_dir, create=False)
    except OSError:
        return
    if dir_fd is None:
        return
    try:
        for container_id in container_ids:
            if not _is_safe(container_id):
                continue
            try:
                os.unlink(container_id, dir_fd=dir_fd)
            except (FileNotFoundError, NotADirectoryError):
                pass
            except OSError as err:
                if err.errno != errno.ENAMETOOLONG:  # such a marker cannot exist
                    raise
    finally:
        os.close(dir_fd)


def recorded(network: str, state_dir: str = STATE_DIR) -> list[str]:
    """The container IDs with a marker of this network (regular files only)."""
    try:
        dir_fd = _network_dir(network, state_dir, create=False)
    except OSError as err:
        where = os.path.join(state_dir, network)
        raise CNIError(ErrCode.INTERNAL, f"failed to read port mapping owners {where}: {err}") from None
    if dir_fd is None:
        return []
    try:
        return sorted(
            name for name in os.listdir(dir_fd) if not name.startswith(".") and _is_file(name, dir_fd)
        )
    finally:
        os.close(dir_fd)


def elsewhere(network: str, container_ids: Iterable[str], state_dir: str = STATE_DIR) -> set[str]:
    """Those of the containers that also have a marker in another network's directory."""
    wanted = {cid for cid in container_ids if _is_safe(cid)}
    found: set[str] = set()
    if not wanted:
        return found
    try:
        entries = list(os.scandir(state_dir))
    except OSError:
        return found
    for entry in entries:
        if entry.name == network or not entry.is_dir(follow_symlinks=False):
            continue
        found |= {cid for cid in wanted - found if _is_file(os.path.join(entry.path, cid))}
    return found


def _is_file(name: str, dir_fd: int | None = None) -> bool:
    try:
        return stat.S_ISREG(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False
