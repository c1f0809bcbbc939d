"""The on-disk store: Go's layout, the side index and when it is trusted, crash-safe writes."""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from ipaddress import ip_address as ip

import pytest

from ipam.host_local import store as store_module
from ipam.host_local.index import INDEX_DIR, index_path
from ipam.host_local.store import Store, owner_of_content

from .conftest import HostLocal

NET = "mynet"


def fill(data_dir: str, count: int, prefix: str = "c") -> None:
    with Store(data_dir, NET) as s:
        for n in range(count):
            assert s.reserve(f"{prefix}{n}", "eth0", ip("10.5.0.2") + n, 0)


def no_scan(monkeypatch) -> None:
    def boom(self):
        raise AssertionError("the directory was scanned")

    monkeypatch.setattr(Store, "scan", boom)


def test_layout_is_gos(tmp_path):
    data = str(tmp_path)
    with Store(data, NET) as s:
        assert s.reserve("   dummy\n ", "eth0", ip("10.1.2.2"), 0)
        assert s.reserve("dummy", "eth0", ip("2001:db8::2"), 1)
        assert not s.reserve("other", "eth0", ip("10.1.2.2"), 0)
    names = sorted(os.listdir(os.path.join(data, NET)))
    assert names == ["10.1.2.2", "2001:db8::2", "last_reserved_ip.0", "last_reserved_ip.1", "lock"]
    with open(os.path.join(data, NET, "10.1.2.2"), "rb") as f:
        assert f.read() == b"dummy\r\neth0"
    with open(os.path.join(data, NET, "last_reserved_ip.1"), "rb") as f:
        assert f.read() == b"2001:db8::2"
    # The index lives beside the network directories, under a name no network can have.
    assert os.path.isfile(index_path(data, NET))
    assert os.path.dirname(index_path(data, NET)) == os.path.join(data, INDEX_DIR)


def test_owner_parsing_trims_like_go():
    assert owner_of_content(b"  abc\r\neth0\n") == ("abc", "eth0")
    assert owner_of_content(b"abc\n") == ("abc", None)
    assert owner_of_content(b"") == ("", None)


def test_del_and_add_use_the_index_without_scanning(tmp_path, monkeypatch):
    data = str(tmp_path)
    fill(data, 300)
    # The plugin opens the index for a big directory only: make 300 allocations count as big.
    monkeypatch.setattr(store_module, "INDEX_MIN_DIR_SIZE", os.stat(os.path.join(data, NET)).st_size)
    no_scan(monkeypatch)
    with Store(data, NET) as s:
        assert s.mode == "index"
        assert s.held_by("c7", "eth0") == [ip("10.5.0.9")]
        assert s.release_by_id("c7", "eth0") == ["10.5.0.9"]
        assert s.held_by("c8", "eth1") == []
    hl = HostLocal(data)
    conf = hl.conf(subnet="10.5.0.0/16")
    assert hl.add(conf, "new").addresses() == ["10.5.1.46/16"]  # after the last reserved 10.5.1.45
    hl.run("CHECK", {**conf, "cniVersion": "0.4.0"}, "new").ok()
    hl.delete(conf, "c9").ok()
    hl.delete(conf, "never-added").ok()
    assert "10.5.0.11" not in hl.allocations() and len(hl.allocations()) == 299


def test_the_plugin_scans_a_small_directory_and_indexes_a_big_one(tmp_path, monkeypatch):
    """use_index=None (the verbs): below INDEX_MIN_DIR_SIZE a scan (no sqlite3), from it the index."""
    data = str(tmp_path)
    fill(data, 5)
    size = os.stat(os.path.join(data, NET)).st_size
    monkeypatch.setattr(store_module, "INDEX_MIN_DIR_SIZE", size + 1)
    with Store(data, NET, use_index=None) as s:
        assert s.mode == "scan" and s.held_by("c3", "eth0") == [ip("10.5.0.5")]
    monkeypatch.setattr(store_module, "INDEX_MIN_DIR_SIZE", size)
    with Store(data, NET, use_index=None) as s:
        assert s.mode == "index" and s.held_by("c3", "eth0") == [ip("10.5.0.5")]


