"""The on-disk store, byte-compatible with the Go plugin's disk backend.

Layout under `<dataDir>/<network>/` (shared with the Go plugin, which may run in turns with us):
- `<ip>`: one file per allocated address, named by its canonical text, mode 0600, holding
  `<containerID>\\r\\n<ifname>` without a newline (legacy files hold only the container ID);
- `last_reserved_ip.<range set index>`: the last address reserved from that range set;
- `lock`: every operation holds an exclusive flock on it, as the Go plugin does.

Differences that make us faster and safer, invisible to the Go plugin:
- no symbolic link is followed inside `<dataDir>`: a linked network directory is refused, a
  link planted at `lock` or `last_reserved_ip.N` is replaced by a plain file (never written
  through), and linked or special files named by an address are not read;
- in a big directory (INDEX_MIN_DIR_SIZE) owners are looked up in a side index (see index.py)
  instead of reading every file; when the index is missing, damaged or out of date, one scan of
  the directory rebuilds it (a small directory is read whole, as the Go plugin does: cheaper than
  opening sqlite);
- an address file is written as an anonymous file (O_TMPFILE) and linked into place, so a
  process killed mid-ADD leaves either a complete file or nothing.
"""

from __future__ import annotations

import _socket  # socket.py costs ~2 ms more of a cold call; inet_pton is all this needs
import errno
import fcntl
import os
import stat
import time

from libcni.files import mkdir_all

from .index import Index, index_path
from .ranges import IP, parse_ip

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType, TracebackType

    from .index import Owner

LOCK_FILE = "lock"
LAST_RESERVED_PREFIX = "last_reserved_ip."
_TMP_PREFIX = ".host-local-tmp."
_WHITESPACE = b" \t\n\v\f\r"
_CLOCK_REALTIME_COARSE = 5  # Linux clock id; file timestamps come from this clock
_FENCE_LIMIT = 0.05
# An address file holds a container ID, which arrives in an environment variable (at most
# 128 KiB on Linux), and an ifname: anything longer cannot be the file of a live attachment.
_OWNER_LIMIT = 256 * 1024
_OVERLONG: Owner = ("\0overlong", None)  # no container ID contains NUL: matches nobody
_NOFOLLOW_READ = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW
# With `use_index=None` (what the plugin's verbs use) the side index is opened only when the
# network directory's st_size (a cheap measure of how many entries it has or had, on ext4 and
# tmpfs alike) reaches this: below it, reading every file costs less than importing sqlite3 and
# opening the database (measured: see README.md). Correctness does not depend on it: the index
# rebuilds itself whenever the directory changed behind it.
INDEX_MIN_DIR_SIZE = 24576  # ~800 addresses on ext4, ~1,200 on tmpfs (20 bytes an entry)


class StoreError(Exception):
    """The store cannot be used (directory or lock file cannot be created or opened)."""


def check_path_component(name: str, what: str) -> None:
    """A network name becomes a directory name: it must not be empty, '.', '..' or contain '/'."""
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"{what} {name!r} cannot be used as a directory name")


def owner_of_content(data: bytes) -> Owner:
    """(container ID, ifname) from a file's bytes; ifname is None for a legacy ID-only file."""
    text = data.strip(_WHITESPACE).decode("utf-8", "surrogateescape")
    container_id, sep, ifname = text.partition("\r\n")
    return (container_id, ifname) if sep else (text, None)


def read_owner(fd: int) -> Owner:
    """The owner recorded in an open address file. One read() for the usual few dozen bytes;
    a longer file (a very long container ID) is read to its end, up to _OWNER_LIMIT."""
    data = os.read(fd, 4096)
    if len(data) < 4096:
        return owner_of_content(data)
    chunks = [data]
    size = len(data)
    while size <= _OWNER_LIMIT:
        chunk = os.read(fd, 65536)
        if not chunk:
            return owner_of_content(b"".join(chunks))
        chunks.append(chunk)
        size += len(chunk)
    return _OVERLONG


def content_for(container_id: str, ifname: str) -> bytes:
    return (container_id.strip() + "\r\n" + ifname).encode("utf-8", "surrogateescape")


def is_address_name(name: str) -> bool:
    """Whether a file name is an IPv4 or IPv6 address (inet_pton: no zones, no leading zeros)."""
    if not name or name[0] not in "0123456789abcdefABCDEF:":
        return False
    family = _socket.AF_INET6 if ":" in name else _socket.AF_INET
    try:
        _socket.inet_pton(family, name)
    except OSError:
        return False
    return True


