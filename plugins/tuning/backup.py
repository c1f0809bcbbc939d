"""The backup of the link attributes ADD changes, restored by DEL.

Same place and format as Go: `<dataDir>/<containerID>_<ifname>.json`, JSON indented by one space,
holding only the attributes being changed (mac, promisc, mtu, allmulti, txQLen in that order).
Written to an exclusive temporary file and renamed over the target, so a planted symlink is never
followed; read with O_NOFOLLOW.
"""

from __future__ import annotations

import os
import stat

from libcni import gojson
from libcni.files import replace_file_at
from libcni.lean import Record, decode
from libcni.types.errors import CNIError, ErrCode

DIR_MODE = 0o700  # Go uses 0600, which only root can enter; same privacy, usable by anyone
FILE_MODE = 0o600
_MAX_SIZE = 1 << 20


class SavedLink(Record):
    """Go's configToRestore (keys: models.SavedLink): absent (or zero mac/mtu) means 'not changed,
    nothing to restore'."""

    mac: str
    promisc: bool | None
    mtu: int
    allmulti: bool | None
    txQLen: int | None

    def to_go_json(self) -> bytes:
        """Go's json.MarshalIndent(config, "", " "): the struct's field order, omitempty."""
        out = gojson.Struct()
        if self.mac:
            out["mac"] = self.mac
        if self.promisc is not None:
            out["promisc"] = self.promisc
        if self.mtu:
            out["mtu"] = self.mtu
        if self.allmulti is not None:
            out["allmulti"] = self.allmulti
        if self.txQLen is not None:
            out["txQLen"] = self.txQLen
        return gojson.dumps(out, indent=" ")


def backup_path(data_dir: str, container_id: str, ifname: str) -> str:
    """The backup file; names that could leave data_dir are refused (the skeleton already forbids
    '/' in both, this keeps the file layer safe on its own)."""
    for what, value in (("container ID", container_id), ("interface name", ifname)):
        if not value or "/" in value or "\0" in value:
            raise CNIError(
                ErrCode.INVALID_ENVIRONMENT_VARIABLES, f"{what} {value!r} cannot name a backup file"
            )
    return os.path.join(data_dir, f"{container_id}_{ifname}.json")


def save(path: str, saved: SavedLink, ifname: str) -> None:
    directory, name = os.path.split(path)
    try:
        os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
    except OSError as err:
        raise CNIError(ErrCode.INTERNAL, f"failed to create backup directory: {err}") from None
    try:
        _write_replacing(directory, name, saved.to_go_json())
    except OSError as err:
        raise CNIError(ErrCode.INTERNAL, f"failed to save file {ifname}.json: {err}") from None


def _write_replacing(directory: str, name: str, data: bytes) -> None:
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        replace_file_at(dir_fd, name, data, FILE_MODE)
    finally:
        os.close(dir_fd)


def load(path: str) -> SavedLink | None:
    """The saved attributes; None when there is no usable backup (missing, not a regular file,
    a symlink, or not decodable), which DEL treats as nothing to restore, as Go does."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, _MAX_SIZE)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        decoded = gojson.decode_text(data)  # Go's rules (invalid UTF-8 replaced), as stdin's
        if decoded is None:  # Go decodes `null` into an empty struct: nothing to restore
            return SavedLink()
        return decode(schema.SavedLink, decoded) if isinstance(decoded, dict) else None
    except (ValueError, CNIError):  # bad JSON or wrong types
        return None


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------- which network made a backup


def owners_dir(data_dir: str) -> str:
    """Where ADD records the network of each backup: `<dataDir>/networks/<network>/<cid>_<ifname>`
    (a directory, so never mistaken for a `*.json` backup; Go's tuning never looks there)."""
    return os.path.join(data_dir, "networks")


def marker_name(container_id: str, ifname: str) -> str:
    return f"{container_id}_{ifname}"


def record_owner(data_dir: str, network: str, container_id: str, ifname: str) -> None:
    from pkg import owners

    owners.record(network, marker_name(container_id, ifname), ifname, owners_dir(data_dir))


def forget_owner(data_dir: str, network: str, container_id: str, ifname: str) -> None:
    from pkg import owners

    try:
        owners.forget(network, [marker_name(container_id, ifname)], owners_dir(data_dir))
    except (OSError, CNIError):
        pass


def gc(data_dir: str, network: str, valid: set[tuple[str, str]]) -> list[str]:
    """Remove the backups this network's ADDs made for attachments not in `valid` (unless another
    network recorded the same attachment), then their markers; the backups removed. Backups
    without a marker (Go's, or another network's) are never touched."""
    from pkg import owners

    where = owners_dir(data_dir)
    keep = {marker_name(cid, ifname) for cid, ifname in valid}
    stale = [name for name in owners.recorded(network, where) if name not in keep]
    if not stale:
        return []
    shared = owners.elsewhere(network, stale, where)
    removed = []
    for name in stale:
        if name in shared:
            continue
        path = os.path.join(data_dir, name + ".json")
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
                removed.append(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            raise CNIError(ErrCode.INTERNAL, f"failed to remove backup {path}: {err}") from None
    owners.forget(network, stale, where)
    return removed


from . import schema  # noqa: E402 - binds SavedLink to its generated table