def test_changes_made_without_the_index_are_noticed_by_the_index(tmp_path, monkeypatch):
    """Calls on a small directory leave the index alone; the directory's fingerprint tells the
    next call that uses it to rebuild (as for the Go plugin's changes)."""
    data = str(tmp_path)
    fill(data, 5)
    monkeypatch.setattr(store_module, "INDEX_MIN_DIR_SIZE", 1 << 40)
    with Store(data, NET, use_index=None) as s:
        assert s.mode == "scan"
        assert s.reserve("unindexed", "eth0", ip("10.5.0.50"), 0)
        assert s.release_by_id("c1", "eth0") == ["10.5.0.3"]
    monkeypatch.setattr(store_module, "INDEX_MIN_DIR_SIZE", 0)
    with Store(data, NET, use_index=None) as s:
        assert s.mode == "rebuilt"
        assert s.held_by("unindexed", "eth0") == [ip("10.5.0.50")]
        assert s.held_by("c1", "eth0") == []
    with Store(data, NET, use_index=None) as s:
        assert s.mode == "index"


def test_files_created_by_others_are_found(tmp_path):
    data = str(tmp_path)
    fill(data, 5)
    with open(os.path.join(data, NET, "10.5.0.100"), "w") as f:
        f.write("from-go\r\neth0")
    with Store(data, NET) as s:
        assert s.mode == "rebuilt"
        assert s.held_by("from-go", "eth0") == [ip("10.5.0.100")]
    with Store(data, NET) as s:
        assert s.mode == "index"
        assert s.release_by_id("from-go", "eth0") == ["10.5.0.100"]


def test_files_deleted_by_others_are_noticed(tmp_path):
    data = str(tmp_path)
    fill(data, 5)
    os.unlink(os.path.join(data, NET, "10.5.0.3"))
    with Store(data, NET) as s:
        assert s.mode == "rebuilt"
        assert s.held_by("c1", "eth0") == []
        assert s.reserve("again", "eth0", ip("10.5.0.3"), 0)


def test_a_recreated_network_directory_is_noticed(tmp_path):
    data = str(tmp_path)
    fill(data, 3)
    os.rename(os.path.join(data, NET), os.path.join(data, "old"))
    with Store(data, NET) as s:
        assert s.mode == "rebuilt" and s.held_by("c1", "eth0") == []


def test_content_changed_in_place_is_verified_before_deleting(tmp_path):
    data = str(tmp_path)
    fill(data, 2)
    path = os.path.join(data, NET, "10.5.0.2")
    with open(path, "r+b") as f:  # rewritten in place: the directory's mtime does not change
        f.truncate(0)
        f.write(b"intruder\r\neth0")
    with Store(data, NET) as s:
        assert s.mode == "index"
        assert s.release_by_id("c0", "eth0") == []  # not c0's any more: kept
        assert s.mode == "rebuilt"
    assert os.path.exists(path)
    with Store(data, NET) as s:
        assert s.release_by_id("intruder", "eth0") == ["10.5.0.2"]


def test_a_damaged_index_is_replaced(tmp_path):
    data = str(tmp_path)
    fill(data, 3)
    with open(index_path(data, NET), "wb") as f:
        f.write(b"this is not a database" * 100)
    with Store(data, NET) as s:
        assert s.mode in ("scan", "rebuilt")
        assert s.held_by("c2", "eth0") == [ip("10.5.0.4")]
    with Store(data, NET) as s:
        assert s.mode in ("rebuilt", "index")
    with Store(data, NET) as s:
        assert s.mode == "index" and s.held_by("c2", "eth0") == [ip("10.5.0.4")]


