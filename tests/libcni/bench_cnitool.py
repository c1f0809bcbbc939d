"""Benchmark: what cnitool and libcni add on top of the plugins themselves (no root needed).

    .venv/bin/python tests/libcni/bench_cnitool.py [rounds]

A chain of three trivial shell plugins (each prints a canned result) runs through
  1. the plugins executed directly, one after another (the floor);
  2. libcni in-process (CNIConfig.add_network_list / del_network_list);
  3. the cnitool command line (a new Python process per call, as users run it).
Reports the median wall time per operation, and for cnitool also the CPU time (user + sys) of
the processes it ran, which stays meaningful on a loaded machine.
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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

RESULT = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "eth0", "sandbox": "/run/netns/x"}],
    "ips": [{"address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 0}],
}


def median_ms(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    from launcher.shims import write_shims
    from libcni.api import CNIConfig, RuntimeConf
    from libcni.conf import load_network_conf

    work = tempfile.mkdtemp(prefix="bench-libcni-")
    bin_dir, conf_dir, cache_dir = (os.path.join(work, d) for d in ("bin", "net.d", "cache"))
    for d in (bin_dir, conf_dir):
        os.makedirs(d)
    write_shims(bin_dir, names=["cnitool"])
    names = ["p1", "p2", "p3"]
    for name in names:
        path = os.path.join(bin_dir, name)
        with open(path, "w") as f:
            script = f"cat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] && echo '{json.dumps(RESULT)}'\nexit 0\n"
            f.write("#!/bin/sh\n" + script)
        os.chmod(path, 0o755)
    with open(os.path.join(conf_dir, "10-bench.conflist"), "w") as f:
        json.dump({"cniVersion": "1.0.0", "name": "bench", "plugins": [{"type": n} for n in names]}, f)

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CNI_PATH": bin_dir, "NETCONFPATH": conf_dir}
    env["CNI_CACHE_DIR"] = cache_dir

    def direct() -> None:
        for name in names:
            e = dict(env, CNI_COMMAND="ADD", CNI_CONTAINERID="c", CNI_NETNS="/run/netns/x", CNI_IFNAME="eth0")
            subprocess.run([os.path.join(bin_dir, name)], input=b"{}", env=e, capture_output=True, check=True)

    cni = CNIConfig([bin_dir], cache_dir, env=env)
    conf_list = load_network_conf(conf_dir, "bench")
    rt = RuntimeConf(container_id="c", netns="/run/netns/x", ifname="eth0")

    def library_add_del() -> None:
        cni.add_network_list(conf_list, rt)
        cni.del_network_list(conf_list, rt)

    tool = os.path.join(bin_dir, "cnitool")

    def tool_call(*args: str) -> None:
        subprocess.run([tool, *args], env=env, capture_output=True, check=True)

    cpu0 = children_cpu_ms()
    floor = median_ms(direct, rounds)
    floor_cpu = (children_cpu_ms() - cpu0) / rounds
    lib = median_ms(library_add_del, rounds) / 2
    help_ms = median_ms(lambda: tool_call("--help"), rounds)
    cpu0 = children_cpu_ms()
    add = median_ms(
        lambda: (tool_call("add", "bench", "/run/netns/x"), tool_call("del", "bench", "/run/netns/x")), rounds
    )
    tool_cpu = (children_cpu_ms() - cpu0) / rounds / 2
    print(f"rounds: {rounds}")
    print(f"3 plugins executed directly:        {floor:7.1f} ms  (cpu {floor_cpu:.1f} ms)")
    print(f"libcni in-process, per ADD or DEL:  {lib:7.1f} ms  (overhead {lib - floor:+.1f} ms)")
    print(f"cnitool --help (process start):     {help_ms:7.1f} ms")
    print(
        f"cnitool add + del, per command:     {add / 2:7.1f} ms  (overhead {add / 2 - floor:+.1f} ms; "
        f"cpu {tool_cpu:.1f} ms incl. plugins)"
    )


if __name__ == "__main__":
    main()
