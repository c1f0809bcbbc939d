"""Whole-process ADD / DEL timings of portmap: ours (iptables and nftables backends, from source
and, when built, the frozen bundle in dist/bin) beside Go's /usr/lib/cni/portmap (iptables).

Run as root inside the private namespaces:
    tests/isolated .venv/bin/python -m tests.portmap.bench_portmap [rounds] [frozen portmap executable]
Each round is ADD then DEL of one dual-stack container with tcp 8080->80 and udp 8053->53, in a
host netns that already holds a second container's rules (the usual steady state).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from pkg.ns import NetNS
from tests.harness import GO_PLUGIN_DIR, Netns, kernel_tests_allowed
from tests.portmap.conftest import portmap_conf, tcp, udp, wire_container

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(host: Netns, binary: str, command: str, conf: dict, container_id: str, netns: str) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": netns,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": os.path.dirname(binary),
    }
    data = json.dumps(conf).encode()
    # Enter the host netns first, so only the plugin process itself is timed.
    with NetNS.open(host.path) as ns, ns.entered():
        start = time.perf_counter()
        proc = subprocess.run([binary], input=data, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} {command} failed: {proc.stdout.decode()} {proc.stderr.decode()}")
    return elapsed * 1000


def bench(name: str, binary: str, backend: str | None, rounds: int) -> None:
    host = Netns.create("bench-h-")
    made = [Netns.create("bench-c-") for _ in range(2)]
    try:
        host.run("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        steady, target = (wire_container(host, ns, i + 1) for i, ns in enumerate(made))
        extra = {"backend": backend} if backend else {}
        other = portmap_conf(steady, [tcp(7070, 70)], **extra)
        timed(host, binary, "ADD", other, steady.id, steady.ns.path)
        conf = portmap_conf(target, [tcp(8080, 80), udp(8053, 53)], **extra)
        adds, dels = [], []
        for _ in range(rounds):
            adds.append(timed(host, binary, "ADD", conf, target.id, target.ns.path))
            dels.append(timed(host, binary, "DEL", conf, target.id, target.ns.path))
        print(
            f"{name:<34} ADD min {min(adds):6.1f} median {statistics.median(adds):6.1f} ms   "
            f"DEL min {min(dels):6.1f} median {statistics.median(dels):6.1f} ms"
        )
    finally:
        host.delete()
        for ns in made:
            ns.delete()


def main() -> None:
    allowed, reason = kernel_tests_allowed()
    if not allowed:
        sys.exit(f"bench_portmap: {reason}")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    from pkg.shims import write_shims

    shims = tempfile.mkdtemp(prefix="pm-bench-")
    write_shims(shims, names=["portmap"])
    ours = os.path.join(shims, "portmap")
    frozen = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "dist", "bin", "portmap")
    go = os.path.join(GO_PLUGIN_DIR, "portmap")
    print(f"{rounds} rounds, dual-stack container, tcp+udp mapping; times are whole processes")
    if os.path.exists(go):
        bench("Go 1.1.1 (iptables)", go, None, rounds)
    bench("ours, source, iptables", ours, "iptables", rounds)
    bench("ours, source, nftables", ours, "nftables", rounds)
    if os.access(frozen, os.X_OK):
        bench("ours, frozen bundle, iptables", frozen, "iptables", rounds)
        bench("ours, frozen bundle, nftables", frozen, "nftables", rounds)


if __name__ == "__main__":
    main()
