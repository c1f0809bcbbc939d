"""The benchmark beside the Go reference (`make bench`).

Times, in one run on one machine, our built executables (dist/bin) and Go's
(/usr/lib/cni, Debian containernetworking-plugins) as whole processes:

- VERSION of each plugin;
- host-local ADD / DEL;
- bridge ADD / DEL, with and without ipMasq;
- the chain bridge(+host-local) + tuning + portmap, ADD and DEL, run through libcni;
- 50 concurrent chain ADDs (and their DELs), total wall time.

Runs alternate ours / Go, so drift of the machine's speed hits both alike. Everything runs
inside a private network + mount namespace (scripts/private-ns): the namespace is the "host",
each attachment gets its own container netns. Prints medians, p90 and ours/Go, and writes
docs/benchmark.md and docs/benchmark.svg.

    make bench                      # or: scripts/private-ns .venv/bin/python bench/suite.py
    bench/suite.py --runs 25 --concurrent 50 --ours dist/bin --go /usr/lib/cni
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from libcni.api import CNIConfig, RuntimeConf  # noqa: E402
from libcni.conf import network_conf_from_bytes  # noqa: E402

CNI_VERSION = "1.0.0"  # the newest version Debian's Go 1.1.1 build supports
PLUGINS = ("bridge", "host-local", "tuning", "portmap")
PORT_MAPPINGS = [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]


@dataclass
class Side:
    """One implementation under test: its plugin dir and its own bridge, subnet and store."""

    label: str
    plugin_dir: str
    index: int
    work: str
    env: dict[str, str] = field(default_factory=dict)  # e.g. CNI_PY_WARM=0 for the cold side
    data_dir: str = field(init=False)

    def __post_init__(self) -> None:
        self.data_dir = os.path.join(self.work, f"ipam-{self.label}")

    def ipam(self, octet: int) -> dict:
        return {
            "type": "host-local",
            "dataDir": self.data_dir,
            "ranges": [[{"subnet": f"10.{200 + self.index}.{octet}.0/24"}]],
        }

    def bridge_conf(self, name: str, octet: int, ip_masq: bool) -> dict:
        return {
            "cniVersion": CNI_VERSION,
            "name": name,
            "type": "bridge",
            "bridge": f"br-{self.label}{octet}",
            "isGateway": True,
            "ipMasq": ip_masq,
            "ipam": self.ipam(octet),
        }

    def chain(self, name: str, octet: int) -> bytes:
        plugins = [
            self.bridge_conf(name, octet, ip_masq=True),
            {"type": "tuning", "sysctl": {"net.core.somaxconn": "512"}},
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ]
        for plugin in plugins:
            plugin.pop("cniVersion", None)
            plugin.pop("name", None)
        return json.dumps({"cniVersion": CNI_VERSION, "name": name, "plugins": plugins}).encode()


# -- measuring -----------------------------------------------------------------------------------


def run_plugin(
    path: str, command: str, stdin: bytes, extra: dict[str, str] | None = None, **env: str
) -> tuple[float, bytes]:
    environ = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": env.get("cid", ""),
        "CNI_NETNS": env.get("netns", ""),
        "CNI_IFNAME": env.get("ifname", "eth0"),
        "CNI_ARGS": "",
        "CNI_PATH": os.path.dirname(path),
        **(extra or {}),
    }
    start = time.perf_counter()
    proc = subprocess.run([path], input=stdin, capture_output=True, env=environ, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{path} {command} failed: {proc.stdout.decode()} {proc.stderr.decode()}")
    return elapsed, proc.stdout


def netns_add() -> str:
    name = "bench-" + uuid.uuid4().hex[:10]
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    return f"/run/netns/{name}"


def netns_del(path: str) -> None:
    subprocess.run(["ip", "netns", "delete", os.path.basename(path)], check=False)


@dataclass
class Case:
    name: str
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, label: str, seconds: float) -> None:
        self.samples.setdefault(label, []).append(seconds)

    def median_ms(self, label: str) -> float:
        return statistics.median(self.samples[label]) * 1000

    def p90_ms(self, label: str) -> float:
        values = sorted(self.samples[label])
        if len(values) < 2:
            return values[0] * 1000
        return statistics.quantiles(values, n=10, method="inclusive")[8] * 1000


def alternate(sides: list[Side], runs: int, one_run: Callable[[Side, int], None]) -> None:
    for i in range(runs):
        for side in sides:
            one_run(side, i)


# -- the cases -----------------------------------------------------------------------------------


def bench_version(sides: list[Side], runs: int) -> list[Case]:
    cases = []
    for plugin in PLUGINS:
        case = Case(f"VERSION {plugin}")

        def one(side: Side, _i: int, plugin: str = plugin, case: Case = case) -> None:
            seconds, _ = run_plugin(os.path.join(side.plugin_dir, plugin), "VERSION", b"", side.env)
            case.add(side.label, seconds)

        alternate(sides, runs, one)
        cases.append(case)
    return cases


def bench_host_local(sides: list[Side], runs: int) -> list[Case]:
    add, delete = Case("host-local ADD"), Case("host-local DEL")
    netns = netns_add()  # host-local touches no netns, but CNI_NETNS must not be our own

    def one(side: Side, i: int) -> None:
        conf = json.dumps(
            {"cniVersion": CNI_VERSION, "name": "hl", "type": "host-local", "ipam": side.ipam(1)}
        )
        path = os.path.join(side.plugin_dir, "host-local")
        cid = f"hl-{i}"
        seconds, _ = run_plugin(path, "ADD", conf.encode(), side.env, cid=cid, netns=netns)
        add.add(side.label, seconds)
        seconds, _ = run_plugin(path, "DEL", conf.encode(), side.env, cid=cid)
        delete.add(side.label, seconds)

    try:
        alternate(sides, runs, one)
    finally:
        netns_del(netns)
    return [add, delete]


def bench_bridge(sides: list[Side], runs: int, ip_masq: bool) -> list[Case]:
    suffix = " ipMasq" if ip_masq else ""
    add, delete = Case(f"bridge ADD{suffix}"), Case(f"bridge DEL{suffix}")
    octet = 3 if ip_masq else 2

    def one(side: Side, i: int) -> None:
        conf = side.bridge_conf(f"br{octet}", octet, ip_masq)
        path = os.path.join(side.plugin_dir, "bridge")
        netns = netns_add()
        try:
            cid = f"br-{octet}-{i}"
            seconds, out = run_plugin(path, "ADD", json.dumps(conf).encode(), side.env, cid=cid, netns=netns)
            add.add(side.label, seconds)
            conf["prevResult"] = json.loads(out)
            seconds, _ = run_plugin(path, "DEL", json.dumps(conf).encode(), side.env, cid=cid, netns=netns)
            delete.add(side.label, seconds)
        finally:
            netns_del(netns)

    alternate(sides, runs, one)
    return [add, delete]


def runtime(side: Side) -> CNIConfig:
    return CNIConfig(
        [side.plugin_dir],
        cache_dir=os.path.join(side.work, f"cache-{side.label}"),
        env=dict(os.environ, **side.env),
    )


def bench_chain(sides: list[Side], runs: int) -> list[Case]:
    add, delete = Case("chain ADD"), Case("chain DEL")

    def one(side: Side, i: int) -> None:
        conf_list = network_conf_from_bytes(side.chain("chain", 4))
        netns = netns_add()
        rt = RuntimeConf(
            container_id=f"chain-{i}",
            netns=netns,
            ifname="eth0",
            capability_args={"portMappings": PORT_MAPPINGS},
        )
        try:
            cni = runtime(side)
            start = time.perf_counter()
            cni.add_network_list(conf_list, rt)
            add.add(side.label, time.perf_counter() - start)
            start = time.perf_counter()
            cni.del_network_list(conf_list, rt)
            delete.add(side.label, time.perf_counter() - start)
        finally:
            netns_del(netns)

    alternate(sides, runs, one)
    return [add, delete]


def bench_concurrent(sides: list[Side], count: int) -> list[Case]:
    add, delete = (
        Case(f"{count} concurrent chain ADDs (total)"),
        Case(f"{count} concurrent chain DELs (total)"),
    )
    for side in sides:
        conf_list = network_conf_from_bytes(side.chain("conc", 5))
        cni = runtime(side)
        spaces = [netns_add() for _ in range(count)]
        rts = [
            RuntimeConf(
                container_id=f"conc-{n}",
                netns=netns,
                ifname="eth0",
                capability_args={"portMappings": [dict(PORT_MAPPINGS[0], hostPort=20000 + n)]},
            )
            for n, netns in enumerate(spaces)
        ]
        try:
            with ThreadPoolExecutor(max_workers=count) as pool:
                start = time.perf_counter()
                list(pool.map(partial(cni.add_network_list, conf_list), rts))
                add.add(side.label, time.perf_counter() - start)
                start = time.perf_counter()
                list(pool.map(partial(cni.del_network_list, conf_list), rts))
                delete.add(side.label, time.perf_counter() - start)
        finally:
            for netns in spaces:
                netns_del(netns)
    return [add, delete]


# -- reporting -----------------------------------------------------------------------------------


def table(cases: list[Case], labels: tuple[str, ...]) -> list[str]:
    """Medians and p90 of every label, and each label's ratio to the last (the reference)."""
    *ours, go = labels
    head = "".join(f" {label} median ms | {label} p90 ms |" for label in labels)
    ratios = "".join(f" {label}/{go} |" for label in ours)
    lines = [f"| case |{head}{ratios}", "|---|" + "---:|" * (2 * len(labels) + len(ours))]
    for case in cases:
        cells = "".join(f" {case.median_ms(label):.1f} | {case.p90_ms(label):.1f} |" for label in labels)
        cells += "".join(f" {case.median_ms(label) / case.median_ms(go):.2f} |" for label in ours)
        lines.append(f"| {case.name} |{cells}")
    return lines