def test_an_unusable_index_location_falls_back_to_scanning(tmp_path):
    data = str(tmp_path)
    with open(os.path.join(data, INDEX_DIR), "w") as f:
        f.write("a file where the index directory would go")
    fill(data, 3)
    with Store(data, NET) as s:
        assert s.mode == "scan" and s.index_problem
        assert s.release_by_id("c1", "eth0") == ["10.5.0.3"]
        assert s.held_by("c2", "eth0") == [ip("10.5.0.4")]


def test_use_index_false_scans_like_go(tmp_path):
    data = str(tmp_path)
    fill(data, 3)
    with Store(data, NET, use_index=False) as s:
        assert s.mode == "scan" and s.held_by("c0", "eth0") == [ip("10.5.0.2")]


def test_recorded_fingerprint_cannot_be_repeated_by_a_later_change(tmp_path):
    data = str(tmp_path)
    fill(data, 1)
    with Store(data, NET) as s:
        s.reserve("x", "eth0", ip("10.5.0.50"), 0)
    released = time.clock_gettime_ns(5)
    mtime = os.stat(os.path.join(data, NET)).st_mtime_ns
    db = sqlite3.connect(index_path(data, NET))
    stored = db.execute("SELECT v FROM meta WHERE k='fingerprint'").fetchone()[0]
    db.close()
    assert stored.endswith(f":{mtime}")
    # Either the tick clock had passed the recorded mtime when the lock was released, or the
    # mtime is a fine-grained timestamp ahead of it (multigrain file systems): in both cases a
    # later change cannot be stamped with the recorded value.
    assert released != mtime


def test_legacy_files_follow_gos_release_rules(tmp_path):
    data = str(tmp_path)
    with Store(data, NET) as s:
        s.reserve("ctr", "eth0", ip("10.5.0.2"), 0)
    with open(os.path.join(data, NET, "10.5.0.3"), "w") as f:
        f.write("ctr")
    with Store(data, NET) as s:
        assert s.held_by("ctr", "eth0") == [ip("10.5.0.2"), ip("10.5.0.3")]
        assert s.release_by_id("ctr", "eth0", passes=1) == ["10.5.0.2"]  # legacy kept: a full match existed
        assert s.release_by_id("ctr", "eth0", passes=1) == ["10.5.0.3"]  # no full match left: legacy goes
    with Store(data, NET) as s:
        s.reserve("ctr", "eth0", ip("10.5.0.2"), 0)
    with open(os.path.join(data, NET, "10.5.0.3"), "w") as f:
        f.write("ctr")
    with Store(data, NET) as s:
        assert sorted(s.release_by_id("ctr", "eth0", passes=2)) == ["10.5.0.2", "10.5.0.3"]


def test_named_temporary_files_when_o_tmpfile_is_unsupported(tmp_path, monkeypatch):
    real_open = os.open

    def no_tmpfile(path, flags, *args, **kwargs):
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, "not supported")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "open", no_tmpfile)
    data = str(tmp_path)
    with Store(data, NET) as s:
        assert s.reserve("a", "eth0", ip("10.5.0.2"), 0)
        assert not s.reserve("b", "eth0", ip("10.5.0.2"), 0)
        assert s.reserve("b", "eth0", ip("10.5.0.3"), 0)
    assert sorted(os.listdir(os.path.join(data, NET))) == [
        "10.5.0.2",
        "10.5.0.3",
        "last_reserved_ip.0",
        "lock",
    ]


def test_stale_named_temporary_files_are_removed(tmp_path):
    data = str(tmp_path)
    fill(data, 1)
    stale = os.path.join(data, NET, ".host-local-tmp.1234.abcd")
    with open(stale, "w") as f:
        f.write("killed\r\neth0")
    with Store(data, NET) as s:
        assert s.mode == "rebuilt" and s.held_by("killed", "eth0") == []
    assert not os.path.exists(stale)


def test_network_name_must_be_one_path_component(tmp_path):
    for name in ("..", ".", "", "a/b", "../x"):
        with pytest.raises(ValueError):
            Store(str(tmp_path), name)
