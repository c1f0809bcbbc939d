"""`removeEmptyBridge` (opt-in, not in Go; plugins#282): DEL removes the bridge once its last port
is gone, but only a bridge this plugin made and only while it holds nothing else.

ADD records, in `<STATE_DIR>/<bridge>`, that it created the bridge (a bridge that already existed,
made by an admin, Go's plugin or anyone else, never gets a record) and which gateway addresses it
put on it. DEL, after the container's veth is gone, removes the bridge when:
- there is a record (we made it);
- no link has it as master, or rides on it (no port at all, ours or not);
- every address on it is one we recorded, or an IPv6 link-local one the kernel made.
Then the record goes too. ADD holds `<STATE_DIR>/<bridge>.lock` from the bridge lookup until its
port is attached, and DEL holds it around the check and the removal, so a DEL never takes the
bridge away under an ADD that is attaching to it.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import sys

from libcni import gojson
from libcni.files import mkdir_all, replace_file_at

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    from collections.abc import Iterable

STATE_DIR = "/var/lib/cni/bridge"
DIR_MODE = 0o700
FILE_MODE = 0o600
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def _safe(name: str) -> bool:
    return bool(name) and "/" not in name and "\0" not in name and not name.startswith(".")


class locked:  # noqa: N801  (used as a function: `with locked(bridge) as dir_fd:`)
    """An exclusive lock for this bridge's lifecycle; gives the state directory's fd. (A plain
    context manager class: `contextlib` costs ~4 ms of a cold call.)"""

    __slots__ = ("bridge", "state_dir", "_fds")

    def __init__(self, bridge: str, state_dir: str = STATE_DIR) -> None:
        self.bridge = bridge
        self.state_dir = state_dir
        self._fds: list[int] = []

    def __enter__(self) -> int:
        mkdir_all(self.state_dir, DIR_MODE)
        dir_fd = os.open(self.state_dir, _DIR_FLAGS)
        self._fds.append(dir_fd)
        try:
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(f"{self.bridge}.lock", flags, FILE_MODE, dir_fd=dir_fd)
            self._fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._close()
            raise
        return dir_fd

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        while self._fds:
            os.close(self._fds.pop())  # the lock file first: releases the lock


def read(dir_fd: int, bridge: str) -> set[str] | None:
    """The addresses recorded for a bridge we made; None when we did not make it."""
    try:
        fd = os.open(bridge, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        data = gojson.decode_text(os.read(fd, 1 << 16) or b"{}")
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    addresses = data.get("addresses", []) if isinstance(data, dict) else []
    return {str(a) for a in addresses if isinstance(a, str)}


def write(dir_fd: int, bridge: str, addresses: Iterable[str]) -> None:
    data = gojson.dumps({"addresses": sorted(set(addresses))})
    replace_file_at(dir_fd, bridge, data, FILE_MODE)


def forget(dir_fd: int, bridge: str) -> None:
    try:
        os.unlink(bridge, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def removable(bridge_index: int, links, addresses: Iterable[str], ours: set[str]) -> bool:
    """Pure: no link is enslaved to or stacked on the bridge, and each address is ours or an IPv6
    link-local one."""
    for link in links:
        if link.index == bridge_index:
            continue
        if link.master == bridge_index or (link.peer_index == bridge_index and link.netnsid == -1):
            return False
    for cidr in addresses:
        iface = ipaddress.ip_interface(cidr)
        if cidr in ours or (iface.version == 6 and iface.ip.is_link_local):
            continue
        return False
    return True


def _remove_locked(nl, dir_fd: int, bridge: str) -> bool:
    ours = read(dir_fd, bridge)
    if ours is None:
        return False
    link = nl.get_link(bridge)
    if link is None:
        forget(dir_fd, bridge)
        return False
    if link.kind != "bridge":
        return False
    addresses = [a.cidr for a in nl.addrs(link.index)]
    if not removable(link.index, nl.links(), addresses, ours):
        return False
    nl.del_link(link.index)
    forget(dir_fd, bridge)
    return True


def _quietly(bridge: str, step) -> bool:
    try:
        return step()
    except Exception as err:  # noqa: BLE001 - an optional clean-up never fails the verb
        sys.stderr.write(f"could not remove empty bridge {bridge}: {err}\n")
        return False


def remove_if_empty(nl, bridge: str, state_dir: str = STATE_DIR) -> bool:
    """DEL's step: remove the bridge if we made it and it is empty; errors only go to stderr."""
    if not _safe(bridge):
        return False

    def step() -> bool:
        with locked(bridge, state_dir) as dir_fd:
            return _remove_locked(nl, dir_fd, bridge)

    return _quietly(bridge, step)


class AddTracker:
    """ADD's side, used inside `tracking()` (the lock is held throughout)."""

    def __init__(self, nl, bridge: str, dir_fd: int) -> None:
        self.nl, self.bridge, self.dir_fd = nl, bridge, dir_fd

    def ensure(self, make, rollback):
        """`make()` the bridge; if that created it, record it, and on rollback remove it again
        when it is still empty (a failed ADD leaves nothing it made)."""
        existed = self.nl.get_link(self.bridge) is not None
        link = make()
        if not existed:
            write(self.dir_fd, self.bridge, ())
            rollback.push(
                "remove the empty bridge",
                lambda: _quietly(self.bridge, lambda: _remove_locked(self.nl, self.dir_fd, self.bridge)),
            )
        return link

    def done(self, result) -> None:
        """Record the gateway addresses this ADD put on a bridge we made."""
        ours = read(self.dir_fd, self.bridge)
        if ours is None:
            return
        link = self.nl.get_link(self.bridge)
        if link is None:
            return
        present = {a.cidr for a in self.nl.addrs(link.index)}
        gateways = set()
        for ip in result.ips:
            if ip.gateway:
                gateways.add(f"{ip.gateway}/{ipaddress.ip_interface(ip.address).network.prefixlen}")
        added = (gateways & present) - ours
        if added:
            write(self.dir_fd, self.bridge, ours | added)


class _Off:
    def ensure(self, make, rollback):
        return make()

    def done(self, result) -> None:
        pass


class tracking:  # noqa: N801  (used as a function: `with tracking(nl, bridge, on) as tracker:`)
    """The ADD tracker under the bridge's lock when `removeEmptyBridge` is on; a no-op otherwise."""

    __slots__ = ("nl", "bridge", "_lock")

    def __init__(self, nl, bridge: str, enabled: bool, state_dir: str = STATE_DIR) -> None:
        self.nl = nl
        self.bridge = bridge
        self._lock = locked(bridge, state_dir) if enabled and _safe(bridge) else None

    def __enter__(self) -> AddTracker | _Off:
        if self._lock is None:
            return _Off()
        return AddTracker(self.nl, self.bridge, self._lock.__enter__())

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.__exit__(*exc)