class _MemoryIndex:
    """The index API over one scan held in memory (used when the on-disk index is unusable)."""

    def __init__(self, allocations: dict[str, Owner]) -> None:
        self._allocs = allocations

    def replace_all(self, allocations: dict[str, Owner]) -> None:
        self._allocs = dict(allocations)

    def add(self, ip: str, owner: Owner) -> None:
        self._allocs[ip] = owner

    def remove(self, ip: str) -> None:
        self._allocs.pop(ip, None)

    def held_by(self, container_id: str, ifname: str | None) -> list[str]:
        return [ip for ip, owner in self._allocs.items() if owner == (container_id, ifname)]

    def all_ips(self) -> list[str]:
        return list(self._allocs)

    def all(self) -> dict[str, Owner]:
        return dict(self._allocs)


class _Stale(Exception):
    """The index disagreed with a file on disk."""


class Store:
    """A network's store, locked for the lifetime of the `with` block."""

    def __init__(self, data_dir: str, network: str, use_index: bool | None = True) -> None:
        """`use_index`: True, the side index; False, a scan of every file (as Go); None, the index
        only for a directory of INDEX_MIN_DIR_SIZE bytes or more."""
        check_path_component(network, "network name")
        self.data_dir = data_dir
        self.network = network
        self.dir = os.path.join(data_dir, network)
        self._use_index = use_index
        self._lock_fd = -1
        self._dir_fd = -1
        self._db: Index | None = None
        self._sqlite: ModuleType | None = None  # set when the index is opened
        self._db_errors: tuple[type[BaseException], ...] = ()  # sqlite3.Error, once imported
        self._idx: Index | _MemoryIndex | None = None
        self._changed = False
        self._tmp: tuple[int, str, bytes] | None = None  # (fd, named temp path or "", content)
        # How this operation found owners: "index", "rebuilt" (index refreshed by a scan) or
        # "scan" (no usable index). Tests and the benchmark read it.
        self.mode = ""
        self.index_problem = ""

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> Store:
        try:
            self._open_dir()
            self._lock()
            self._open_index()
        except OSError as err:
            self._unlock()
            raise StoreError(f"{err.strerror or err}: {err.filename or self.dir}") from None
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._drop_tmp()
            self._close_index()
        finally:
            self._unlock()

    def _open_dir(self) -> None:
        """Create and open the network directory, which must be a real directory: a symbolic
        link there (followed by the Go plugin) is refused, so nothing is ever written through it.
        The data directory itself is configuration and may be a link."""
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            try:
                self._dir_fd = os.open(self.dir, flags)
            except FileNotFoundError:
                mkdir_all(self.data_dir, 0o755)
                try:
                    os.mkdir(self.dir, 0o755)
                except FileExistsError:
                    pass
                self._dir_fd = os.open(self.dir, flags)
        except OSError as err:
            if err.errno in (errno.ENOTDIR, errno.ELOOP) and os.path.islink(self.dir):
                raise StoreError(f"{self.dir} is a symbolic link, refusing to follow it") from None
            raise

    def _lock(self) -> None:
        """Take the exclusive flock on `lock` (a plain file, as the Go plugin expects). A link
        planted there is replaced, never followed; if the file was replaced while we waited
        for its lock, the new one is locked instead, so holders always share one inode."""
        for _attempt in range(100):
            try:
                fd = os.open(LOCK_FILE, _NOFOLLOW_READ | os.O_CREAT, 0o750, dir_fd=self._dir_fd)
            except OSError as err:
                if err.errno != errno.ELOOP:
                    raise OSError(err.errno, err.strerror, os.path.join(self.dir, LOCK_FILE)) from None
                self._replace_link(LOCK_FILE, 0o750)
                continue
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise StoreError(f"{os.path.join(self.dir, LOCK_FILE)} is not a regular file")
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    now = os.stat(LOCK_FILE, dir_fd=self._dir_fd, follow_symlinks=False)
                except FileNotFoundError:
                    now = None
            except BaseException:
                os.close(fd)
                raise
            if now is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                self._lock_fd = fd
                return
            os.close(fd)
        raise StoreError(f"{os.path.join(self.dir, LOCK_FILE)} keeps being replaced")

    def _replace_link(self, name: str, mode: int) -> None:
        """Put an empty plain file where a symbolic link is (the link's target is untouched).
        Done under a flock of the directory, so two of us never replace the same link twice
        (the second would swap out a lock file the first already holds)."""
        fcntl.flock(self._dir_fd, fcntl.LOCK_EX)
        try:
            if not stat.S_ISLNK(os.stat(name, dir_fd=self._dir_fd, follow_symlinks=False).st_mode):
                return  # already replaced (by another process of ours) or not a link
            fd, tmp = self._new_named_file(b"", mode)
            os.close(fd)
            try:
                os.rename(tmp, name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
            except BaseException:
                try:
                    os.unlink(tmp, dir_fd=self._dir_fd)
                except OSError:
                    pass
                raise
        except FileNotFoundError:
            return
        finally:
            fcntl.flock(self._dir_fd, fcntl.LOCK_UN)

    def _unlock(self) -> None:
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = -1

    def _wants_index(self) -> bool:
        if self._use_index is None:
            return os.fstat(self._dir_fd).st_size >= INDEX_MIN_DIR_SIZE
        return self._use_index

    def _open_index(self) -> None:
        if self._wants_index():
            import sqlite3

            self._sqlite, self._db_errors = sqlite3, (sqlite3.Error,)
            try:
                self._db = Index.open(index_path(self.data_dir, self.network))
                if self._db.fingerprint() == self._fingerprint():
                    self._idx, self.mode = self._db, "index"
                    return
                self._db.replace_all(self.scan())
                self._idx, self.mode, self._changed = self._db, "rebuilt", True
                return
            except (OSError, sqlite3.Error) as err:
                self._index_failed(err)
        self._idx, self.mode = _MemoryIndex(self.scan()), "scan"

    def _index_failed(self, err: BaseException) -> None:
        """Stop using a broken index for this operation; a damaged file is removed so the next
        operation starts a fresh one."""
        self.index_problem = str(err) or type(err).__name__
        if self._db is not None:
            try:
                self._db.close()
            except self._db_errors:
                pass
            self._db = None
        sqlite3 = self._sqlite
        if (
            sqlite3 is not None
            and isinstance(err, sqlite3.DatabaseError)
            and not isinstance(err, sqlite3.OperationalError)
        ):
            try:
                os.unlink(index_path(self.data_dir, self.network))
            except OSError:
                pass

    def _close_index(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return
        errors: tuple[type[BaseException], ...] = (OSError, *self._db_errors)
        try:
            if self._changed:
                db.commit(self._fenced_fingerprint())
        except errors as err:
            self.index_problem = str(err)
        finally:
            try:
                db.close()
            except self._db_errors:
                pass

    def _fingerprint(self) -> str:
        st = os.fstat(self._dir_fd)
        return f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}"

    def _fenced_fingerprint(self) -> str:
        """The directory's fingerprint, once no later change can carry the same mtime.

        File timestamps normally come from a clock that advances in ticks (4 ms at HZ=250),
        so a change made right after ours (say by a Go plugin waiting for the lock) could get
        the very same mtime. If the mtime lies in the current tick, we wait, still holding the
        lock, for the next one. An mtime ahead of the tick clock is a fine-grained timestamp
        (Linux >= 6.13 "multigrain" file systems): those guarantee that a change after our
        stat() gets a later one, so there is nothing to wait for. Timestamps that look
        second-granular, or a wait that does not end, record no fingerprint: the next
        operation then rescans."""
        st = os.fstat(self._dir_fd)
        mtime = st.st_mtime_ns
        granularity = next((g for g in (10**9, 10**6, 10**3) if mtime % g == 0), 1)
        if granularity == 10**9:
            return ""
        deadline = time.monotonic() + _FENCE_LIMIT
        while True:
            now = time.clock_gettime_ns(_CLOCK_REALTIME_COARSE)
            if now < mtime or now >= mtime + granularity:
                return f"{st.st_dev}:{st.st_ino}:{mtime}"
            if time.monotonic() > deadline:
                return ""
            time.sleep((mtime + granularity - now) / 1e9 + 0.0002)

    def _index_update(self, update: Callable[[Index | _MemoryIndex], object]) -> None:
        """Apply one change to the index after the matching directory change; if the on-disk
        index fails, fall back to an in-memory copy for the rest of this operation (the stored
        fingerprint stays old, so the next operation rebuilds)."""
        assert self._idx is not None
        try:
            update(self._idx)
        except self._db_errors as err:
            self._index_failed(err)
            self._idx, self.mode = _MemoryIndex(self.scan()), "scan"
        self._changed = True

    # -- reading ----------------------------------------------------------------------
    def scan(self) -> dict[str, Owner]:
        """Read every address file of the directory (what the Go plugin does on each call).

        Only top-level files named by an address count; stale temporary files of ours are
        removed (we hold the lock, so no live operation owns them)."""
        allocations: dict[str, Owner] = {}
        dir_fd = self._dir_fd
        for name in os.listdir(dir_fd):
            if name.startswith(_TMP_PREFIX):
                try:
                    os.unlink(name, dir_fd=dir_fd)
                except OSError:
                    pass
                continue
            if not is_address_name(name):
                continue
            try:
                fd = os.open(name, _NOFOLLOW_READ, dir_fd=dir_fd)
            except OSError:  # a symbolic link, or unreadable: not an allocation we can read
                continue
            try:
                allocations[name] = read_owner(fd)
            except OSError:  # a directory: not an allocation
                continue
            finally:
                os.close(fd)
        return allocations

    def allocations(self) -> dict[str, Owner]:
        """Every allocation and its owner, read from disk (authoritative; refreshes the index)."""
        if self.mode == "index":
            self._rebuild()
        assert self._idx is not None
        return self._idx.all()

    def allocated_names(self) -> list[str]:
        assert self._idx is not None
        return self._idx.all_ips()

    def held_by(self, container_id: str, ifname: str) -> list[IP]:
        """Addresses of this attachment, or of a legacy ID-only file (Go's GetByID)."""
        assert self._idx is not None
        container_id = container_id.strip()
        names = self._idx.held_by(container_id, ifname) + self._idx.held_by(container_id, None)
        return [ip for ip in (parse_ip(n) for n in names) if ip is not None]

    def find(self, container_id: str, ifname: str) -> bool:
        """Whether the attachment (or a legacy file of the ID) holds any address (Go's FindByID)."""
        return bool(self.held_by(container_id, ifname))

    def last_reserved(self, range_id: int) -> IP | None:
        try:
            fd = os.open(f"{LAST_RESERVED_PREFIX}{range_id}", _NOFOLLOW_READ, dir_fd=self._dir_fd)
        except OSError:
            return None
        try:
            data = os.read(fd, 256)
        except OSError:
            return None
        finally:
            os.close(fd)
        return parse_ip(data.decode("ascii", "replace"))

    def taken_hint(self) -> frozenset[IP] | None:
        """Every allocated address, when the index is exact (lets the allocator skip them)."""
        if self._idx is None:
            return None
        return frozenset(ip for ip in (parse_ip(n) for n in self._idx.all_ips()) if ip is not None)

    # -- writing ----------------------------------------------------------------------
    def reserve(self, container_id: str, ifname: str, addr: IP, range_id: int) -> bool:
        """Create the address file if it does not exist (False if it does), then record it as
        the range set's last reserved address."""
        name = str(addr)
        content = content_for(container_id, ifname)
        if not self._link_new(name, content):
            return False
        self._index_update(lambda idx: idx.add(name, owner_of_content(content)))
        self._write_last_reserved(range_id, name)
        return True

    def _write_last_reserved(self, range_id: int, name: str) -> None:
        """Overwrite in place and cut to length. Truncating to zero first (what Go's
        os.WriteFile does) makes ext4 flush the file on close: ~3 ms instead of ~30 us. A kill
        in between can leave a mixed address, which only moves where round robin resumes.
        A link or special file planted under the name is replaced, never written through."""
        data = name.encode()
        path = f"{LAST_RESERVED_PREFIX}{range_id}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(path, flags, 0o600, dir_fd=self._dir_fd)
        except OSError as err:
            if err.errno not in (errno.ELOOP, errno.ENXIO):  # ENXIO: a FIFO nobody reads
                raise
            fd = -1
        if fd >= 0 and not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            fd = -1
        if fd < 0:
            os.unlink(path, dir_fd=self._dir_fd)
            fd = os.open(path, flags | os.O_EXCL, 0o600, dir_fd=self._dir_fd)
        try:
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)

    def _link_new(self, name: str, content: bytes) -> bool:
        """Make `name` appear complete or not at all: write an unnamed file, then link it."""
        fd, tmp_path = self._tmp_file(content)
        source = tmp_path or f"/proc/self/fd/{fd}"
        source_dir_fd = self._dir_fd if tmp_path else None
        try:
            # linkat(AT_SYMLINK_FOLLOW) (Python uses it when a dir fd is given): links the
            # file behind /proc/self/fd/N, which works for an O_TMPFILE without privileges.
            os.link(source, name, src_dir_fd=source_dir_fd, dst_dir_fd=self._dir_fd, follow_symlinks=True)
        except FileExistsError:
            return False
        except OSError as err:
            if tmp_path or err.errno not in (errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EINVAL):
                raise
            # No /proc or linkat of an anonymous file refused: use a named temporary file.
            self._drop_tmp()
            self._tmp = self._named_tmp(content)
            return self._link_new(name, content)
        self._drop_tmp()  # linked: the anonymous file is now the address file
        return True

    def _tmp_file(self, content: bytes) -> tuple[int, str]:
        if self._tmp is not None and self._tmp[2] == content:
            return self._tmp[0], self._tmp[1]
        self._drop_tmp()
        try:
            fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=self._dir_fd)
        except OSError as err:
            if err.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise
            self._tmp = self._named_tmp(content)
            return self._tmp[0], self._tmp[1]
        try:
            os.write(fd, content)
        except BaseException:
            os.close(fd)
            raise
        self._tmp = (fd, "", content)
        return fd, ""

    def _named_tmp(self, content: bytes) -> tuple[int, str, bytes]:
        fd, path = self._new_named_file(content, 0o600)
        self._changed = True
        return fd, path, content

    def _new_named_file(self, content: bytes, mode: int) -> tuple[int, str]:
        """A new file under a temporary name (removed by the next scan if we are killed)."""
        path = f"{_TMP_PREFIX}{os.getpid()}.{os.urandom(4).hex()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        fd = os.open(path, flags, mode, dir_fd=self._dir_fd)
        try:
            os.write(fd, content)
        except BaseException:
            os.close(fd)
            os.unlink(path, dir_fd=self._dir_fd)
            raise
        return fd, path

    def _drop_tmp(self) -> None:
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return
        os.close(tmp[0])
        if tmp[1]:
            try:
                os.unlink(tmp[1], dir_fd=self._dir_fd)
            except OSError:
                pass

    def release_by_id(self, container_id: str, ifname: str, passes: int = 1) -> list[str]:
        """Delete this attachment's address files (Go's ReleaseByID, called `passes` times: the
        Go plugin calls it once per range set). Legacy ID-only files of the container go too
        when no attachment file was found, or on a second pass. Returns the deleted names."""
        container_id = container_id.strip()
        for _attempt in range(2):
            assert self._idx is not None
            try:
                deleted = self._delete_owned(container_id, ifname)
                if not deleted or passes >= 2:
                    deleted += self._delete_owned(container_id, None)
                return deleted
            except _Stale:
                self._rebuild()
        raise RuntimeError("the store changed while releasing")  # pragma: no cover

    def release(self, name: str, owner: Owner) -> bool:
        """Delete one address file if it still belongs to `owner` (used by GC)."""
        try:
            return self._delete_if_owned(name, owner)
        except _Stale:
            self._rebuild()
            return False

    def _delete_owned(self, container_id: str, ifname: str | None) -> list[str]:
        assert self._idx is not None
        names = self._idx.held_by(container_id, ifname)
        return [n for n in names if self._delete_if_owned(n, (container_id, ifname))]

    def _delete_if_owned(self, name: str, owner: Owner) -> bool:
        try:
            fd = os.open(name, _NOFOLLOW_READ, dir_fd=self._dir_fd)
        except FileNotFoundError:
            raise _Stale(name) from None
        except OSError as err:
            if err.errno != errno.ELOOP:  # replaced by a link: the scan ignores it
                raise
            raise _Stale(name) from None
        try:
            on_disk = read_owner(fd)
        finally:
            os.close(fd)
        if on_disk != owner:
            raise _Stale(name)
        os.unlink(name, dir_fd=self._dir_fd)
        self._index_update(lambda idx: idx.remove(name))
        return True

    def _rebuild(self) -> None:
        found = self.scan()
        self.mode = "rebuilt" if isinstance(self._idx, Index) else "scan"
        self._index_update(lambda idx: idx.replace_all(found))
