"""Benchmark: whole-process bridge ADD and DEL, ours against Go's /usr/lib/cni/bridge.

Run inside the private namespaces:  tests/isolated .venv/bin/python tests/bridge/bench_bridge.py [N]
(add CNI_PY_WARM=1 to measure our plugins through the warm pre-forking server).

Each call is one exec of the plugin from a process already inside the fake host netns (no
nsenter in the measurement), with host-local IPAM, isGateway, and ipMasq off / on (iptables and
nftables backends). Prints min / median milliseconds per call.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from launcher.shims import write_shims  # noqa: E402
from pkg.ns import NetNS  # noqa: E402
from tests.harness import GO_PLUGIN_DIR, Netns, kernel_tests_allowed  # noqa: E402


def run(bin_dir: str, command: str, conf: dict, cid: str, netns: str) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": cid,
        "CNI_NETNS": netns,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": bin_dir,
    }
    if "CNI_PY_WARM" in os.environ:  # CNI_PY_WARM=1: measure through the warm pre-forking server
        env["CNI_PY_WARM"] = os.environ["CNI_PY_WARM"]
    start = time.perf_counter()
    proc = subprocess.run(
        [os.path.join(bin_dir, "bridge")],
        input=json.dumps(conf).encode(),
        env=env,
        capture_output=True,
        check=False,
    )
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{bin_dir} {command} failed: {proc.stdout.decode()} {proc.stderr.decode()}")
    return elapsed


def bench(label: str, bin_dir: str, keys: dict, rounds: int) -> None:
    host = Netns.create("bh-")
    data_dir = tempfile.mkdtemp()
    conf = {
        "cniVersion": "1.0.0",
        "name": "bench",
        "type": "bridge",
        "bridge": "cni0",
        "isGateway": True,
        "ipam": {"type": "host-local", "subnet": "10.30.0.0/16", "dataDir": data_dir},
        **keys,
    }
    adds, dels = [], []
    try:
        with NetNS.open(host.path) as ns, ns.entered():
            for i in range(rounds + 1):
                container = Netns.create("bc-")
                try:
                    add = run(bin_dir, "ADD", conf, f"bench{i}", container.path)
                    delete = run(bin_dir, "DEL", conf, f"bench{i}", container.path)
                finally:
                    container.delete()
                if i:  # the first round creates the bridge and warms caches
                    adds.append(add)
                    dels.append(delete)
    finally:
        host.delete()
    print(
        f"{label:<34} ADD {min(adds):6.1f} / {statistics.median(adds):6.1f}   "
        f"DEL {min(dels):6.1f} / {statistics.median(dels):6.1f}"
    )


def main() -> None:
    allowed, reason = kernel_tests_allowed()
    if not allowed:
        raise SystemExit(reason)
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    ours = tempfile.mkdtemp()
    write_shims(ours)
    print(f"bridge ADD / DEL, whole process, ms min / median over {rounds} rounds")
    cases = [
        ("ipMasq off", {}),
        ("ipMasq iptables", {"ipMasq": True, "ipMasqBackend": "iptables"}),
        ("ipMasq nftables", {"ipMasq": True, "ipMasqBackend": "nftables"}),
    ]
    for name, keys in cases:
        if "ipMasqBackend" not in keys or keys["ipMasqBackend"] == "iptables":
            go_keys = {k: v for k, v in keys.items() if k != "ipMasqBackend"}  # 1.1.1: iptables only
            bench(f"Go 1.1.1  {name}", GO_PLUGIN_DIR, go_keys, rounds)
        bench(f"ours      {name}", ours, keys, rounds)


if __name__ == "__main__":
    main()
