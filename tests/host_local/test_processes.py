"""host-local as real processes: interop with the Go plugin on one dataDir, concurrency,
and processes killed in the middle of an ADD."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

from .conftest import GO_HOST_LOCAL, HostLocal, environment, fork_dispatch

GO_MAX_VERSION = "1.0.0"  # the Debian Go build predates spec 1.1.0


def spawn(hl: HostLocal, command: str, conf: dict, container_id: str, wrapper: list[str] | None = None):
    env = environment(command, container_id, "eth0", "", hl.cni_path)
    return subprocess.Popen(
        [*(wrapper or []), hl.binary],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ), json.dumps(conf).encode()


def run_all(procs) -> list[tuple[int, dict | None]]:
    """Feed every process its stdin at once, then collect (exit code, JSON reply)."""
    for proc, stdin in procs:
        proc.stdin.write(stdin)
        proc.stdin.close()
    return collect([proc for proc, _ in procs])


def collect(procs: list[subprocess.Popen]) -> list[tuple[int, dict | None]]:
    out = []
    for proc in procs:
        stdout = proc.stdout.read()
        proc.wait(timeout=120)
        proc.stdout.close()
        proc.stderr.close()
        out.append((proc.returncode, json.loads(stdout) if stdout.strip() else None))
    return out


def test_our_executable_adds_checks_and_deletes(hl_proc: HostLocal):
    conf = hl_proc.conf("1.1.0", ranges=[[{"subnet": "10.1.2.0/24"}], [{"subnet": "2001:db8::/64"}]])
    assert hl_proc.add(conf).addresses() == ["10.1.2.2/24", "2001:db8::2/64"]
    hl_proc.run("CHECK", conf).ok()
    hl_proc.run("STATUS", conf).ok()
    hl_proc.delete(conf).ok()
    hl_proc.run("GC", conf).ok()
    assert hl_proc.allocations() == {}


def test_alternating_with_the_go_plugin_on_one_data_dir(hl_proc: HostLocal, hl_go: HostLocal):
    conf = hl_proc.conf(GO_MAX_VERSION, ranges=[[{"subnet": "10.1.2.0/29"}], [{"subnet": "2001:db8::/125"}]])
    plugins = [hl_proc, hl_go]
    held: dict[str, list[str]] = {}
    # ADDs alternate between the two plugins; the round robin continues across them.
    for n in range(5):
        held[f"c{n}"] = plugins[n % 2].add(conf, f"c{n}").addresses()
    assert [held[f"c{n}"][0] for n in range(5)] == [f"10.1.2.{n + 2}/29" for n in range(5)]
    assert [held[f"c{n}"][1] for n in range(5)] == [f"2001:db8::{n + 2}/125" for n in range(5)]
    # Each sees the other's allocations: duplicate checks and CHECK work both ways.
    for n in range(5):
        other = plugins[(n + 1) % 2]
        assert "duplicate allocation is not allowed" in other.add(conf, f"c{n}").error()["msg"]
        other.run("CHECK", conf, f"c{n}").ok()
    # The pool (.2-.6) is full now; each plugin reports it.
    assert hl_proc.add(conf, "c6").error()["code"] == 11
    assert "no IP addresses available" in hl_go.add(conf, "c7").error()["msg"]
    # DELs are done by the plugin that did NOT allocate; freed addresses are reused by either.
    hl_go.delete(conf, "c0").ok()
    hl_proc.delete(conf, "c1").ok()
    assert hl_proc.add(conf, "c8").addresses()[0] == "10.1.2.2/29"
    assert hl_go.add(conf, "c9").addresses()[0] == "10.1.2.3/29"
    for n in (2, 3, 4, 8, 9):
        plugins[n % 2].delete(conf, f"c{n}").ok()
        plugins[(n + 1) % 2].delete(conf, f"c{n}").ok()  # already gone: still fine
    assert hl_proc.allocations() == {}, "leaked allocations"
    assert set(os.listdir(hl_proc.net_dir)) == {"lock", "last_reserved_ip.0", "last_reserved_ip.1"}


def test_interleaved_random_operations_never_duplicate_or_leak(hl_proc: HostLocal, hl_go: HostLocal):
    rng = random.Random(1234)
    conf = hl_proc.conf(GO_MAX_VERSION, subnet="10.3.0.0/28")  # 13 usable addresses
    ours = hl_proc.in_process()  # same code as the executable, minus 30 interpreter start-ups
    live: dict[str, str] = {}
    for n in range(30):
        plugin = rng.choice([ours, hl_go])
        if live and (len(live) > 8 or rng.random() < 0.4):
            victim = rng.choice(sorted(live))
            plugin.delete(conf, victim).ok()
            del live[victim]
        else:
            cid = f"r{n}"
            live[cid] = plugin.add(conf, cid).addresses()[0].split("/")[0]
        on_disk = {name: content.split("\r\n")[0] for name, content in hl_proc.allocations().items()}
        assert on_disk == {address: cid for cid, address in live.items()}
    for cid in list(live):
        rng.choice([ours, hl_go]).delete(conf, cid).ok()
    assert hl_proc.allocations() == {}


@pytest.fixture(params=["scan", "index"])
def store_mode(request, monkeypatch) -> str:
    """Forked plugin calls on a small directory scan it; run them also as on a big one, with the
    side index (store.INDEX_MIN_DIR_SIZE, inherited by the forked children)."""
    from ipam.host_local import store

    monkeypatch.setattr(store, "INDEX_MIN_DIR_SIZE", 1 << 40 if request.param == "scan" else 0)
    return request.param


def test_one_hundred_concurrent_adds_get_distinct_addresses(hl_proc: HostLocal, store_mode: str):
    conf = json.dumps(hl_proc.conf(subnet="10.7.0.0/24")).encode()
    replies = fork_dispatch([("ADD", conf, f"par{n}") for n in range(100)])
    assert [r.code for r in replies] == [0] * 100, replies
    addresses = [r.json["ips"][0]["address"].split("/")[0] for r in replies]
    assert len(set(addresses)) == 100
    assert hl_proc.allocations() == {a: f"par{n}\r\neth0" for n, a in enumerate(addresses)}


def test_concurrent_adds_and_dels_of_both_plugins_keep_the_store_consistent(
    hl_proc: HostLocal, hl_go: HostLocal, store_mode: str
):
    conf = hl_proc.conf(GO_MAX_VERSION, subnet="10.8.0.0/24")
    ours = hl_proc.in_process()
    for n in range(30):
        (ours if n % 2 else hl_go).add(conf, f"old{n}").ok()
    # The Go plugin's half runs as its own processes; ours are forked, all at the same time.
    go_jobs = [spawn(hl_go, "DEL", conf, f"old{n}") for n in range(0, 30, 3)]
    go_jobs += [spawn(hl_go, "ADD", conf, f"new{n}") for n in range(1, 30, 3)]
    stdin = json.dumps(conf).encode()
    our_jobs = [("DEL", stdin, f"old{n}") for n in range(30) if n % 3]
    our_jobs += [("ADD", stdin, f"new{n}") for n in range(30) if n % 3 != 1]
    for proc, data in go_jobs:
        proc.stdin.write(data)
        proc.stdin.close()
    replies = fork_dispatch(our_jobs)
    go_replies = collect([proc for proc, _ in go_jobs])
    assert all(r.code == 0 for r in replies), replies
    assert all(code == 0 for code, _ in go_replies), go_replies
    added = [r.json["ips"][0]["address"].split("/")[0] for r in replies if r.stdout.strip()]
    added += [reply["ips"][0]["address"].split("/")[0] for _, reply in go_replies if reply]
    assert len(added) == len(set(added)) == 30
    owners = {name: content.split("\r\n")[0] for name, content in hl_proc.allocations().items()}
    assert sorted(owners.values()) == sorted(f"new{n}" for n in range(30))
    assert sorted(owners) == sorted(added)
    for n in range(30):
        hl_go.run("CHECK", conf, f"new{n}").ok()
        ours.delete(conf, f"new{n}").ok()
    assert hl_proc.allocations() == {}


needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
STRACE = ["strace", "-qq", "-f", "-o", "/dev/null", "-e", "trace=linkat"]


@needs_strace
def test_killed_before_the_address_file_is_linked_leaves_nothing(hl_proc: HostLocal):
    conf = hl_proc.conf(subnet="10.9.0.0/24")
    hl_proc.add(conf, "first").ok()
    wrapper = [*STRACE, "-e", "inject=linkat:signal=KILL"]
    ((code, _),) = run_all([spawn(hl_proc, "ADD", conf, "victim", wrapper)])
    assert code != 0
    assert hl_proc.allocations() == {"10.9.0.2": "first\r\neth0"}
    assert [n for n in os.listdir(hl_proc.net_dir) if n.startswith(".")] == []
    assert hl_proc.add(conf, "victim").addresses() == ["10.9.0.3/24"]


@needs_strace
def test_killed_after_the_address_file_is_linked_leaves_a_complete_releasable_file(
    hl_proc: HostLocal, hl_go: HostLocal
):
    conf = hl_proc.conf(GO_MAX_VERSION, subnet="10.9.0.0/24")
    hl_proc.add(conf, "first").ok()
    # Stop the plugin right after its link() returns, then kill it before it updates the index.
    wrapper = [*STRACE, "-e", "inject=linkat:delay_exit=3000000"]
    ((proc, stdin),) = [spawn(hl_proc, "ADD", conf, "victim", wrapper)]
    proc.stdin.write(stdin)
    proc.stdin.close()
    path = os.path.join(hl_proc.net_dir, "10.9.0.3")
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        assert time.monotonic() < deadline and proc.poll() is None, "the ADD never linked its file"
        time.sleep(0.02)
    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
        plugin_pid = int(f.read().split()[0])
    os.kill(plugin_pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    with open(path, "rb") as f:
        assert f.read() == b"victim\r\neth0"  # complete, never empty or partial
    # The killed run never recorded its change; the next call notices and sees the file.
    assert "duplicate allocation" in hl_proc.add(conf, "victim").error()["msg"]
    hl_go.run("CHECK", conf, "victim").ok()
    hl_proc.delete(conf, "victim").ok()
    assert hl_proc.allocations() == {"10.9.0.2": "first\r\neth0"}


def test_random_kills_during_concurrent_adds_leave_only_complete_files(hl_proc: HostLocal, store_mode: str):
    conf = hl_proc.conf(subnet="10.10.0.0/24")
    stdin = json.dumps(conf).encode()
    rng = random.Random(99)
    victims = {n: rng.uniform(0.0, 0.4) for n in rng.sample(range(40), 20)}
    replies = fork_dispatch([("ADD", stdin, f"k{n}") for n in range(40)], kill_after=victims)
    finished = {f"k{n}" for n, r in enumerate(replies) if r.code == 0}
    assert len(finished) >= 20
    files = hl_proc.allocations()
    owners = [content.split("\r\n") for content in files.values()]
    assert all(len(o) == 2 and o[0] in {f"k{n}" for n in range(40)} and o[1] == "eth0" for o in owners), files
    assert len({o[0] for o in owners}) == len(files)  # nobody holds two addresses
    assert finished <= {o[0] for o in owners}
    assert [n for n in os.listdir(hl_proc.net_dir) if n.startswith(".")] == []
    ours = hl_proc.in_process()
    for n in range(40):
        ours.delete(conf, f"k{n}").ok()
    assert hl_proc.allocations() == {}
    ours.add(conf, "after").ok()


def test_go_binary_is_the_expected_reference():
    if not os.access(GO_HOST_LOCAL, os.X_OK):
        pytest.skip("Go reference not installed")
    proc = subprocess.run([GO_HOST_LOCAL], env={"CNI_COMMAND": "VERSION"}, capture_output=True, check=False)
    assert "1.0.0" in json.loads(proc.stdout)["supportedVersions"]
