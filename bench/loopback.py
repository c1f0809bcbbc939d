"""Benchmark: loopback cold ADD / DEL (and VERSION, the start-up floor) as whole processes, ours vs
Go 1.1.1 (/usr/lib/cni/loopback).

Every run gets a fresh container netns (lo down, as a runtime hands it over), made outside the
timing; the implementations alternate so machine noise hits them alike. Ours runs from the
launchers of this checkout and, when `make build` made it, from the frozen dist/bin. Needs
namespaces, so run it inside tests/isolated:

    tests/isolated .venv/bin/python bench/loopback.py [--runs 21]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GO_DIR = "/usr/lib/cni"
CONF = json.dumps({"cniVersion": "1.0.0", "name": "cni-loopback", "type": "loopback"}).encode()


def invoke(directory: str, command: str, netns: str) -> float:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "bench",
        "CNI_NETNS": netns,
        "CNI_IFNAME": "lo",
        "CNI_PATH": directory,
        "CNI_PY_WARM": "0",
    }
    start = time.perf_counter()
    proc = subprocess.run(
        [os.path.join(directory, "loopback")], input=CONF, env=env, capture_output=True, check=False
    )
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(
            f"{directory}/loopback {command} failed: {proc.stdout.decode()} {proc.stderr.decode()}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=21)
    options = parser.parse_args()
    if os.environ.get("CNI_TEST_ISOLATED") != "1":
        raise SystemExit("run me inside tests/isolated (I create network namespaces)")
    sys.path.insert(0, ROOT)
    from launcher.shims import write_shims

    with tempfile.TemporaryDirectory(prefix="loopback-bench-") as shims:
        write_shims(shims, names=["loopback"])
        dirs = {"Go 1.1.1": GO_DIR, "ours (launcher)": shims}
        built = os.path.join(ROOT, "dist", "bin")
        if os.access(os.path.join(built, "loopback"), os.X_OK):
            dirs["ours (dist/bin)"] = built
        times: dict[tuple[str, str], list[float]] = {}
        for n in range(options.runs):
            for label, directory in dirs.items():
                name = f"lobench-{n}-{len(times)}"
                subprocess.run(["ip", "netns", "add", name], check=True)
                try:
                    for verb in ("VERSION", "ADD", "DEL"):
                        times.setdefault((label, verb), []).append(
                            invoke(directory, verb, f"/run/netns/{name}")
                        )
                finally:
                    subprocess.run(["ip", "netns", "del", name], check=False)

    print(
        f"loopback, whole-process wall time, {options.runs} runs each (load average {os.getloadavg()[0]:.1f})"
    )
    print(f"{'plugin':<16} {'verb':<8} {'median ms':>9} {'min ms':>8}")
    for (label, verb), values in times.items():
        print(f"{label:<16} {verb:<8} {statistics.median(values):9.1f} {min(values):8.1f}")


if __name__ == "__main__":
    main()
