"""The world one stress run acts in: checks it is inside tests/isolated, makes its scratch
directory, plugin launchers and netns, keeps generated inputs from reaching the real disk or the
real machine, and puts everything back to the baseline after an input changed something."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from . import state

PLUGINS = ("bridge", "host-local", "tuning", "portmap")
# Only these roots are tmpfs in tests/isolated: a generated path may write nowhere else.
WRITABLE_ROOTS = ("/var/lib/cni/", "/run/cni/")
SAFE_PROC = ("/proc/self/ns/net", "/proc/thread-self/ns/net")


class NotIsolated(SystemExit):
    pass


def require_isolated() -> None:
    from tests.harness import kernel_tests_allowed

    allowed, reason = kernel_tests_allowed()
    if not allowed:
        raise NotIsolated(f"stress: refusing to run: {reason} (use `make stress` or tests/isolated)")


def sh(*argv: str, check: bool = True) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()}")
    return proc.stdout


def make_dirs() -> str:
    os.makedirs(state.SANDBOX, exist_ok=True)
    return state.SANDBOX


def write_launchers(directory: str) -> str:
    """Launchers for our four plugins only (CNI_PATH of every run: nothing else can be exec'd)."""
    from launcher.shims import write_shims

    write_shims(directory, names=list(PLUGINS))
    return directory


def unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:8]


def add_netns(name: str) -> str:
    sh("ip", "netns", "add", name)
    sh("ip", "-n", name, "link", "set", "lo", "up")
    return f"/run/netns/{name}"


def del_netns(name: str) -> None:
    sh("ip", "netns", "delete", name, check=False)


# ---------------------------------------------------------------- keeping inputs contained


def safe_write_path(value: str, cwd: str) -> bool:
    """A path a plugin may create files under: only inside the tmpfs state roots."""
    try:
        real = os.path.realpath(os.path.join(cwd, value))
    except ValueError:  # NUL byte: no system call can use it
        return True
    except OSError:  # cannot even be resolved: keep it away
        return False
    return any((real + "/").startswith(root) for root in WRITABLE_ROOTS)


def safe_read_path(value: str, cwd: str, allowed: tuple[str, ...]) -> bool:
    try:
        real = os.path.realpath(os.path.join(cwd, value))
    except ValueError:
        return True
    except OSError:
        return False
    return real in allowed or not os.path.exists(real) and safe_write_path(value, cwd)


def safe_netns(value: str, cwd: str) -> bool:
    """Never a /proc/<pid>/ns/net other than our own: that could be the real machine's netns."""
    try:
        real = os.path.realpath(os.path.join(cwd, value))
    except ValueError:
        return True
    except OSError:
        return False
    return not real.startswith("/proc/") or real in SAFE_PROC or value in SAFE_PROC


def contain_config(value: Any, cwd: str, replace_dir: str, resolv_ok: tuple[str, ...]) -> tuple[Any, bool]:
    """Walk a decoded config; dataDir / resolvConf strings that could reach the real disk are
    replaced. Returns (value, whether anything was replaced)."""
    changed = False

    def walk(node: Any) -> Any:
        nonlocal changed
        if isinstance(node, dict):
            out = {}
            for key, child in node.items():
                lowered = key.lower() if isinstance(key, str) else ""
                if lowered == "datadir" and isinstance(child, str) and not safe_write_path(child, cwd):
                    child, changed = replace_dir, True
                elif (
                    lowered == "resolvconf"
                    and isinstance(child, str)
                    and not safe_read_path(child, cwd, resolv_ok)
                ):
                    child, changed = resolv_ok[0], True
                out[key] = walk(child)
            return out
        if isinstance(node, list):
            return [walk(child) for child in node]
        return node

    return walk(value), changed


