"""Start-up of the frozen programs: `CNI_COMMAND=VERSION <program>`, median wall and CPU time.

    .venv/bin/python bench/startup.py [--floor] [PROGRAM ...]

Default programs: dist/bin/bridge (launcher + frozen program), dist/bin/cni-plugins.d/bridge (the
frozen program alone) and /usr/lib/cni/bridge (Go). --floor also builds (into build/floor) and
times a frozen program that does nothing, with the same PyInstaller options as build.spec: the
floor every program pays before its first import of ours. The programs run interleaved, so load
changes hit all alike; CPU time (user + sys of the child) is the steadier figure on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOOR_SPEC = """
DROPPED = {"pyi_rth_inspect", "pyi_rth_pkgutil", "pyi_rth_multiprocessing"}
a = Analysis([%(script)r], noarchive=True)
a.scripts = [s for s in a.scripts if s[0] not in DROPPED]
exe = EXE(PYZ(a.pure), a.scripts, [], exclude_binaries=True, name="noop", strip=True, upx=False,
          console=True, contents_directory=".")
COLLECT(exe, a.binaries, a.datas, strip=True, upx=False, name="noop.d")
"""


def build_floor() -> str:
    work = os.path.join(ROOT, "build", "floor")
    os.makedirs(work, exist_ok=True)
    script = os.path.join(work, "noop.py")
    with open(script, "w") as f:
        f.write("")
    spec = os.path.join(work, "noop.spec")
    with open(spec, "w") as f:
        f.write(FLOOR_SPEC % {"script": script})
    pyinstaller = os.path.join(ROOT, ".venv", "bin", "pyinstaller")
    subprocess.run(
        [
            pyinstaller,
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            os.path.join(work, "dist"),
            "--workpath",
            os.path.join(work, "work"),
            spec,
        ],
        check=True,
    )
    return os.path.join(work, "dist", "noop.d", "noop")


def measure(paths: list[str], runs: int) -> dict[str, tuple[float, float, float]]:
    env = {"CNI_COMMAND": "VERSION", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)]
    wall: dict[str, list[float]] = {p: [] for p in paths}
    cpu: dict[str, list[float]] = {p: [] for p in paths}
    for _ in range(runs):
        for path in paths:
            start = time.perf_counter()
            pid = os.posix_spawn(path, [path], env, file_actions=actions)
            _, status, usage = os.wait4(pid, 0)
            wall[path].append(time.perf_counter() - start)
            cpu[path].append(usage.ru_utime + usage.ru_stime)
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"{path} failed")
    return {
        p: (1000 * statistics.median(wall[p]), 1000 * min(wall[p]), 1000 * statistics.median(cpu[p]))
        for p in paths
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("programs", nargs="*")
    parser.add_argument("--floor", action="store_true")
    parser.add_argument("--runs", type=int, default=61)
    options = parser.parse_args()
    programs = options.programs or [
        os.path.join(ROOT, "dist", "bin", "bridge"),
        os.path.join(ROOT, "dist", "bin", "cni-plugins.d", "bridge"),
        "/usr/lib/cni/bridge",
    ]
    if options.floor:
        programs.insert(0, build_floor())
    print(f"load average {os.getloadavg()[0]:.1f}; {options.runs} runs each")
    print("| program | wall median (ms) | wall min (ms) | CPU median (ms) |\n|---|---:|---:|---:|")
    for path, (median, low, cpu) in measure(programs, options.runs).items():
        name = os.path.relpath(path, ROOT) if path.startswith(ROOT) else path
        print(f"| `{name}` | {median:.1f} | {low:.1f} | {cpu:.1f} |")
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