def svg_chart(cases: list[Case], labels: tuple[str, ...]) -> str:
    """A horizontal grouped bar chart of the medians (log scale), as plain SVG."""
    import math

    bar, left, width = 12, 290, 520
    row = 10 + bar * len(labels)
    height = 60 + row * len(cases)
    top = max(max(case.median_ms(label) for label in labels) for case in cases)
    scale_max = math.log10(max(top, 10) * 1.2)

    def x(ms: float) -> float:
        return left + width * max(math.log10(max(ms, 1.0)), 0) / scale_max

    colours = dict(zip(labels, ("#3572A5", "#A0B4CC", "#00ADD8")[-len(labels) :], strict=True))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="20" font-size="14">Median wall time per call, ms (log scale): '
        f"{' vs '.join(labels)}</text>",
    ]
    for tick in (1, 10, 100, 1000, 10000):
        if math.log10(tick) <= scale_max:
            parts.append(
                f'<line x1="{x(tick):.1f}" y1="35" x2="{x(tick):.1f}" y2="{height - 15}" stroke="#ddd"/>'
            )
            parts.append(f'<text x="{x(tick):.1f}" y="{height - 3}" text-anchor="middle">{tick}</text>')
    for n, case in enumerate(cases):
        y = 45 + n * row
        parts.append(f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end">{case.name}</text>')
        for k, label in enumerate(labels):
            ms = case.median_ms(label)
            top_y = y + k * bar
            length, colour = x(ms) - left, colours[label]
            parts.append(
                f'<rect x="{left}" y="{top_y}" width="{length:.1f}" height="{bar - 2}" fill="{colour}"/>'
            )
            parts.append(f'<text x="{x(ms) + 4:.1f}" y="{top_y + bar - 3}">{ms:.0f}</text>')
    for k, label in enumerate(labels):
        legend_x, legend_y = left + width + 10, 45 + k * 18
        parts.append(f'<rect x="{legend_x}" y="{legend_y}" width="12" height="12" fill="{colours[label]}"/>')
        parts.append(f'<text x="{left + width + 28}" y="{55 + k * 18}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def warm_server(plugin_dir: str, flag: str) -> dict | None:
    """Status (or stop) of our bundle's warm server in this namespace (None: none, or not ours)."""
    proc = subprocess.run(
        [os.path.join(plugin_dir, "bridge"), flag], capture_output=True, text=True, check=False
    )
    try:
        return json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        return None


def warm_up(plugin_dir: str, timeout: float = 60) -> None:
    """Start our warm server (one cold call) and wait until it serves, so that the timed calls
    measure the steady state a runtime sees; the cold start is what `python-cold` shows."""
    # servers of other work on this machine may hold the default slots (CNI_PY_WARM_MAX)
    run_plugin(os.path.join(plugin_dir, "bridge"), "VERSION", b"", {"CNI_PY_WARM_MAX": "64"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not warm_server(plugin_dir, "--warm-status"):
        time.sleep(0.2)
    if not warm_server(plugin_dir, "--warm-status"):
        print("bench: WARNING: no warm server came up; `python` measures cold calls", file=sys.stderr)


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, kernel {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ours", default=os.path.join(ROOT, "dist", "bin"))
    parser.add_argument("--go", default="/usr/lib/cni")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--docs", default=os.path.join(ROOT, "docs"))
    parser.add_argument(
        "--cold",
        action="store_true",
        help="also time our executables with CNI_PY_WARM=0 (no warm server: every call a cold process)",
    )
    options = parser.parse_args()
    if os.environ.get("CNI_TEST_ISOLATED") != "1":
        sys.exit(
            "run inside a private namespace: make bench (scripts/private-ns .venv/bin/python bench/suite.py)"
        )
    for directory in (options.ours, options.go):
        if not os.path.isfile(os.path.join(directory, "bridge")):
            sys.exit(f"no plugins in {directory} (make build?)")
    subprocess.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"], check=False)
    load_before = os.getloadavg()[0]  # a busy machine inflates every number: say how busy it was
    labels = ("python", "python-cold", "go") if options.cold else ("python", "go")
    with tempfile.TemporaryDirectory(prefix="cni-bench-") as work:
        sides = [Side("python", options.ours, 1, work), Side("go", options.go, 2, work)]
        if options.cold:
            sides.insert(1, Side("python-cold", options.ours, 3, work, env={"CNI_PY_WARM": "0"}))
        warm_up(options.ours)
        cases: list[Case] = []
        steps: list[tuple[str, Callable[[], list[Case]]]] = [
            ("VERSION", lambda: bench_version(sides, options.runs)),
            ("host-local", lambda: bench_host_local(sides, options.runs)),
            ("bridge", lambda: bench_bridge(sides, options.runs, ip_masq=False)),
            ("bridge ipMasq", lambda: bench_bridge(sides, options.runs, ip_masq=True)),
            ("chain", lambda: bench_chain(sides, options.runs)),
            ("concurrent", lambda: bench_concurrent(sides, options.concurrent)),
        ]
        for title, step in steps:
            print(f"bench: {title} ...", file=sys.stderr, flush=True)
            cases.extend(step())
        warm_server(options.ours, "--warm-stop")
    lines = table(cases, labels)
    print("\n".join(lines))
    os.makedirs(options.docs, exist_ok=True)
    with open(os.path.join(options.docs, "benchmark.svg"), "w") as f:
        f.write(svg_chart(cases, labels))
    with open(os.path.join(options.docs, "benchmark.md"), "w") as f:
        f.write(
            "# Benchmark: our plugins beside the Go reference\n\n"
            f"Measured {time.strftime('%Y-%m-%d')} on {machine()}, by `make bench` "
            f"({options.runs} runs per case, ours and Go alternating; whole processes, wall time; "
            f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after).\n"
            + (
                "`python` runs through the warm server (launcher/warm, the default), `python-cold` with "
                "CNI_PY_WARM=0 (a fresh process does all the work).\n"
                if options.cold
                else ""
            )
            + f"Ours: the PyInstaller build in `{os.path.relpath(options.ours, ROOT)}`; Go: Debian "
            f"containernetworking-plugins in `{options.go}`; configs use cniVersion {CNI_VERSION}.\n"
            "The chain is bridge (host-local IPAM, ipMasq) + tuning (one sysctl) + portmap (one mapping), "
            "run through our libcni for both sides.\n\n"
            + "\n".join(lines)
            + "\n\n![medians](benchmark.svg)\n"
        )


if __name__ == "__main__":
    main()