def contain_env(env: Mapping[str, str], cwd: str, cni_path: str) -> dict[str, str]:
    out = dict(env)
    if "CNI_PATH" in out:
        out["CNI_PATH"] = out["CNI_PATH"] if out["CNI_PATH"] in allowed_cni_paths(cni_path) else cni_path
    if "CNI_NETNS" in out and not safe_netns(out["CNI_NETNS"], cwd):
        out["CNI_NETNS"] = "/run/netns/does-not-exist"
    return out


def allowed_cni_paths(launchers: str) -> tuple[str, ...]:
    return (launchers, "", "/nonexistent", f"/nonexistent:{launchers}", f"{launchers}:")


# ---------------------------------------------------------------- the baseline


class World:
    """Host netns = ours (tests/isolated); one container netns; the last known state of both.

    Tolerated leftovers (a bridge, bookkeeping files) are adopted into the known state, as on a
    real node; real residue, or too many leftovers, puts everything back to the baseline."""

    MAX_LEFTOVER_LINKS = 6

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.container = unique("fzc-")
        self.container_path = ""
        self.baseline: state.Snapshot | None = None
        self.known: state.Snapshot | None = None
        self.watch: state.Watch | None = None
        self.resets = 0

    def start(self, setup_container: Callable[[str], None]) -> None:
        sh("nft", "flush", "ruleset")
        self._setup_container = setup_container
        self._make_container()
        self.baseline = self.known = state.snapshot(self.container)
        self._watch()

    def _make_container(self) -> None:
        self.container_path = add_netns(self.container)
        self._setup_container(self.container)

    def _watch(self) -> None:
        if self.watch is not None:
            self.watch.close()
        fd = os.open(self.container_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self.watch = state.Watch(fd)
        finally:
            os.close(fd)

    def stop(self) -> None:
        if self.watch is not None:
            self.watch.close()
        del_netns(self.container)

    def changed(self) -> set[str]:
        assert self.watch is not None
        return self.watch.changed()

    def observe(self, domains: set[str]) -> tuple[state.Snapshot, state.Snapshot]:
        """(state before, state now) for the domains that changed."""
        assert self.known is not None and self.watch is not None
        return self.known, state.refresh(self.known, domains, self.container, self.watch.files)

    def settle(self, now: state.Snapshot, residue: bool) -> list[state.Change]:
        """Adopt `now`, or go back to the baseline; returns what a reset could not undo."""
        assert self.baseline is not None
        leftovers = len(set(now.host_links) - set(self.baseline.host_links))
        if not residue and leftovers <= self.MAX_LEFTOVER_LINKS and now.ctr_links == self.baseline.ctr_links:
            self.known = now
            return []
        self.reset(now)
        after = state.snapshot(self.container)
        left = state.diff(self.baseline, after)
        self.known = after
        self.changed()
        return left

    def reset(self, now: state.Snapshot) -> None:
        """Put the machine back to the baseline (links, container netns, rules, files, sysctls)."""
        assert self.baseline is not None
        base = self.baseline
        self.resets += 1
        for name in set(now.host_links) - set(base.host_links):
            sh("ip", "link", "del", name, check=False)
        for ifname, addr in now.host_addrs - base.host_addrs:
            if ifname in base.host_links:
                sh("ip", "addr", "del", addr, "dev", ifname, check=False)
        for name in set(now.ctr_links) - set(base.ctr_links):
            sh("ip", "-n", self.container, "link", "del", name, check=False)
        container = state.read_links(self.container), state.read_addrs(self.container)
        if container != (base.ctr_links, base.ctr_addrs):
            del_netns(self.container)
            self._make_container()
            self._watch()
        if now.ruleset != base.ruleset:
            sh("nft", "flush", "ruleset")
        for path in sorted(set(now.files) - set(base.files), key=len):
            if os.path.lexists(path):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
        for name, value in base.sysctls.items():
            if now.sysctls.get(name) != value and value != "<missing>":
                with open("/proc/sys/" + name, "w") as f:
                    f.write(value)
