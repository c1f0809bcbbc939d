"""Benchmark: host-local ADD and DEL with many addresses already allocated, ours vs Go.

Prepares a dataDir holding N allocations (default 10,000) in a /16, written in the Go
plugin's format, then times ADD and DEL of a new container as whole processes for each plugin
on that same dataDir (wall-clock median and minimum, and the child's CPU time, which is less
disturbed by a busy machine):

    .venv/bin/python bench/host_local.py [--allocated 10000 50000] [--runs 15]

Also shown: our verbs run in-process through the skeleton (what a caller that runs host-local
in its own process pays, e.g. bridge delegating in-process), the first call after another
program changed the directory (our side index is rebuilt by one scan), and VERSION as the
start-up floor. host-local touches no network namespace, so this runs as a plain process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GO_PLUGIN = "/usr/lib/cni/host-local"
NETWORK = "bench"


def prepare(data_dir: str, count: int) -> None:
    directory = os.path.join(data_dir, NETWORK)
    os.makedirs(directory, mode=0o755)
    last = ""
    for n in range(count):
        value = n + 2  # 10.20.0.2 upwards, as the allocator would hand them out
        last = f"10.20.{value >> 8}.{value & 255}"
        with open(os.path.join(directory, last), "w") as f:
            f.write(f"prepared-{n}\r\neth0")
    with open(os.path.join(directory, "last_reserved_ip.0"), "w") as f:
        f.write(last)


def config(data_dir: str) -> bytes:
    ipam = {"type": "host-local", "dataDir": data_dir, "ranges": [[{"subnet": "10.20.0.0/16"}]]}
    return json.dumps({"cniVersion": "1.0.0", "name": NETWORK, "ipam": ipam}).encode()


def environment(command: str, container_id: str, cni_path: str) -> dict[str, str]:
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": "/proc/self/ns/net",
        "CNI_NETNS_OVERRIDE": "1",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": cni_path,
    }


def invoke(binary: str, command: str, container_id: str, stdin: bytes, cni_path: str) -> tuple[float, float]:
    """(wall ms, CPU ms) of one plugin process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [binary],
        input=stdin,
        capture_output=True,
        env=environment(command, container_id, cni_path),
        check=False,
    )
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{binary} {command} failed: {proc.stdout.decode()} {proc.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def invoke_in_process(command: str, container_id: str, stdin: bytes) -> tuple[float, float]:
    from ipam.host_local import PLUGIN
    from libcni.skel import dispatch

    env = environment(command, container_id, "/nowhere")
    start, cpu_start = time.perf_counter(), time.process_time()
    outcome = dispatch(PLUGIN, env, lambda: stdin)
    wall, cpu = (time.perf_counter() - start) * 1000, (time.process_time() - cpu_start) * 1000
    if outcome.exit_code != 0:
        raise SystemExit(f"in-process {command} failed: {outcome.stdout.decode()}")
    return wall, cpu


Samples = list[tuple[float, float]]


def measure(run, label: str, runs: int) -> dict[str, Samples]:  # noqa: ANN001
    times: dict[str, Samples] = {"ADD": [], "DEL": []}
    for n in range(runs):
        container_id = f"{label}-{n}"
        times["ADD"].append(run("ADD", container_id))
        times["DEL"].append(run("DEL", container_id))
    return times


def bench(allocated: int, runs: int, base: str | None) -> list[tuple[str, str, Samples]]:
    sys.path.insert(0, ROOT)
    from launcher.shims import write_shims

    work = tempfile.mkdtemp(prefix="hl-bench-", dir=base)
    try:
        bin_dir = os.path.join(work, "bin")
        write_shims(bin_dir, names=["host-local"])
        ours = os.path.join(bin_dir, "host-local")
        data_dir = os.path.join(work, "data")
        prepare(data_dir, allocated)
        stdin = config(data_dir)

        def go(command: str, cid: str) -> tuple[float, float]:
            return invoke(GO_PLUGIN, command, cid, stdin, bin_dir)

        def mine(command: str, cid: str) -> tuple[float, float]:
            return invoke(ours, command, cid, stdin, bin_dir)

        def mine_in_process(command: str, cid: str) -> tuple[float, float]:
            return invoke_in_process(command, cid, stdin)

        rows: list[tuple[str, str, Samples]] = []
        rows += [("Go 1.1.1", verb, s) for verb, s in measure(go, "go", runs).items()]
        # The Go runs changed the directory: our next call rebuilds the index with one scan.
        first = [mine("ADD", "after-go")]
        mine("DEL", "after-go")
        rows += [("ours", verb, s) for verb, s in measure(mine, "ours", runs).items()]
        mine_in_process("ADD", "warm-up")  # imports and model building happen once per process
        mine_in_process("DEL", "warm-up")
        rows += [
            ("ours, in-process", verb, s) for verb, s in measure(mine_in_process, "inproc", runs).items()
        ]
        rows.append(("ours, first call after the Go plugin wrote (rebuild)", "ADD", first))
        rows.append(("Go 1.1.1 VERSION (start-up floor)", "-", [go("VERSION", "x") for _ in range(runs)]))
        rows.append(("ours VERSION (start-up floor)", "-", [mine("VERSION", "x") for _ in range(runs)]))

        names = set(os.listdir(os.path.join(data_dir, NETWORK))) - {"lock", "last_reserved_ip.0"}
        if len(names) != allocated:
            print(f"warning: {len(names) - allocated} addresses leaked")
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--allocated", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--dir", default=None, help="where to put the dataDir (default: a temp dir)")
    options = parser.parse_args()
    if not os.path.exists(GO_PLUGIN):
        raise SystemExit(f"{GO_PLUGIN} missing (apt-get install containernetworking-plugins)")
    for allocated in options.allocated:
        rows = bench(allocated, options.runs, options.dir)
        print(f"\nhost-local, {allocated} addresses allocated in 10.20.0.0/16, {options.runs} runs each")
        print(f"{'plugin':<54} {'verb':<4} {'wall med':>9} {'wall min':>9} {'cpu med':>8}   (ms)")
        for label, verb, samples in rows:
            walls = [w for w, _ in samples]
            cpus = [c for _, c in samples]
            print(
                f"{label:<54} {verb:<4} {statistics.median(walls):9.1f} {min(walls):9.1f} "
                f"{statistics.median(cpus):8.1f}"
            )


if __name__ == "__main__":
    main()
