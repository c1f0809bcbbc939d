"""Keeping the suite off the machine: a private network + mount namespace of its own.

`python -m conformance` re-executes itself under `unshare --net --mount --propagation
private`; the child mounts tmpfs over the directories plugins and `ip netns` write to, mounts
a sysfs that shows the new netns, brings lo up, and only then runs scenarios. Nothing a
plugin does can reach the machine's interfaces, routes, firewall or disk, and it all
disappears when the run ends, even if it is killed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from .kernel import TOOL_PATH

ISOLATED_ENV = "CNI_CONFORMANCE_ISOLATED"
OUTER_ENV = "CNI_CONFORMANCE_OUTER_NETNS"
STATE_DIRS = ("/run/netns", "/var/lib/cni", "/run/cni", "/etc/cni")


def netns_inode() -> int:
    return os.stat("/proc/self/ns/net").st_ino


def is_isolated() -> bool:
    """True only inside the namespaces this suite made (a private netns, marked by our parent)."""
    outer = os.environ.get(OUTER_ENV, "")
    return os.environ.get(ISOLATED_ENV) == "1" and outer.isdigit() and netns_inode() != int(outer)


def reexec_isolated(argv: list[str]) -> None:
    """Replace this process with the suite running in fresh private namespaces."""
    if os.geteuid() != 0:
        raise SystemExit("conformance: must run as root (it creates network namespaces)")
    unshare = shutil.which("unshare", path=TOOL_PATH)
    if unshare is None:
        raise SystemExit("conformance: needs unshare (util-linux)")
    env = dict(os.environ)
    env[OUTER_ENV] = str(netns_inode())
    env.pop(ISOLATED_ENV, None)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    cmd = [unshare, "--net", "--mount", "--propagation", "private", "--"]
    os.execve(unshare, [*cmd, sys.executable, "-m", "conformance", "--inside-namespace", *argv], env)


def prepare_namespace() -> None:
    """In the fresh namespaces: refuse if the netns is the machine's, then hide the state dirs."""
    outer = os.environ.get(OUTER_ENV, "")
    if not outer.isdigit() or netns_inode() == int(outer):
        raise SystemExit("conformance: refusing to run: not in a private network namespace")
    for directory in STATE_DIRS:
        _mount_tmpfs(directory)
    # /sys must show this netns (sysfs readers and `ip netns exec` rely on it)
    subprocess.run(["mount", "-t", "sysfs", "sysfs", "/sys"], capture_output=True, check=False)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, env={"PATH": TOOL_PATH})
    os.environ[ISOLATED_ENV] = "1"


def fresh_state() -> None:
    """New empty tmpfs over the state dirs (between the two runs of --compare)."""
    if not is_isolated():
        raise RuntimeError("fresh_state outside the suite's own namespaces")
    for directory in STATE_DIRS[1:]:
        _mount_tmpfs(directory)


def _mount_tmpfs(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "mode=0755", "cni-conformance", directory],
        check=True,
        env={"PATH": TOOL_PATH},
    )
