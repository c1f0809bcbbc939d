"""Whole-process ADD / DEL timings of portmap: ours (iptables and nftables backends, from source
and, when built, the frozen bundle in dist/bin) beside Go's /usr/lib/cni/portmap (iptables).

Run as root inside the private namespaces:
    tests/isolated .venv/bin/python -m tests.portmap.bench_portmap [rounds] [frozen portmap executable]
The frozen bundle is measured cold (CNI_PY_WARM=0) and with its warm server (launcher.warm). Each
round is ADD then DEL of one dual-stack container with tcp 8080->80 and udp 8053->53, in a
host netns that already holds a second container's rules (the usual steady state).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from pkg.ns import NetNS
from tests.harness import GO_PLUGIN_DIR, Netns, kernel_tests_allowed
from tests.portmap.conftest import portmap_conf, tcp, udp, wire_container

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


CPU: dict[str, list[float]] = {}


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    host: Netns,
    binary: str,
    command: str,
    conf: dict,
    container_id: str,
    netns: str,
    extra_env: dict | None = None,
) -> float:
    """Wall-clock ms of one call; its CPU ms (the plugin and the tools it ran) go to CPU[binary+command]."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": netns,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": os.path.dirname(binary),
        **(extra_env or {}),
    }
    data = json.dumps(conf).encode()
    # Enter the host netns first, so only the plugin process itself is timed.
    with NetNS.open(host.path) as ns, ns.entered():
        cpu = cpu_children()
        start = time.perf_counter()
        proc = subprocess.run([binary], input=data, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        key = f"{binary} {conf.get('backend')} {(extra_env or {}).get('CNI_PY_WARM')} {command}"
        CPU.setdefault(key, []).append((cpu_children() - cpu) * 1000)
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} {command} failed: {proc.stdout.decode()} {proc.stderr.decode()}")
    return elapsed * 1000


@dataclass
class Subject:
    """One implementation under test, with its own host netns holding a steady container."""

    name: str
    binary: str
    backend: str | None
    env: dict = field(default_factory=dict)
    host: Netns = field(init=False)
    namespaces: list[Netns] = field(default_factory=list)
    adds: list[float] = field(default_factory=list)
    dels: list[float] = field(default_factory=list)
    versions: list[float] = field(default_factory=list)

    def setup(self) -> None:
        self.host = Netns.create("bench-h-")
        self.namespaces = [Netns.create("bench-c-") for _ in range(2)]
        self.host.run("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        steady, self.target = (wire_container(self.host, ns, i + 1) for i, ns in enumerate(self.namespaces))
        other = portmap_conf(steady, [tcp(7070, 70)], **self.extra)
        timed(self.host, self.binary, "ADD", other, steady.id, steady.ns.path, self.env)
        self.conf = portmap_conf(self.target, [tcp(8080, 80), udp(8053, 53)], **self.extra)

    @property
    def extra(self) -> dict:
        return {"backend": self.backend} if self.backend else {}

    def round(self) -> None:
        t = self.target
        self.adds.append(timed(self.host, self.binary, "ADD", self.conf, t.id, t.ns.path, self.env))
        self.dels.append(timed(self.host, self.binary, "DEL", self.conf, t.id, t.ns.path, self.env))
        self.versions.append(timed(self.host, self.binary, "VERSION", {}, "", "", self.env))

    def report(self) -> str:
        warm = self.env.get("CNI_PY_WARM")
        cpu = {c: statistics.median(CPU[f"{self.binary} {self.backend} {warm} {c}"]) for c in ("ADD", "DEL")}
        return (
            f"{self.name:<32} ADD min {min(self.adds):6.1f} median {statistics.median(self.adds):6.1f} ms   "
            f"DEL min {min(self.dels):6.1f} median {statistics.median(self.dels):6.1f} ms   "
            f"CPU median ADD {cpu['ADD']:5.1f} DEL {cpu['DEL']:5.1f} ms   "
            f"(VERSION, the start-up floor: min {min(self.versions):5.1f})"
        )

    def teardown(self) -> None:
        if self.env.get("CNI_PY_WARM") == "1":  # stop this context's warm server
            self.host.run(self.binary, "--warm-stop", check=False)
        for ns in [self.host, *self.namespaces]:
            ns.delete()


def main() -> None:
    allowed, reason = kernel_tests_allowed()
    if not allowed:
        sys.exit(f"bench_portmap: {reason}")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    from launcher.shims import write_shims

    shims = tempfile.mkdtemp(prefix="pm-bench-")
    write_shims(shims, names=["portmap"])
    ours = os.path.join(shims, "portmap")
    frozen = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "dist", "bin", "portmap")
    go = os.path.join(GO_PLUGIN_DIR, "portmap")
    subjects = []
    if os.path.exists(go):
        subjects.append(Subject("Go 1.1.1 (iptables)", go, None))
    subjects += [
        Subject("ours, source, iptables", ours, "iptables"),
        Subject("ours, source, nftables", ours, "nftables"),
    ]
    if os.access(frozen, os.X_OK):
        cold = {"CNI_PY_WARM": "0"}
        warm = {"CNI_PY_WARM": "1", "CNI_PY_WARM_MAX": "64"}  # the warm server of each host netns
        subjects += [
            Subject("ours, frozen cold, iptables", frozen, "iptables", cold),
            Subject("ours, frozen cold, nftables", frozen, "nftables", cold),
            Subject("ours, frozen warm, iptables", frozen, "iptables", warm),
            Subject("ours, frozen warm, nftables", frozen, "nftables", warm),
        ]
    print(f"{rounds} rounds, interleaved; dual-stack container, tcp+udp mapping; whole-process times")
    try:
        for subject in subjects:
            subject.setup()
        for _ in range(rounds):  # interleaved, so that every subject sees the same machine load
            for subject in subjects:
                subject.round()
        for subject in subjects:
            print(subject.report())
    finally:
        for subject in subjects:
            subject.teardown()


if __name__ == "__main__":
    main()
