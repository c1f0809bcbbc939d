"""A side index of a network's allocations: which (containerID, ifname) holds which IP.

The Go plugin finds an owner's addresses by reading every file of the network directory
(O(n) per DEL and per ADD). This index answers the same questions with one lookup. It lives
outside the network directory (`<dataDir>/.host-local-index/<network>.db`, a name no network can
have), so the Go plugin never reads, deletes or trips over it.

The index is only trusted while it matches the directory: it records the directory's
(device, inode, mtime) as of its last update, and any create or delete in the directory by
anyone else (the Go plugin, an admin, a process killed mid-operation) changes that mtime. On a
mismatch the store rebuilds the index by reading the directory once. The store does every
directory change before the matching index change and commits both in one transaction, so a
crash in between leaves a stale fingerprint, never a wrong index.

sqlite opens files by name and follows symbolic links, so before it does, the index directory
must be a real directory of ours that nobody else can write to, and the database and its journal
plain files (or absent); otherwise opening fails and the store works without an index.
"""

from __future__ import annotations

import errno
import os
import stat

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    import sqlite3  # imported when an index is opened (with datetime, ~6 ms of a cold call)

INDEX_DIR = ".host-local-index"
_SCHEMA_VERSION = "1"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS alloc(ip TEXT PRIMARY KEY, id TEXT NOT NULL, ifname TEXT) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS alloc_owner ON alloc(id, ifname)",
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID",
)

Owner = tuple[str, "str | None"]  # (container ID, ifname); ifname None = legacy ID-only file


class UnsafeIndex(OSError):
    """The index location could be redirected by someone else: it is not used."""


def _check_private_dir(path: str) -> None:
    """Create the index directory (0700) or make sure the existing one is a real directory,
    owned by us and writable by nobody else (so no one can plant links in it later)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeIndex(errno.ENOTDIR, "not a directory (a link or a file)", path)
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise UnsafeIndex(errno.EPERM, "owned or writable by another user", path)


def _check_plain_file(path: str, create: bool) -> None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | (os.O_CREAT if create else 0), 0o600)
    except FileNotFoundError:
        return
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnsafeIndex(errno.ELOOP, "a symbolic link", path) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeIndex(errno.EINVAL, "not a regular file", path)
    finally:
        os.close(fd)


def index_path(data_dir: str, network: str) -> str:
    return os.path.join(data_dir, INDEX_DIR, network + ".db")


class Index:
    """One network's index; every method may raise sqlite3.Error (the store then stops using it)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @classmethod
    def open(cls, path: str) -> Index:
        import sqlite3

        _check_private_dir(os.path.dirname(path))
        _check_plain_file(path, create=True)
        _check_plain_file(path + "-journal", create=False)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            # The caller holds the network's flock, so sqlite's own locking is uncontended.
            # A killed process is covered by the rollback journal; after a power loss a
            # damaged file fails to open or mismatches, and is rebuilt.
            db.execute("PRAGMA synchronous=OFF")
            db.execute("PRAGMA journal_mode=TRUNCATE")
            db.execute("BEGIN IMMEDIATE")
            if not cls._schema_ok(db):
                db.execute("DROP TABLE IF EXISTS alloc")
                db.execute("DROP TABLE IF EXISTS meta")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("INSERT INTO meta VALUES('schema', ?)", (_SCHEMA_VERSION,))
        except BaseException:
            db.close()
            raise
        return cls(db)

    @staticmethod
    def _schema_ok(db: sqlite3.Connection) -> bool:
        import sqlite3

        try:
            row = db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
        except sqlite3.OperationalError:
            return False
        return row is not None and row[0] == _SCHEMA_VERSION

    # -- fingerprint ------------------------------------------------------------------
    def fingerprint(self) -> str:
        row = self._db.execute("SELECT v FROM meta WHERE k='fingerprint'").fetchone()
        return row[0] if row else ""

    def commit(self, fingerprint: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES('fingerprint', ?)", (fingerprint,))
        self._db.execute("COMMIT")

    def close(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        finally:
            self._db.close()

    # -- content ------------------------------------------------------------------------
    def replace_all(self, allocations: dict[str, Owner]) -> None:
        self._db.execute("DELETE FROM alloc")
        self._db.executemany(
            "INSERT INTO alloc VALUES(?, ?, ?)", ((ip, o[0], o[1]) for ip, o in allocations.items())
        )

    def add(self, ip: str, owner: Owner) -> None:
        self._db.execute("INSERT OR REPLACE INTO alloc VALUES(?, ?, ?)", (ip, owner[0], owner[1]))

    def remove(self, ip: str) -> None:
        self._db.execute("DELETE FROM alloc WHERE ip=?", (ip,))

    def held_by(self, container_id: str, ifname: str | None) -> list[str]:
        if ifname is None:
            rows = self._db.execute("SELECT ip FROM alloc WHERE id=? AND ifname IS NULL", (container_id,))
        else:
            rows = self._db.execute("SELECT ip FROM alloc WHERE id=? AND ifname=?", (container_id, ifname))
        return [r[0] for r in rows]

    def all_ips(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT ip FROM alloc")]

    def all(self) -> dict[str, Owner]:
        return {r[0]: (r[1], r[2]) for r in self._db.execute("SELECT ip, id, ifname FROM alloc")}
