"""Files under dataDir that someone else planted or damaged: no symbolic link is followed, no special
file hangs the plugin, and long owners are read whole."""

from __future__ import annotations

import os
import stat
import time
from ipaddress import ip_address as ip

import pytest

from ipam.host_local.index import INDEX_DIR, index_path
from ipam.host_local.store import Store, StoreError

from .conftest import HostLocal

NET = "mynet"


def net_dir(data: str) -> str:
    path = os.path.join(data, NET)
    os.makedirs(path, exist_ok=True)
    return path


@pytest.mark.parametrize("use_index", [True, False])
def test_a_container_id_longer_than_one_read_is_released(tmp_path, use_index):
    data = str(tmp_path)
    long_id = "x" * 100_000
    with Store(data, NET, use_index=use_index) as s:
        assert s.reserve(long_id, "eth0", ip("10.5.0.2"), 0)
        assert s.reserve("short", "eth0", ip("10.5.0.3"), 0)
    os.utime(os.path.join(data, NET), ns=(0, 0))  # forces a rescan when the index is used
    with Store(data, NET, use_index=use_index) as s:
        assert s.mode == ("rebuilt" if use_index else "scan")
        assert s.held_by(long_id, "eth0") == [ip("10.5.0.2")]
        assert s.held_by(long_id[:4096], "eth0") == []
        assert s.release_by_id(long_id, "eth0") == ["10.5.0.2"]
    assert sorted(os.listdir(os.path.join(data, NET))) == ["10.5.0.3", "last_reserved_ip.0", "lock"]


def test_an_oversized_address_file_matches_nobody_but_stays_allocated(tmp_path):
    data = str(tmp_path)
    with open(os.path.join(net_dir(data), "10.5.0.2"), "wb") as f:
        f.write(b"y" * (300 * 1024) + b"\r\neth0")
    with Store(data, NET) as s:
        owner = s.allocations()["10.5.0.2"]
        assert owner[0] != "y" * (300 * 1024)
        assert not s.reserve("other", "eth0", ip("10.5.0.2"), 0)


