"""Prove an e2e run left nothing on the machine. Runs OUTSIDE the run's namespaces.

    python -m tests.e2e.leaks snapshot > STATE/before.json
    python -m tests.e2e.leaks remove-cgroups RUN_ID
    python -m tests.e2e.leaks check STATE RUN_ID      (STATE/namespaces: "net N mnt N pid N",
                                                       STATE/ended: when the namespaces died)
    python -m tests.e2e.leaks remove-stale            (what a run killed with SIGKILL left)

`check` compares the machine's own network namespace (links, addresses, routes, nftables
ruleset, iptables rules, named netns), its mount table and the runtimes' default state paths
with the snapshot (nsfs bind mounts would show there), and looks for any process, cgroup or
temp file carrying the run's id, and for processes left in the run's PID namespace. It prints
every leak and exits 1 if there is one.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import time

CGROUP_ROOT = "/sys/fs/cgroup"
RUN_ID_PATTERN = re.compile(r"^cnie2e[0-9a-f]{8}$")
# Where runtimes and plugins write by default; a run must leave all of these as it found them.
STATE_PATHS = [
    "/run/containerd",
    "/run/containers",
    "/run/libpod",
    "/run/runc",
    "/run/crun",
    "/run/podman",
    "/run/cni",
    "/run/netns",
    "/var/run/netns",
    "/var/lib/containerd",
    "/var/lib/containers",
    "/var/lib/cni",
    "/var/tmp",
    "/etc/cni",
    "/etc/containers",
    "/opt/cni",
    "/opt/containerd",
    "/root/.config/containers",
    "/root/.local/share/containers",
]
MAX_LISTED = 2000


def _out(*argv: str) -> str:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"<{argv[0]} failed: {err}>"
    return proc.stdout


def _lines(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.strip())


def _iptables(tool: str) -> list[str]:
    # packet counters and the generated-by/completed-on comments change by themselves
    return sorted(re.sub(r"\[\d+:\d+\]", "", line) for line in _lines(_out(tool)) if not line.startswith("#"))


def _mounts() -> list[str]:
    rows = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            fstype, source = right.split()[:2]
            # mount point, root within the fs, type, source: stable across reads (ids are not)
            rows.append(f"{fields[4]} {fields[3]} {fstype} {source}")
    return sorted(rows)


def _files() -> list[str]:
    found = []
    for top in STATE_PATHS:
        if not os.path.lexists(top):
            continue
        found.append(top)
        if os.path.isdir(top) and not os.path.islink(top):
            for dirpath, dirs, files in os.walk(top):
                found += [os.path.join(dirpath, n) for n in dirs + files]
                if len(found) > MAX_LISTED:
                    break
    return sorted(found)


def snapshot() -> dict:
    return {
        "links": _lines(re.sub(r"\\\s+", " ", _out("ip", "-o", "link", "show"))),
        "addrs": _lines(_out("ip", "-o", "addr", "show")),
        "routes": _lines(_out("ip", "route", "show", "table", "all")),
        "rules": _lines(_out("ip", "rule", "show")),
        "netns": _lines(_out("ip", "netns", "list")),
        "nft": _lines(_out("nft", "list", "ruleset")),
        "iptables": _iptables("iptables-save"),
        "ip6tables": _iptables("ip6tables-save"),
        "mounts": _mounts(),
        "files": _files(),
    }


def _comparable(key: str, rows: list[str]) -> set[str]:
    if key == "links":
        # state flags and counters of pre-existing links may change; their names may not
        return {re.sub(r"^\d+: (\S+?):.*$", r"\1", row) for row in rows}
    if key == "addrs":
        return {re.sub(r"\s+valid_lft.*$", "", row) for row in rows}
    return set(rows)


def run_cgroups(run_id: str) -> list[str]:
    """Every cgroup directory of the run, deepest first (v1 hierarchies and the unified one)."""
    found = []
    for top in [*glob.glob(os.path.join(CGROUP_ROOT, "*")), CGROUP_ROOT]:
        base = os.path.join(top, run_id)
        if os.path.isdir(base):
            found += [dirpath for dirpath, _dirs, _files in os.walk(base)]
    return sorted(set(found), key=lambda p: -p.count("/"))


def remove_cgroups(run_id: str, wait: float = 10.0) -> list[str]:
    """rmdir the run's cgroups, retrying while killed processes are still exiting."""
    deadline = time.monotonic() + wait
    while True:
        left = []
        for path in run_cgroups(run_id):
            try:
                os.rmdir(path)
            except FileNotFoundError:
                pass
            except OSError:
                left.append(path)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _alive(pid_file: str) -> bool:
    try:
        pid = int(_read(pid_file).strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def _remove_empty_mount_points(listing: str) -> None:
    """The mount points a killed run created: empty outside its namespace, so rmdir suffices."""
    try:
        tops = _read(listing).decode().split()
    except OSError:
        return
    for top in tops:
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def remove_stale() -> None:
    """Remove the state dir and cgroups of earlier runs whose script is no longer alive."""
    import shutil

    live = set()
    for state in glob.glob("/tmp/cnie2e*.*"):
        run_id = os.path.basename(state).split(".")[0]
        if RUN_ID_PATTERN.match(run_id) and os.path.isdir(state):
            if _alive(os.path.join(state, "pid")):
                live.add(run_id)
            else:
                _remove_empty_mount_points(os.path.join(state, "created"))
                shutil.rmtree(state, ignore_errors=True)
    for path in glob.glob(os.path.join(CGROUP_ROOT, "*", "cnie2e*")):
        run_id = os.path.basename(path)
        if RUN_ID_PATTERN.match(run_id) and run_id not in live:
            remove_cgroups(run_id, wait=0)


def _pid_namespace(pid: str) -> int:
    try:
        return os.stat(f"/proc/{pid}/ns/pid").st_ino
    except OSError:
        return 0


def _started_at(pid: str) -> float:
    """Start time of a process, in seconds since the epoch (to the second)."""
    stat = _read(f"/proc/{pid}/stat").decode()
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    boot = next(
        int(line.split()[1]) for line in _read("/proc/stat").decode().splitlines() if line.startswith("btime")
    )
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _run_namespaces(path: str) -> dict[str, int]:
    try:
        words = _read(path).decode().split()
    except OSError:
        return {}
    return {kind: int(value) for kind, value in zip(words[::2], words[1::2], strict=False) if value.isdigit()}


def leftover_processes(run_id: str, pid_ns: int, ended: float) -> list[str]:
    """Processes carrying the run id (every runtime path has it), or still in the run's PID namespace.

    A namespace inode number can be reused once the namespace is gone, so a PID namespace match
    counts only for processes started before the run ended (a process cannot change its own PID
    namespace, and none can enter one that no longer exists).
    """
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if pid == str(os.getpid()):
            continue
        try:
            cmdline = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace").strip()
            environ = _read(f"/proc/{pid}/environ").split(b"\0")
            started = _started_at(pid)
        except (OSError, ValueError, IndexError):
            continue
        checker = "tests.e2e.leaks" in cmdline or "tests/e2e/run" in cmdline
        tagged = run_id in cmdline or f"E2E_RUN_ID={run_id}".encode() in environ
        in_run_ns = pid_ns != 0 and _pid_namespace(pid) == pid_ns and started < ended - 1
        if (tagged and not checker) or in_run_ns:
            found.append(f"process {pid}: {cmdline[:200]}")
    return found


def check(before: dict, run_id: str, pid_ns: int, ended: float, state_dir: str = "") -> list[str]:
    leaks = []
    after = snapshot()
    for key, old_rows in before.items():
        old, new = _comparable(key, old_rows), _comparable(key, after.get(key, []))
        leaks += [f"{key}: added {row}" for row in sorted(new - old)]
        leaks += [f"{key}: removed {row}" for row in sorted(old - new)]
    leaks += leftover_processes(run_id, pid_ns, ended)
    leaks += [f"cgroup left: {p}" for p in run_cgroups(run_id)]
    leaks += [f"file left: {p}" for p in glob.glob(f"/tmp/{run_id}*") if p != state_dir]
    return leaks


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "snapshot":
        json.dump(snapshot(), sys.stdout)
        return 0
    if command == "remove-stale":
        remove_stale()
        return 0
    if command == "remove-cgroups":
        left = remove_cgroups(argv[1])
        for path in left:
            print(f"e2e cleanup: cannot remove cgroup {path}", file=sys.stderr)
        return 1 if left else 0
    if command == "check":
        state_dir, run_id = argv[1], argv[2]
        with open(os.path.join(state_dir, "before.json")) as f:
            before = json.load(f)
        pid_ns = _run_namespaces(os.path.join(state_dir, "namespaces")).get("pid", 0)
        try:
            ended = float(_read(os.path.join(state_dir, "ended")))
        except (OSError, ValueError):
            ended = time.time()
        leaks = check(before, run_id, pid_ns, ended, state_dir)
        if leaks:
            print("e2e leak check: the run left these behind:", file=sys.stderr)
            for leak in leaks:
                print("  " + leak, file=sys.stderr)
            return 1
        print(
            "e2e leak check: nothing left behind (processes, mounts, namespaces, links, addresses, routes, "
            "nftables/iptables rules, cgroups, runtime state files)"
        )
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
