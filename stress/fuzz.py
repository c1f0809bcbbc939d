"""In-process fuzzing of the four plugins through the skeleton (libcni.skel.dispatch), with the
verbs really executed against a container netns, plus libcni's conflist and cache decoders.

Each input must end in a success or a CNI error object (code + message) on stdout; an untyped
exception (the skeleton turns it into code 999; CNI_PY_TRACEBACK=1 shows us its traceback) is a
crash, a run longer than HANG_SECONDS a hang. When the kernel or the state files report a change,
the machine is snapshotted: an input that failed (or a CHECK / STATUS) must have left nothing
behind; a successful ADD is followed by CHECK with its own result and by DEL, after which nothing
but the tolerated bookkeeping may remain. Then the world is put back to its baseline.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from libcni.skel import Outcome, dispatch

from . import corpus, gen, sandbox, state
from .findings import Findings, Tally, reproducer

HANG_SECONDS = 20.0

# Shares of the total number of inputs per target. "parse" targets run the real skeleton and the
# plugins' real parsers and validators (each plugin's PREPARE, stress/prepared.py) but stop before
# the kernel; "kernel" runs complete verbs against a container netns and checks the machine after
# each input.
TARGETS: dict[str, tuple[float, str]] = {
    "skeleton": (0.11, "parse"),
    "config:bridge": (0.10, "parse"),
    "config:host-local": (0.10, "parse"),
    "config:tuning": (0.10, "parse"),
    "config:portmap": (0.10, "parse"),
    "config:loopback": (0.03, "parse"),
    "prevResult": (0.10, "parse"),
    "CNI_ARGS": (0.06, "parse"),
    "runtimeConfig": (0.08, "parse"),
    "libcni": (0.08, "parse"),
    "kernel": (0.14, "kernel"),
}
KERNEL_MIX = [
    "skeleton",
    "config:bridge",
    "config:host-local",
    "config:tuning",
    "config:portmap",
    "config:bridge",
    "config:portmap",
    "prevResult",
    "CNI_ARGS",
    "runtimeConfig",
]
HYPOTHESIS_SHARE = 0.05  # of each target's inputs come from hypothesis strategies, the rest from RandomDraw


class Hang(BaseException):
    """Raised by SIGALRM inside a plugin that ran too long (not an Exception: nothing catches it)."""


def _alarm(signum, frame):  # noqa: ANN001, ANN202
    raise Hang()


def plugin_object(name: str, mode: str = "kernel"):  # noqa: ANN201
    import importlib

    from launcher.programs import ENTRIES

    if mode == "parse":
        from .prepared import plugin

        return plugin(name)
    return importlib.import_module(ENTRIES[name]).PLUGIN


@dataclass
class Input:
    target: str
    plugin: str
    env: dict[str, str]
    stdin: bytes
    mode: str = "kernel"

    @property
    def verb(self) -> str:
        return self.env.get("CNI_COMMAND", "<unset>")


class Fuzzer:
    def __init__(self, findings: Findings, seed_value: int = 0) -> None:
        self.findings = findings
        self.tally = Tally()
        self.seed = seed_value
        self.cwd = os.path.join(sandbox.make_dirs(), "cwd")
        os.makedirs(self.cwd, exist_ok=True)
        self.launchers = sandbox.write_launchers(os.path.join(state.SANDBOX, "bin"))
        self.resolv = os.path.join(state.SANDBOX, "resolv.conf")
        with open(self.resolv, "w") as f:
            f.write("nameserver 10.79.0.53\nsearch fz.local\noptions ndots:3\n")
        self.resolv_ok = (self.resolv, "/run/cni/stress/does-not-exist", state.SANDBOX)
        self.world = sandbox.World(self.cwd)
        self.home_netns = os.stat("/proc/self/ns/net").st_ino
        self.fds = 0
        self.per_target: dict[str, Tally] = {}
        self.slowest: dict[str, dict] = {}

    # -------------------------------------------------------------- world

    def __enter__(self) -> Fuzzer:
        self.home_cwd = os.getcwd()
        os.chdir(self.cwd)
        self.world.start(self._setup_container)
        self.fds = len(os.listdir("/proc/self/fd"))
        return self

    def __exit__(self, *exc: object) -> None:
        self.world.stop()
        os.chdir(self.home_cwd)

    @staticmethod
    def _setup_container(name: str) -> None:
        # An interface for tuning to tune (bridge makes its own eth0).
        sandbox.sh(
            "ip", "-n", name, "link", "add", corpus.TUNING_IFNAME, "type", "veth", "peer", "name", "fz0p"
        )
        sandbox.sh("ip", "-n", name, "link", "set", corpus.TUNING_IFNAME, "up")

    @property
    def ctr(self) -> str:
        return self.world.container_path

    def env(self, command: str, ifname: str = corpus.CONTAINER_IFNAME, args: str = "") -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": "fz-ctr-1",
            "CNI_NETNS": self.ctr,
            "CNI_IFNAME": ifname,
            "CNI_ARGS": args,
            "CNI_PATH": self.launchers,
            "CNI_PY_TRACEBACK": "1",
        }

    def contain(self, value: Any) -> Any:
        value, _ = sandbox.contain_config(value, self.cwd, corpus.FUZZ_IPAM_DIR, self.resolv_ok)
        return value

    def contain_bytes(self, raw: bytes, clean: Any) -> bytes:
        """Damaged bytes may still decode: their paths must be contained too."""
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):
            return raw
        _, replaced = sandbox.contain_config(decoded, self.cwd, corpus.FUZZ_IPAM_DIR, self.resolv_ok)
        return json.dumps(self.contain(clean)).encode() if replaced else raw

    # -------------------------------------------------------------- one input

    def run(self, item: Input) -> Outcome | None:
        item.env = sandbox.contain_env(item.env, self.cwd, self.launchers)
        tally = self.per_target.setdefault(item.target, Tally())
        tally.add("inputs")
        self.tally.add("inputs")
        tuning_sysctls = self._tuning_sysctls(item) if item.plugin == "tuning" else {}
        outcome = self._dispatch(item, tally)
        if outcome is None:
            return None
        ok = outcome.exit_code == 0
        tally.add("success" if ok else f"error code {self._code(outcome)}")
        self._check_process(item)
        if item.mode == "parse":
            domains = self.world.changed()
            if domains:  # the parsers alone must never touch anything
                self._add(
                    item, "residue", f"parse-only {item.plugin} {item.verb} changed {sorted(domains)}", ""
                )
                before, now = self.world.observe(domains)
                self.world.settle(now, residue=True)
            return outcome
        if ok and item.verb == "ADD":
            tally.add("ADD succeeded (CHECK + DEL run)")
            self._check_and_delete(item, outcome, tally)
        strict = not ok or item.verb in ("CHECK", "STATUS", "VERSION", "ADD")
        self._check_state(item, outcome, strict, tuning_sysctls, tally)
        return outcome

    def _dispatch(self, item: Input, tally: Tally) -> Outcome | None:
        plugin = plugin_object(item.plugin, item.mode)
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
        started = time.monotonic()
        try:
            outcome = dispatch(plugin, item.env, lambda: item.stdin)
        except Hang:
            self._add(
                item, "hang", f"{item.target} {item.plugin} {item.verb}: no answer in {HANG_SECONDS:g} s", ""
            )
            tally.add("hang")
            return None
        except BaseException as err:  # noqa: BLE001 - dispatch promises never to raise
            self._add(item, "crash", f"dispatch raised {type(err).__name__}", traceback.format_exc()[-2000:])
            return None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        elapsed = time.monotonic() - started
        tally.seconds += elapsed
        if elapsed * 1000 > tally["slowest input ms"]:
            tally.counts["slowest input ms"] = int(elapsed * 1000)
            self.slowest[item.target] = reproducer(item.plugin, item.env, item.stdin, limit=600)
        if elapsed > HANG_SECONDS:  # the alarm can be swallowed (e.g. raised inside a gc callback)
            self._add(item, "hang", f"{item.target} {item.plugin} {item.verb}: took {elapsed:.0f} s", "")
        self._check_outcome(item, outcome)
        return outcome

    @staticmethod
    def _code(outcome: Outcome) -> Any:
        try:
            return json.loads(outcome.stdout).get("code")
        except (ValueError, AttributeError):
            return "?"

    def _add(self, item: Input, kind: str, signature: str, detail: str) -> None:
        self.findings.add("fuzz", kind, signature, detail, reproducer(item.plugin, item.env, item.stdin))

    def _check_outcome(self, item: Input, outcome: Outcome) -> None:
        where = f"{item.plugin} {item.verb}"
        trace = outcome.stderr.decode(errors="replace")
        if "Traceback (most recent call last)" in trace:
            self._add(item, "crash", f"{where}: {_crash_signature(trace)}", trace[-3000:])
        if outcome.exit_code not in (0, 1):
            self._add(item, "bad-output", f"{where}: exit code {outcome.exit_code}", "")
        if outcome.exit_code == 1:
            try:
                err = json.loads(outcome.stdout)
            except ValueError:
                self._add(
                    item,
                    "bad-output",
                    f"{where}: error output is not JSON",
                    outcome.stdout[:300].decode("utf-8", "replace"),
                )
                return
            if (
                not isinstance(err.get("code"), int)
                or not isinstance(err.get("msg"), str)
                or not err.get("msg")
            ):
                self._add(
                    item,
                    "bad-output",
                    f"{where}: error object without code or msg",
                    outcome.stdout[:300].decode("utf-8", "replace"),
                )
        elif item.verb == "ADD" and outcome.exit_code == 0:
            try:
                json.loads(outcome.stdout)
            except ValueError:
                self._add(
                    item,
                    "bad-output",
                    f"{where}: result is not JSON",
                    outcome.stdout[:300].decode("utf-8", "replace"),
                )

    def _check_process(self, item: Input) -> None:
        if os.stat("/proc/self/ns/net").st_ino != self.home_netns:
            self._add(item, "leak", f"{item.plugin} {item.verb}: left the process in another netns", "")
            raise SystemExit("stress: the fuzz process was left in another netns; stopping")
        if os.getcwd() != self.cwd:
            self._add(item, "leak", f"{item.plugin} {item.verb}: changed the working directory", "")
            os.chdir(self.cwd)

    def _check_and_delete(self, item: Input, added: Outcome, tally: Tally) -> None:
        """ADD succeeded: CHECK with its own result must pass (0.4.0+), then DEL must succeed."""
        plugin = plugin_object(item.plugin)
        try:
            conf = json.loads(item.stdin)
        except (ValueError, RecursionError):
            conf = None
        version = conf.get("cniVersion") if isinstance(conf, dict) else None
        if (
            isinstance(conf, dict)
            and isinstance(version, str)
            and version >= "0.4.0"
            and version in corpus.VERSIONS
        ):
            conf = {k: v for k, v in conf.items() if k.lower() != "prevresult"}
            conf["prevResult"] = json.loads(added.stdout)
            check_env = {**item.env, "CNI_COMMAND": "CHECK"}
            checked = dispatch(plugin, check_env, lambda: json.dumps(conf).encode())
            tally.add("CHECK after ADD")
            if checked.exit_code != 0:
                self._add(
                    Input(item.target, item.plugin, check_env, json.dumps(conf).encode()),
                    "check-failed",
                    f"{item.plugin} CHECK after a successful ADD: {_message_shape(checked.stdout)}",
                    checked.stdout[:500].decode("utf-8", "replace"),
                )
        del_env = {**item.env, "CNI_COMMAND": "DEL"}
        deleted = dispatch(plugin, del_env, lambda: item.stdin)
        if deleted.exit_code != 0:
            self._add(
                Input(item.target, item.plugin, del_env, item.stdin),
                "del-failed",
                f"{item.plugin} DEL after a successful ADD: {_message_shape(deleted.stdout)}",
                deleted.stdout[:500].decode("utf-8", "replace"),
            )

    def _tuning_sysctls(self, item: Input) -> dict[str, str]:
        """The container sysctls a tuning input names, read before it runs."""
        paths = _sysctl_paths(item.stdin, item.env.get("CNI_IFNAME", ""))
        return self._read_container_sysctls(paths) if paths else {}

    def _read_container_sysctls(self, paths: list[str]) -> dict[str, str]:
        from pkg.ns import NetNS

        values = {}
        try:
            with NetNS.open(self.ctr) as ns, ns.entered():
                for path in paths:
                    try:
                        with open(path, "rb") as f:
                            values[path] = f.read(4096).decode(errors="replace")
                    except OSError:
                        values[path] = "<unreadable>"
        except Exception:  # noqa: BLE001 - a broken container netns shows up in the snapshot
            return {}
        return values

    def _check_state(self, item: Input, outcome: Outcome, strict: bool, sysctls: dict, tally: Tally) -> None:
        sysctl_moved = []
        if sysctls and strict and outcome.exit_code != 0:
            after = self._read_container_sysctls(list(sysctls))
            sysctl_moved = [p for p in sysctls if after.get(p) != sysctls[p]]
        domains = self.world.changed()
        if not domains and not sysctl_moved:
            return
        tally.add("inputs that changed the kernel or files")
        before, now = self.world.observe(domains)
        changes = state.diff(before, now)
        bad: list[state.Change] = []
        if strict:
            bad = state.residue(changes)
            if item.verb in ("DEL", "GC"):
                bad = [c for c in bad if "removed" not in c.what]
            for path in sysctl_moved:
                bad.append(state.Change("sysctl", f"container sysctl {path} changed"))
            result = (
                "failed"
                if outcome.exit_code
                else "succeeded (then DEL)"
                if item.verb == "ADD"
                else "succeeded"
            )
            for change in bad:
                self._add(
                    item,
                    "residue",
                    f"{item.plugin} {item.verb} {result}: {change.category}: {_shape(change.what)}",
                    change.what,
                )
            for change in changes:
                if change.tolerated:
                    tally.add(f"tolerated: {change.category}")
        left = self.world.settle(now, residue=bool(state.residue(changes)))
        if left:
            self.findings.add("fuzz", "reset-failed", left[0].what, "; ".join(c.what for c in left))
            self.world.baseline = self.world.known

    # -------------------------------------------------------------- targets

    def draw(self, target: str, d: gen.Draw, mode: str) -> Input:
        if target == "kernel":
            item = self.draw(d.choice(KERNEL_MIX), d, "kernel")
            item.target = "kernel"
            return item
        version = d.choice(corpus.VERSIONS)
        if target == "skeleton":
            item = self._draw_skeleton(d, version)
        elif target.startswith("config:"):
            item = self._draw_config(d, target, target.split(":", 1)[1], version, within=())
        elif target == "runtimeConfig":
            item = self._draw_config(d, target, d.choice(sandbox.PLUGINS), version, within=None)
        elif target == "prevResult":
            item = self._draw_prev_result(d, version)
        elif target == "CNI_ARGS":
            plugin = d.choice(["bridge", "host-local", "tuning"])
            base = d.choice(corpus.configs(plugin, version, self.ctr))
            env = self.env(d.choice(["ADD", "ADD", "DEL", "CHECK"]), _ifname(plugin), gen.cni_args(d))
            item = Input(target, plugin, env, json.dumps(self.contain(base)).encode())
        else:
            raise ValueError(target)
        item.mode = mode
        return item

    def _draw_skeleton(self, d: gen.Draw, version: str) -> Input:
        plugin = d.choice(sandbox.PLUGINS)
        env = self.env(d.choice(gen.COMMANDS) if d.integer(0, 3) else d.choice(gen.ODD_COMMANDS))
        env["CNI_CONTAINERID"] = d.ident()
        env["CNI_IFNAME"] = gen.ifname(d)
        pick = d.integer(0, 5)
        odd_netns = [
            "",
            "/run/netns/nope",
            "/proc/self/ns/net",
            "/dev/null",
            state.SANDBOX,
            "netns",
            self.ctr + "/..",
            "/run/netns/../netns/" + self.world.container,
            self.resolv,
        ]
        env["CNI_NETNS"] = self.ctr if pick < 3 else d.choice(odd_netns) if pick < 5 else d.text(20)
        env["CNI_ARGS"] = gen.cni_args(d)
        env["CNI_PATH"] = d.choice(sandbox.allowed_cni_paths(self.launchers))
        for key in list(env):
            if key.startswith("CNI_") and key != "CNI_PY_TRACEBACK" and d.integer(0, 9) == 0:
                del env[key]
        kind = d.choice(["valid", "mutated", "mutated", "value", "bytes"])
        if kind == "bytes":
            stdin = d.binary(200)
        elif kind == "value":
            clean = d.value()
            stdin = self.contain_bytes(gen.encode(d, clean), clean)
        else:
            base = d.choice(corpus.configs(plugin, version, self.ctr))
            clean = self.contain(gen.mutate(d, base) if kind == "mutated" else base)
            stdin = self.contain_bytes(gen.encode(d, clean), clean)
        return Input("skeleton", plugin, env, stdin)

    def _draw_config(self, d: gen.Draw, target: str, plugin: str, version: str, within) -> Input:  # noqa: ANN001
        base = d.choice(corpus.configs(plugin, version, self.ctr))
        if within is None:  # runtimeConfig / args sections only
            base.setdefault(
                "runtimeConfig", {"portMappings": [], "mac": "0a:58:0a:4d:00:0c", "ips": ["10.77.0.7"]}
            )
            base.setdefault("args", {"cni": {"ips": ["10.77.0.8"], "mac": "0a:58:0a:4d:00:0d"}})
            within = d.choice([("runtimeConfig",), ("args",)])
        clean = self.contain(gen.mutate(d, base, within=within))
        verb = d.choice(["ADD", "ADD", "ADD", "DEL", "CHECK", "GC", "STATUS"])
        return Input(
            target, plugin, self.env(verb, _ifname(plugin)), self.contain_bytes(gen.encode(d, clean), clean)
        )

    def _draw_prev_result(self, d: gen.Draw, version: str) -> Input:
        plugin = d.choice(["tuning", "portmap", "bridge"])
        verb = "CHECK" if plugin == "bridge" else d.choice(["ADD", "ADD", "CHECK"])
        base = d.choice(corpus.configs(plugin, version, self.ctr))
        prev_version = d.choice([*corpus.VERSIONS, "", "9.9.9"])
        prev = corpus.prev_result(prev_version or "1.0.0", self.ctr, _ifname(plugin))
        if prev_version == "":
            prev.pop("cniVersion")
        elif prev_version == "9.9.9":
            prev["cniVersion"] = prev_version
        if d.boolean():
            prev = gen.mutate(d, prev)
        base["prevResult"] = prev
        clean = self.contain(base)
        return Input(
            "prevResult",
            plugin,
            self.env(verb, _ifname(plugin)),
            self.contain_bytes(gen.encode(d, clean), clean),
        )

    # -------------------------------------------------------------- libcni (pure decoders)

    def libcni_input(self, d: gen.Draw) -> None:
        from libcni import cache, conf

        self.tally.add("inputs")
        tally = self.per_target.setdefault("libcni", Tally())
        tally.add("inputs")
        which = d.choice(["conflist", "conf", "cache"])
        version = d.choice(corpus.VERSIONS)
        if which == "cache":
            clean = {
                "kind": "cniCacheV1",
                "containerId": "fz",
                "config": "e30=",
                "ifName": "eth0",
                "networkName": "fz",
                "cniArgs": [["K", "V"]],
                "capabilityArgs": {"portMappings": []},
                "result": corpus.prev_result(version, "/x"),
            }
            decode: Callable[[bytes], Any] = cache.decode_cache
            expected: tuple[type[BaseException], ...] = (cache.CacheError,)
        else:
            clean = corpus.conflist(version)
            if which == "conf":
                clean = {**corpus.bridge_configs(version)[0]}
            decode = (
                conf.network_conf_from_bytes if which == "conflist" else conf.network_plugin_conf_from_bytes
            )
            expected = (conf.ConfigError,)
        raw = gen.encode(d, gen.mutate(d, clean) if d.integer(0, 4) else clean)
        started = time.monotonic()
        try:
            decode(raw)
            tally.add("success")
        except expected:
            tally.add("error (typed)")
        except Exception as err:  # noqa: BLE001 - the point: nothing untyped may escape
            tally.add("crash")
            frame = traceback.extract_tb(err.__traceback__)[-1]
            self.findings.add(
                "fuzz",
                "crash",
                f"libcni {which} decoder: {type(err).__name__} at "
                f"{os.path.basename(frame.filename)}:{frame.lineno}",
                traceback.format_exc()[-2000:],
                {"decoder": which, "input": raw[:4000].decode("utf-8", "replace")},
            )
        tally.seconds += time.monotonic() - started

    # -------------------------------------------------------------- driving

    def one(self, target: str, mode: str, d: gen.Draw) -> None:
        if target == "libcni":
            self.libcni_input(d)
        else:
            self.run(self.draw(target, d, mode))

    def run_target(self, target: str, examples: int, mode: str) -> None:
        """`examples` inputs: a share from hypothesis, the rest from a seeded RandomDraw."""
        started = time.monotonic()
        from_hypothesis = max(1, int(examples * HYPOTHESIS_SHARE))
        base_seed = self.seed * 1_000_003 + zlib_crc(target)

        @settings(
            max_examples=from_hypothesis,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @seed(base_seed)
        @given(st.data())
        def body(data) -> None:  # noqa: ANN001
            self.one(target, mode, gen.HypothesisDraw(data))

        body()
        for index in range(examples - from_hypothesis):
            self.one(target, mode, gen.RandomDraw(random.Random(base_seed * 7919 + index)))
        self.per_target.setdefault(target, Tally()).add("wall seconds", int(time.monotonic() - started))


def zlib_crc(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode())


def _ifname(plugin: str) -> str:
    return corpus.TUNING_IFNAME if plugin == "tuning" else corpus.CONTAINER_IFNAME


def _sysctl_paths(stdin: bytes, ifname: str) -> list[str]:
    from plugins.tuning.sysctls import sysctl_path

    try:
        conf = json.loads(stdin)
    except (ValueError, RecursionError):
        return []
    keys: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.lower() == "sysctl" and isinstance(value, dict):
                    keys.extend(k for k in value if isinstance(k, str))
                elif isinstance(value, dict):
                    collect(value)

    collect(conf)
    out = []
    for key in keys[:50]:
        try:
            out.append(sysctl_path(key, ifname))
        except Exception:  # noqa: BLE001 - refused keys are never written
            continue
    return out


def _crash_signature(trace: str) -> str:
    """`ExcType at file.py:line (function)` of the innermost frame of our code."""
    lines = trace.strip().splitlines()
    exc = lines[-1].split(":", 1)[0] if lines else "?"
    frames = [line.strip() for line in lines if line.strip().startswith('File "')]
    ours = [f for f in frames if "/site-packages/" not in f and "/lib/python3" not in f] or frames
    where = "?"
    if ours:
        part = ours[-1]
        try:
            path = part.split('"')[1]
            lineno = part.split("line ")[1].split(",")[0]
            func = part.rsplit(" in ", 1)[1]
            where = f"{os.path.relpath(path, _ROOT)}:{lineno} ({func})"
        except IndexError:
            where = part
    return f"{exc} at {where}"


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _message_shape(stdout: bytes) -> str:
    try:
        err = json.loads(stdout)
        return f"code {err.get('code')} {_shape(str(err.get('msg', '')))}"
    except (ValueError, AttributeError):
        return _shape(stdout.decode("utf-8", "replace"))


def _shape(text: str) -> str:
    """A message with its variable parts (numbers, names, addresses) blurred, for grouping."""
    import re

    text = re.sub(r"veth[0-9a-f]{8}", "veth*", text)
    text = re.sub(r'"[^"]{0,80}"', '"*"', text)
    text = re.sub(r"[0-9a-f:.]{6,}(/\d+)?", "<addr>", text)
    text = re.sub(r"\d+", "N", text)
    return text[:160]


def run_fuzz(size, findings: Findings, seed_value: int = 0, only: tuple[str, ...] = ()) -> dict:  # noqa: ANN001
    """Every target gets its share of the inputs; returns the figures for the report."""
    fuzzer = Fuzzer(findings, seed_value)
    started = time.monotonic()
    with fuzzer:
        for target, (share, mode) in TARGETS.items():
            if only and target not in only:
                continue
            t0 = time.monotonic()
            fuzzer.run_target(target, max(2, int(size.fuzz_inputs * share)), mode)
            tally = fuzzer.per_target.get(target, Tally())
            print(f"  fuzz {target}: {tally['inputs']} inputs in {time.monotonic() - t0:.0f} s", flush=True)
        fds = len(os.listdir("/proc/self/fd"))
    if fds > fuzzer.fds + 8:
        findings.add("fuzz", "leak", f"file descriptors grew from {fuzzer.fds} to {fds}", "")
    return {
        "inputs": fuzzer.tally["inputs"],
        "targets": {t: dict(v.counts) for t, v in fuzzer.per_target.items()},
        "world_resets": fuzzer.world.resets,
        "slowest_inputs": fuzzer.slowest,
        "fds": [fuzzer.fds, fds],
        "wall_seconds": round(time.monotonic() - started, 1),
    }
