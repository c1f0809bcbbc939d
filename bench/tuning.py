"""Benchmark: tuning ADD / DEL as whole processes, ours vs Go 1.1.1 (/usr/lib/cni/tuning).

Two configs: sysctls only (no netlink library is loaded) and mac+mtu (netlink, with a backup file).
Each run is ADD then DEL of a fresh container ID against a container netns holding eth0; ours and
Go alternate so machine noise hits both alike. Needs namespaces, so run it inside tests/isolated:

    tests/isolated .venv/bin/python bench/tuning.py [--runs 20]
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
GO_PLUGIN = "/usr/lib/cni/tuning"
NETNS = "tuning-bench"

CONFIGS = {
    "sysctl only": {"sysctl": {"net.core.somaxconn": "512", "net.ipv4.conf.IFNAME.rp_filter": "2"}},
    "mac + mtu": {"mac": "02:00:00:00:be:ef", "mtu": 1400},
}


def config(keys: dict) -> bytes:
    prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": f"/run/netns/{NETNS}"}]}
    return json.dumps(
        {"cniVersion": "1.0.0", "name": "bench", "type": "tuning", "prevResult": prev, **keys}
    ).encode()


def invoke(binary: str, command: str, container_id: str, stdin: bytes, cni_path: str) -> float:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": f"/run/netns/{NETNS}",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": cni_path,
    }
    start = time.perf_counter()
    proc = subprocess.run([binary], input=stdin, env=env, capture_output=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{binary} {command} failed: {proc.stdout.decode()} {proc.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    if os.environ.get("CNI_TEST_ISOLATED") != "1":
        raise SystemExit("run me inside tests/isolated (I create a netns and change its sysctls)")
    if not os.path.exists(GO_PLUGIN):
        raise SystemExit(f"{GO_PLUGIN} missing (apt-get install containernetworking-plugins)")

    sys.path.insert(0, ROOT)
    from launcher.shims import write_shims

    with tempfile.TemporaryDirectory(prefix="tuning-bench-") as bin_dir:
        write_shims(bin_dir, names=["tuning"])
        plugins = {"ours": os.path.join(bin_dir, "tuning"), "Go 1.1.1": GO_PLUGIN}
        subprocess.run(["ip", "netns", "add", NETNS], check=True)
        try:
            subprocess.run(
                ["ip", "-n", NETNS, "link", "add", "eth0", "type", "veth", "peer", "name", "p0"], check=True
            )
            times: dict[tuple[str, str, str], list[float]] = {}
            for label, keys in CONFIGS.items():
                stdin = config(keys)
                for n in range(options.runs):
                    for name, binary in plugins.items():
                        cid = f"bench-{n}"
                        times.setdefault((label, name, "ADD"), []).append(
                            invoke(binary, "ADD", cid, stdin, bin_dir)
                        )
                        times.setdefault((label, name, "DEL"), []).append(
                            invoke(binary, "DEL", cid, stdin, bin_dir)
                        )
            floor = [invoke(plugins["ours"], "VERSION", "x", b"", bin_dir) for _ in range(options.runs)]
        finally:
            subprocess.run(["ip", "netns", "del", NETNS], check=False)

    print(f"tuning, whole-process wall time, {options.runs} runs each")
    print(f"{'config':<13} {'plugin':<9} {'verb':<5} {'median ms':>9} {'min ms':>8}")
    for (label, name, verb), values in times.items():
        print(f"{label:<13} {name:<9} {verb:<5} {statistics.median(values):9.1f} {min(values):8.1f}")
    print(f"{'-':<13} {'ours':<9} {'VERS.':<5} {statistics.median(floor):9.1f} {min(floor):8.1f}")


if __name__ == "__main__":
    main()
