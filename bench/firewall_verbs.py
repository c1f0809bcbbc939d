"""Cold ADD / DEL / CHECK / VERSION of one firewall binary beside Go's, medians of wall time and of
CPU time (user + sys of the plugin and every process it ran; steadier than wall time on a busy
machine). Run inside a private network namespace:

    tests/isolated .venv/bin/python bench/firewall_verbs.py [--ours dist/bin/firewall] [--runs 30]

The host is in its steady state (another container keeps the shared chains in place); each timed
call is prepared untimed (DEL before ADD, ADD before DEL and CHECK). No firewalld is reachable
(the system bus address leads nowhere), so `backend: ""` means iptables, as on podman hosts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import time

PREV = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "cni0"}],
    "ips": [{"address": "10.88.0.5/16"}, {"address": "fd00::5/64"}],
}
CONF = {"cniVersion": "1.0.0", "name": "bench", "type": "firewall", "backend": "", "prevResult": PREV}
ENV = {
    "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    "CNI_CONTAINERID": "bench",
    "CNI_NETNS": "/run/netns/none",
    "CNI_IFNAME": "eth0",
    "CNI_PATH": "/nonexistent",
    "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/bench-bus",
    "CNI_PY_WARM": "0",
}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def call(binary: str, verb: str, data: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary], input=data, env={**ENV, "CNI_COMMAND": verb}, capture_output=True, check=False
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ours", default="dist/bin/firewall")
    parser.add_argument("--go", default="/usr/lib/cni/firewall")
    parser.add_argument("--runs", type=int, default=30)
    options = parser.parse_args()
    data = json.dumps(CONF).encode()
    other = data.replace(b"0.5", b"0.9").replace(b"::5", b"::9")
    call(options.go, "ADD", other)  # the shared chains exist, as on a host with containers
    sides = {"go": options.go, "ours": os.path.abspath(options.ours)}
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    for verb, prepare in (("ADD", "DEL"), ("DEL", "ADD"), ("CHECK", "ADD"), ("VERSION", None)):
        medians = {}
        for name, binary in sides.items():
            wall, used = [], []
            for i in range(options.runs + 3):
                if prepare:
                    call(binary, prepare, data)
                before_cpu, before = cpu(), time.perf_counter()
                out = call(binary, verb, data)
                elapsed, spent = time.perf_counter() - before, cpu() - before_cpu
                if out.returncode != 0:
                    raise SystemExit(f"{name} {verb} failed: {out.stdout.decode()}")
                if i >= 3:  # warm-up runs are not counted
                    wall.append(elapsed * 1000)
                    used.append(spent * 1000)
            medians[name] = (statistics.median(wall), statistics.median(used))
        (gw, gc), (ow, oc) = medians["go"], medians["ours"]
        print(
            f"{verb:7} wall go {gw:6.1f} ms  ours {ow:6.1f} ms  ({ow / gw:.2f}x)   "
            f"cpu go {gc:5.1f} ms  ours {oc:5.1f} ms  ({oc / max(gc, 0.01):.2f}x)"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
