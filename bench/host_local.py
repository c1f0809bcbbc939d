"""Benchmark: host-local ADD and DEL with many addresses already allocated, ours vs Go.

Prepares a dataDir holding N allocations (default 10,000) in a /16, written in the Go
plugin's format, then times ADD and DEL of a new container as whole processes (median and
minimum of --runs) for each plugin on that same dataDir:

    .venv/bin/python bench/host_local.py [--allocated 10000] [--runs 15]

Our plugin keeps a side index; the first call after someone else changed the directory
(here: the preparation and the Go plugin's runs) rebuilds it with one scan, reported on its
own line. Host-local touches no network namespace, so this runs as a plain process.
"""

from __future__ import annotations

import argparse
import json
import os
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
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": NETWORK,
            "ipam": {"type": "host-local", "dataDir": data_dir, "ranges": [[{"subnet": "10.20.0.0/16"}]]},
        }
    ).encode()


def invoke(binary: str, command: str, container_id: str, stdin: bytes, cni_path: str) -> float:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": "/proc/self/ns/net",
        "CNI_NETNS_OVERRIDE": "1",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": cni_path,
    }
    start = time.perf_counter()
    proc = subprocess.run([binary], input=stdin, env=env, capture_output=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{binary} {command} failed: {proc.stdout.decode()} {proc.stderr.decode()}")
    return elapsed


def measure(binary: str, label: str, stdin: bytes, runs: int, cni_path: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"ADD": [], "DEL": []}
    for n in range(runs):
        container_id = f"{label}-{n}"
        times["ADD"].append(invoke(binary, "ADD", container_id, stdin, cni_path))
        times["DEL"].append(invoke(binary, "DEL", container_id, stdin, cni_path))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--allocated", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--dir", default="", help="where to put the dataDir (default: a temp dir)")
    options = parser.parse_args()
    if not os.path.exists(GO_PLUGIN):
        raise SystemExit(f"{GO_PLUGIN} missing (apt-get install containernetworking-plugins)")

    sys.path.insert(0, ROOT)
    from pkg.shims import write_shims

    work = tempfile.mkdtemp(prefix="hl-bench-", dir=options.dir or None)
    try:
        bin_dir = os.path.join(work, "bin")
        write_shims(bin_dir, names=["host-local"])
        ours = os.path.join(bin_dir, "host-local")
        data_dir = os.path.join(work, "data")
        prepare(data_dir, options.allocated)
        stdin = config(data_dir)

        rows: list[tuple[str, str, list[float]]] = []
        go = measure(GO_PLUGIN, "go", stdin, options.runs, bin_dir)
        rows += [("Go 1.1.1", verb, values) for verb, values in go.items()]
        # The Go runs changed the directory: our first call rebuilds the index with one scan.
        first = [invoke(ours, "ADD", "ours-first", stdin, bin_dir)]
        invoke(ours, "DEL", "ours-first", stdin, bin_dir)
        mine = measure(ours, "ours", stdin, options.runs, bin_dir)
        rows += [("ours", verb, values) for verb, values in mine.items()]
        rows.append(("ours, first call after a foreign change (index rebuild)", "ADD", first))
        floor = [invoke(ours, "VERSION", "x", b"", bin_dir) for _ in range(options.runs)]
        rows.append(("ours, VERSION (start-up floor)", "-", floor))

        leftover = sorted(set(os.listdir(os.path.join(data_dir, NETWORK))) - {"lock", "last_reserved_ip.0"})
        print(
            f"host-local, {options.allocated} addresses allocated in 10.20.0.0/16, {options.runs} runs each"
        )
        print(f"{'plugin':<58} {'verb':<5} {'median ms':>9} {'min ms':>8}")
        for label, verb, values in rows:
            print(f"{label:<58} {verb:<5} {statistics.median(values):9.1f} {min(values):8.1f}")
        if len(leftover) != options.allocated:
            print(f"warning: {len(leftover) - options.allocated} addresses leaked")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