def test_a_linked_network_directory_is_refused(hl: HostLocal, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.makedirs(hl.data_dir)
    os.symlink(elsewhere, hl.net_dir)
    conf = hl.conf(subnet="10.1.2.0/24")
    err = hl.add(conf).error()
    assert (err["code"], err["details"]) == (5, "ipam.dataDir")
    assert "symbolic link" in err["msg"] and hl.net_dir in err["msg"]
    assert hl.delete(conf).error()["code"] == 5
    assert list(elsewhere.iterdir()) == []
    with pytest.raises(StoreError, match="symbolic link"):
        Store(hl.data_dir, hl.network).__enter__()


def test_a_dangling_link_as_network_directory_is_refused(hl: HostLocal, tmp_path):
    os.makedirs(hl.data_dir)
    os.symlink(tmp_path / "nothing", hl.net_dir)
    err = hl.add(hl.conf(subnet="10.1.2.0/24")).error()
    assert err["code"] == 5 and "symbolic link" in err["msg"]
    assert not (tmp_path / "nothing").exists()


def test_a_linked_data_dir_is_configuration_and_followed(hl: HostLocal, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, hl.data_dir)
    assert hl.add(hl.conf(subnet="10.1.2.0/24")).addresses() == ["10.1.2.2/24"]
    assert (real / hl.network / "10.1.2.2").is_file()


@pytest.mark.parametrize("dangling", [True, False])
def test_a_link_at_lock_is_replaced_by_a_plain_file(tmp_path, dangling):
    data = str(tmp_path / "data")
    victim = tmp_path / "victim"
    if not dangling:
        victim.write_bytes(b"keep")
    lock = os.path.join(net_dir(data), "lock")
    os.symlink(victim, lock)
    with Store(data, NET) as s:
        assert s.reserve("a", "eth0", ip("10.5.0.2"), 0)
        held = os.fstat(s._lock_fd)
        assert stat.S_ISREG(os.lstat(lock).st_mode)
        assert (held.st_dev, held.st_ino) == (os.lstat(lock).st_dev, os.lstat(lock).st_ino)
    assert victim.read_bytes() == b"keep" if not dangling else not victim.exists()
    assert not [n for n in os.listdir(os.path.dirname(lock)) if n.startswith(".host-local-tmp")]


def test_a_special_file_at_lock_is_an_error_not_a_hang(hl: HostLocal):
    os.makedirs(hl.net_dir)
    os.mkfifo(os.path.join(hl.net_dir, "lock"))
    err = hl.add(hl.conf(subnet="10.1.2.0/24")).error()
    assert err["code"] == 5 and "not a regular file" in err["msg"]


def test_a_lock_file_replaced_while_waiting_is_relocked(tmp_path):
    """A waiter that gets the lock of an inode no longer at `lock` locks the new one instead,
    so it never runs beside a process holding the new file's lock."""
    data = str(tmp_path)
    # No index: a forked child must not use sqlite state inherited from its parent.
    with Store(data, NET, use_index=False) as first:
        lock = os.path.join(first.dir, "lock")
        old_inode = os.fstat(first._lock_fd).st_ino
        pid = os.fork()
        if pid == 0:  # the waiter: opens the old inode and blocks on its flock
            code = 2
            try:
                os.close(first._lock_fd)  # the inherited copy; the parent still holds the flock
                with Store(data, NET, use_index=False) as second:
                    code = 0 if os.fstat(second._lock_fd).st_ino == os.lstat(lock).st_ino else 1
            finally:
                os._exit(code)
        deadline = time.monotonic() + 10
        while f":{old_inode} " not in _blocked_locks() and time.monotonic() < deadline:
            time.sleep(0.01)
        with open(lock + ".new", "w"):
            pass
        os.rename(lock + ".new", lock)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def _blocked_locks() -> str:
    """/proc/locks lines of waiters ("-> ...") with their "dev:inode " field."""
    with open("/proc/locks") as f:
        return "".join(line.split("FLOCK", 1)[-1] for line in f if "->" in line)


@pytest.mark.parametrize("kind", ["link", "dangling", "fifo"])
def test_last_reserved_is_replaced_never_written_through(tmp_path, kind):
    data = str(tmp_path / "data")
    victim = tmp_path / "victim"
    path = os.path.join(net_dir(data), "last_reserved_ip.0")
    if kind == "link":
        victim.write_bytes(b"10.5.0.200")
        os.symlink(victim, path)
    elif kind == "dangling":
        os.symlink(victim, path)
    else:
        os.mkfifo(path)
    with Store(data, NET) as s:
        assert s.last_reserved(0) is None  # a link is not read through, a FIFO does not block
        assert s.reserve("a", "eth0", ip("10.5.0.2"), 0)
    assert stat.S_ISREG(os.lstat(path).st_mode)
    with open(path, "rb") as f:
        assert f.read() == b"10.5.0.2"
    assert victim.read_bytes() == b"10.5.0.200" if kind == "link" else not victim.exists()


def test_address_named_links_and_fifos_are_not_read(tmp_path):
    data = str(tmp_path / "data")
    secret = tmp_path / "secret"
    secret.write_bytes(b"victim\r\neth0")
    directory = net_dir(data)
    os.symlink(secret, os.path.join(directory, "10.5.0.2"))
    os.mkfifo(os.path.join(directory, "10.5.0.3"))
    with Store(data, NET) as s:
        assert "10.5.0.2" not in s.allocations()
        assert s.held_by("victim", "eth0") == []
        assert s.release_by_id("victim", "eth0") == []
        assert not s.reserve("a", "eth0", ip("10.5.0.2"), 0)  # the name exists: never reused
    assert secret.read_bytes() == b"victim\r\neth0"


@pytest.mark.parametrize("where", ["file", "journal", "directory"])
def test_a_linked_index_is_not_used(tmp_path, where):
    data = str(tmp_path / "data")
    victim = tmp_path / "victim"
    index_dir = os.path.join(data, INDEX_DIR)
    if where == "directory":
        victim.mkdir()
        os.makedirs(data)
        os.symlink(victim, index_dir)
    else:
        os.makedirs(index_dir, mode=0o700)
        suffix = ".db" if where == "file" else ".db-journal"
        os.symlink(victim, os.path.join(index_dir, NET + suffix))
    for _ in range(2):
        with Store(data, NET) as s:
            assert s.mode == "scan" and "link" in s.index_problem
            s.reserve(f"c{_}", "eth0", ip("10.5.0.2") + _, 0)
        with Store(data, NET) as s:
            assert s.held_by(f"c{_}", "eth0") == [ip("10.5.0.2") + _]
    assert not victim.exists() or (victim.is_dir() and list(victim.iterdir()) == [])


def test_an_index_directory_others_can_write_is_not_used(tmp_path):
    data = str(tmp_path)
    index_dir = os.path.join(data, INDEX_DIR)
    os.makedirs(index_dir)
    os.chmod(index_dir, 0o777)
    with Store(data, NET) as s:
        assert s.mode == "scan" and "another user" in s.index_problem
    assert not os.path.exists(index_path(data, NET))
    os.chmod(index_dir, 0o700)
    with Store(data, NET) as s:
        assert s.mode == "rebuilt"


def test_a_new_index_directory_is_private(tmp_path):
    data = str(tmp_path)
    with Store(data, NET):
        pass
    assert stat.S_IMODE(os.lstat(os.path.join(data, INDEX_DIR)).st_mode) & 0o077 == 0
    assert stat.S_ISREG(os.lstat(index_path(data, NET)).st_mode)


# -- resolvConf ---------------------------------------------------------------------------


def test_resolv_conf_through_a_link_is_read(hl: HostLocal, tmp_path):
    (tmp_path / "real.conf").write_text("nameserver 192.0.2.9\n")
    os.symlink(tmp_path / "real.conf", tmp_path / "resolv.conf")
    reply = hl.add(hl.conf(subnet="10.1.2.0/24", resolvConf=str(tmp_path / "resolv.conf"))).ok()
    assert reply.json["dns"] == {"nameservers": ["192.0.2.9"]}


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "too-large"])
def test_resolv_conf_that_is_not_a_small_file_is_a_config_error(hl: HostLocal, tmp_path, kind):
    path = tmp_path / "resolv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = "/dev/zero"
    elif kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"# padding\n" * 7000 + b"nameserver 192.0.2.1\n")
    err = hl.add(hl.conf(subnet="10.1.2.0/24", resolvConf=str(path))).error()
    assert (err["code"], err["details"]) == (7, "ipam.resolvConf")
    assert str(path) in err["msg"]
    assert ("larger than" if kind == "too-large" else "not a regular file") in err["msg"]
    assert not os.path.exists(hl.net_dir)  # failed before allocating
