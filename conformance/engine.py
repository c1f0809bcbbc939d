"""Running one scenario at one cniVersion ("a case") against a plugin directory.

Each case gets its own host netns and container netns (names derived from the scenario id
and version, so two runs of the same case use the same names and results compare cleanly),
runs its steps, evaluates every expectation, and always removes its namespaces.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import snapshot, traffic
from .checks import MISSING, ResultShape, lookup_path
from .kernel import TOOL_PATH, Netns, SetupError
from .model import (
    OMIT,
    Concurrent,
    DeleteNetns,
    Expect,
    Invoke,
    Ref,
    RemoveFile,
    Run,
    Scenario,
    Verify,
    WriteFile,
)
from .shapes import convert_result, error_problems, version_reply_problems

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
# "{@add.interfaces.1.name}": a field of an earlier step's output, inside a string
OUTPUT_REF = re.compile(r"\{@([A-Za-z0-9_-]+)\.([A-Za-z0-9_.]+)\}")
PLUGIN_TIMEOUT = 60.0
DEFAULT_OUTPUT = {"ADD": "result", "VERSION": "version"}


def sha512_hex(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def chain_name(name: str, cid: str, prefix: str = "") -> str:
    """The iptables chain name Go derives from a network name and container id (28 chars)."""
    return ("CNI-" + prefix + sha512_hex(name + cid))[:28]


@dataclass
class Names:
    """Every name a case uses, deterministic per (scenario, version)."""

    key: str
    version: str

    @classmethod
    def of(cls, scenario_id: str, version: str) -> Names:
        return cls(hashlib.sha1(f"{scenario_id}|{version}".encode()).hexdigest()[:8], version)

    def values(self) -> dict[str, str]:
        k = self.key
        net = f"cf-{k}"
        out = {
            "net": net,
            "version": self.version,
            "host_netns": f"/run/netns/cfh-{k}",
            "tmp": f"/run/cni/conformance/{k}",
            "netdir": f"/var/lib/cni/networks/{net}",
            "host_netns_name": f"cfh-{k}",
        }
        for n in (1, 2, 3):
            suffix = "" if n == 1 else str(n)
            cid = f"ctr-{k}-{n}"
            out[f"cid{suffix}"] = cid
            out[f"netns{suffix}"] = f"/run/netns/cfc-{k}-{n}"
            out[f"netns{suffix}_name"] = f"cfc-{k}-{n}"
            out[f"dn_chain{suffix}"] = chain_name(net, cid, "DN-")
            out[f"masq_chain{suffix}"] = chain_name(net, cid)
            out[f"masq_comment{suffix}"] = f'name: "{net}" id: "{cid}"'
            out[f"ifb{suffix}"] = ("bwp" + hashlib.sha512((net + cid).encode()).hexdigest())[:15]
        return out

    def netns_name(self, which: str) -> str:
        return f"cfh-{self.key}" if which == "host" else f"cfc-{self.key}-{which[1:]}"


@dataclass
class Outcome:
    """One plugin execution as observed by the suite."""

    label: str
    plugin: str
    verb: str
    exit: int
    stdout: str
    stderr: str
    sent: Any = None
    sent_prev: Any = None
    env: dict = field(default_factory=dict)
    ms: float = 0.0
    normalized: Any = None  # the JSON output with random names and MACs replaced (compare mode)

    @property
    def json(self) -> Any:
        if not self.stdout.strip():
            return None
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "plugin": self.plugin,
            "verb": self.verb,
            "exit": self.exit,
            "stdout": self.stdout,
            "stderr": self.stderr[-2000:],
            "stdin": self.sent,
            "env": {k: v for k, v in self.env.items() if k.startswith("CNI_")},
            "ms": round(self.ms, 1),
        }


@dataclass
class StepRecord:
    index: int
    kind: str
    label: str
    problems: list[str] = field(default_factory=list)
    deviation: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    state: dict | None = None  # normalized snapshot after the step (compare mode)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"step": self.index, "kind": self.kind, "label": self.label}
        if self.problems:
            out["problems"] = self.problems
        if self.deviation:
            out["deviation"] = self.deviation
        if self.outcomes:
            out["calls"] = [o.to_dict() for o in self.outcomes]
        if self.state is not None:
            out["state"] = self.state
        return out


@dataclass
class CaseResult:
    scenario: Scenario
    version: str
    status: str  # pass | fail | skip | deviation
    reason: str = ""
    deviations: list[str] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario.id,
            "plugin": self.scenario.plugin,
            "title": self.scenario.title,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "deviations": self.deviations,
            "refs": list(self.scenario.refs),
            "seconds": round(self.seconds, 3),
            "steps": [s.to_dict() for s in self.steps],
        }


class Case:
    """The running context of one case; checks call back into it."""

    def __init__(
        self,
        scenario: Scenario,
        version: str,
        plugin_dir: str,
        capture_state: bool = False,
        plugin_env: dict[str, str] | None = None,
    ):
        self.scenario = scenario
        self.plugin_env = dict(plugin_env or {})
        self.version = version
        self.plugin_dir = os.path.abspath(plugin_dir)
        self.capture_state = capture_state
        self.names = Names.of(scenario.id, version)
        self.values = self.names.values()
        self.namespaces: dict[str, Netns] = {"host": Netns(self.names.netns_name("host"))}
        for n in range(1, scenario.containers + 1):
            self.namespaces[f"c{n}"] = Netns(self.names.netns_name(f"c{n}"))
        self.outcomes: dict[str, Outcome] = {}
        self.fixed_macs: set[str] = set()

    # --- resolution ------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, Ref):
            outcome = self.outcomes.get(value.step)
            if outcome is None:
                raise SetupError(f"step {value.step!r} has not run")
            found = lookup_path(outcome.json, value.path)
            if found is MISSING:
                raise SetupError(f"{value} not found in the output of step {value.step!r}")
            return found
        if isinstance(value, str):
            if "{@" in value:
                value = OUTPUT_REF.sub(lambda m: str(self.resolve(Ref(m.group(1), m.group(2)))), value)
            return PLACEHOLDER.sub(lambda m: self.values.get(m.group(1), m.group(0)), value)
        if isinstance(value, dict):
            return {self.resolve(k): self.resolve(v) for k, v in value.items() if v is not OMIT}
        if isinstance(value, list | tuple):
            return [self.resolve(v) for v in value]
        return value

    def ns(self, which: str) -> Netns:
        try:
            return self.namespaces[which]
        except KeyError:
            raise SetupError(f"scenario has no namespace {which!r}") from None

    def ns_for_sandbox(self, sandbox: str) -> Netns | None:
        if not sandbox:
            return self.namespaces["host"]
        return next((ns for ns in self.namespaces.values() if ns.path == sandbox), None)

    def forget_state(self) -> None:
        for ns in self.namespaces.values():
            ns.forget()

    # --- traffic helpers used by checks ------------------------------------------------------
    def ping(self, src: str, dst: str) -> bool:
        return traffic.ping(self.ns(src), dst)

    def tcp(self, client: str, dst: str, port: int, server: str, server_port: int) -> bool:
        return traffic.tcp(self.ns(client), dst, port, self.ns(server), server_port)

    # --- running ---------------------------------------------------------------------------------
    def run(self) -> CaseResult:
        started = time.monotonic()
        result = CaseResult(self.scenario, self.version, "pass")
        try:
            self.clear_files()
            os.makedirs(self.values["tmp"], exist_ok=True)
            for ns in self.namespaces.values():
                ns.create()
            for index, step in enumerate(self.scenario.steps):
                record = self._run_step(index, step)
                result.steps.append(record)
                if record.deviation:
                    result.deviations.append(record.deviation)
                if record.problems:
                    result.status = "fail"
                    where = f"step {index + 1} ({record.label or record.kind})"
                    result.reason = f"{where}: {record.problems[0]}"
                    break
        except SetupError as err:
            result.status = "fail"
            result.reason = f"setup: {err}"
        except Exception as err:  # noqa: BLE001 - a broken case must not stop the run
            result.status = "fail"
            result.reason = f"suite error: {type(err).__name__}: {err}"
        finally:
            for step in self.scenario.cleanup:
                with contextlib.suppress(Exception):
                    self._run_step(0, step)
            for ns in self.namespaces.values():
                ns.delete()
            self.clear_files()
        if result.status == "pass" and result.deviations:
            result.status = "deviation"
            result.reason = ", ".join(dict.fromkeys(result.deviations))
        result.seconds = time.monotonic() - started
        return result

    def clear_files(self) -> None:
        """Remove what this case (or an earlier run of it) left in the shared state directories."""
        shutil.rmtree(self.values["netdir"], ignore_errors=True)
        shutil.rmtree(self.values["tmp"], ignore_errors=True)
        for cid in (self.values["cid"], self.values["cid2"], self.values["cid3"]):
            for path in glob.glob(f"/run/cni/tuning/{glob.escape(cid)}_*"):
                with contextlib.suppress(OSError):
                    os.remove(path)

    def _run_step(self, index: int, step: Any) -> StepRecord:
        kind = type(step).__name__
        record = StepRecord(index + 1, kind, getattr(step, "label", "") or "")
        if isinstance(step, Invoke):
            record.label = record.label or f"{step.verb} {step.plugin or self.scenario.plugin}"
            outcome = self.invoke(step)
            record.outcomes.append(outcome)
            self.forget_state()
            record.problems, record.deviation = self.judge(step, outcome)
        elif isinstance(step, Concurrent):
            record.label = record.label or f"{len(step.invokes)} concurrent calls"
            with ThreadPoolExecutor(max_workers=len(step.invokes)) as pool:
                outcomes = list(pool.map(self.invoke, step.invokes))
            self.forget_state()
            record.outcomes.extend(outcomes)
            for inv, outcome in zip(step.invokes, outcomes, strict=True):
                problems, deviation = self.judge(inv, outcome)
                record.problems += problems
                record.deviation = record.deviation or deviation
            for check in step.state:
                record.problems += check.evaluate(self, None)
        elif isinstance(step, Run):
            self.ns(step.ns).run([self.resolve(a) for a in step.argv])
            self.forget_state()
        elif isinstance(step, WriteFile):
            path = self.resolve(step.path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(self.resolve(step.content))
            os.chmod(path, step.mode)
        elif isinstance(step, RemoveFile):
            path = self.resolve(step.path)
            if os.path.exists(path):
                os.remove(path)
        elif isinstance(step, DeleteNetns):
            # The kernel destroys a deleted netns (and the veth peers on the host) asynchronously;
            # deleting its links first makes the state after this step the final one.
            ns = self.ns(step.ns)
            for link in ns.links():
                if link.get("ifname") != "lo":
                    ns.run(["ip", "link", "del", link["ifname"]], check=False)
            ns.delete()
            self.forget_state()
        elif isinstance(step, Verify):
            for check in step.state:
                record.problems += check.evaluate(self, None)
        else:
            raise SetupError(f"unknown step {step!r}")
        if self.capture_state and isinstance(step, Invoke | Concurrent):
            record.state = snapshot.capture(self)
            norm = snapshot.normalizer_of(self)
            for outcome in record.outcomes:
                outcome.normalized = norm.value(outcome.json)
        return record

    def build_stdin(self, step: Invoke) -> tuple[bytes, Any, Any]:
        """The bytes sent on stdin, the config as sent, and the prevResult inserted (if any)."""
        if step.stdin is not None:
            raw = self.resolve(step.stdin) if isinstance(step.stdin, str) else step.stdin
            return (raw.encode() if isinstance(raw, str) else raw), None, None
        if step.config is None:
            return b"", None, None
        conf = self.resolve(step.config)
        self.fixed_macs.update(m.lower() for m in snapshot.MAC_RE.findall(json.dumps(conf)))
        if "cniVersion" not in step.config:
            conf = {"cniVersion": self.version, **conf}
        prev = None
        if step.prev is not None:
            if isinstance(step.prev, str):
                source = self.outcomes.get(step.prev)
                if source is None or source.json is None:
                    raise SetupError(f"step {step.prev!r} produced no result to pass as prevResult")
                prev = source.json
            else:
                prev = convert_result(self.resolve(step.prev), self.version)
            conf["prevResult"] = prev
        return json.dumps(conf).encode(), conf, prev

    def invoke(self, step: Invoke) -> Outcome:
        plugin = step.plugin or self.scenario.plugin
        stdin, sent, prev = self.build_stdin(step)
        verb = step.verb
        per_container = verb not in ("GC", "STATUS", "VERSION")
        n = "" if step.container == 1 else str(step.container)
        env = {
            "PATH": TOOL_PATH,
            **self.plugin_env,
            "CNI_COMMAND": verb,
            "CNI_CONTAINERID": self.values[f"cid{n}"] if per_container else "",
            "CNI_NETNS": self.values[f"netns{n}"] if per_container else "",
            "CNI_IFNAME": "eth0" if per_container else "",
            "CNI_ARGS": self.resolve(step.args),
            "CNI_PATH": self.plugin_dir,
        }
        if step.cid is not None:
            env["CNI_CONTAINERID"] = self.resolve(step.cid)
        if step.netns is not None:
            env["CNI_NETNS"] = self.resolve(step.netns)
        if step.ifname is not None:
            env["CNI_IFNAME"] = self.resolve(step.ifname)
        for key, value in step.env:
            env[key] = self.resolve(value)
        for key in step.unset:
            env.pop(key, None)
        self.fixed_macs.update(m.lower() for m in snapshot.MAC_RE.findall(env.get("CNI_ARGS", "")))
        started = time.monotonic()
        try:
            proc = subprocess.run(
                self.namespaces["host"].argv([os.path.join(self.plugin_dir, plugin)]),
                input=stdin,
                capture_output=True,
                env=env,
                timeout=PLUGIN_TIMEOUT,
                check=False,
            )
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code, out, err = -9, exc.stdout or b"", (exc.stderr or b"") + b"\n[conformance: timed out]"
        outcome = Outcome(
            label=step.label or verb.lower(),
            plugin=plugin,
            verb=verb,
            exit=code,
            stdout=out.decode(errors="replace"),
            stderr=err.decode(errors="replace"),
            sent=sent if sent is not None else stdin.decode(errors="replace"),
            sent_prev=prev,
            env=env,
            ms=(time.monotonic() - started) * 1000,
        )
        if step.label:
            self.outcomes[step.label] = outcome
        self.outcomes.setdefault(verb.lower(), outcome)
        self.outcomes["last"] = outcome
        return outcome

    def judge(self, step: Invoke, outcome: Outcome) -> tuple[list[str], str | None]:
        problems = self.evaluate(step.expect, step.verb, outcome)
        if not problems:
            return [], None
        for alternative in step.alternatives:
            if not self.evaluate(alternative, step.verb, outcome):
                return [], None
        for deviation in step.deviations:
            if not self.evaluate(deviation.expect, step.verb, outcome):
                return [], deviation.id
        return problems, None

    def evaluate(self, expect: Expect, verb: str, outcome: Outcome) -> list[str]:
        problems: list[str] = []
        data = outcome.json
        shown = (outcome.stdout.strip() or outcome.stderr.strip() or "(no output)")[:400]
        if expect.ok is True and outcome.exit != 0:
            return [f"{verb} failed (exit {outcome.exit}): {shown}"]
        if expect.ok is False and outcome.exit == 0:
            return [f"{verb} succeeded, expected an error: {shown}"]
        if outcome.exit != 0 and expect.ok is False:
            if data is None:
                return [f"{verb} failed without an error object on stdout: {shown}"]
            problems += error_problems(data)
            if expect.code is not None and isinstance(data, dict) and data.get("code") != expect.code:
                problems.append(f"error code {data.get('code')}, expected {expect.code}: {data.get('msg')!r}")
            if expect.msg is not None and isinstance(data, dict):
                want = self.resolve(expect.msg)
                text = f"{data.get('msg', '')}; {data.get('details', '')}"
                if want not in text:
                    problems.append(f"error msg {data.get('msg')!r} does not contain {want!r}")
            if problems:
                return problems
        if outcome.exit == 0:
            output = expect.output or DEFAULT_OUTPUT.get(verb, "empty")
            if output == "empty" and outcome.stdout.strip():
                problems.append(f"{verb} printed output, expected none: {shown}")
            elif output == "result":
                problems += ResultShape().evaluate(self, outcome)
            elif output == "version":
                problems += version_reply_problems(data)
        for check in expect.result:
            problems += check.evaluate(self, outcome)
        if problems:
            return problems
        for check in expect.state:
            problems += check.evaluate(self, outcome)
        return problems
