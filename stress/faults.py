"""Fault injection: SIGKILL each plugin at many points of its ADD, then DEL must leave nothing
and a new ADD of the same container must work.

No hooks in the plugins: timed kills. For each plugin of the chain (and host-local on its own,
and bridge with its IPAM as a separate process) the normal ADD is timed first; the kills then
land at evenly spaced delays from just after interpreter start-up to just past the end of the
ADD. The whole process group is killed, as libcni does on a timeout. After each kill: what
the killed ADD had left is recorded (evidence of where the kill landed), the runtime's DEL of
the whole chain runs (libcni, no cached result, as after a failed ADD), the machine is compared
with the baseline, then ADD + CHECK + DEL of the same container must succeed and leave nothing.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import sandbox, state
from .chain import Chain, conflist
from .findings import Findings


@dataclass
class Target:
    name: str
    index: int  # which plugin of the chain is killed
    conf: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)


def targets() -> list[Target]:
    nft = conflist("flt-nft", "fltbr0", "10.74.0.0/24")
    ipt = conflist("flt-ipt", "fltbr1", "10.74.1.0/24", masq_backend="iptables", portmap_backend="iptables")
    host_local = {
        "cniVersion": "1.0.0",
        "name": "flt-hl",
        "plugins": [
            {"type": "host-local", "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.74.2.0/24"}]]}}
        ],
    }
    return [
        Target("bridge (+host-local in-process)", 0, nft),
        Target("bridge (+host-local as a child process)", 0, ipt, {"CNI_PY_NO_INPROCESS": "1"}),
        Target("tuning", 1, nft),
        Target("portmap (nftables)", 2, nft),
        Target("portmap (iptables)", 2, ipt),
        Target("host-local", 0, host_local),
    ]


class Scenario:
    """One container for one kill point: its own netns, ID and host port."""

    counter = 0

    def __init__(self, chain: Chain, tag: str) -> None:
        Scenario.counter += 1
        self.chain = chain
        self.ns_name = sandbox.unique("fltc-")
        self.ns_path = sandbox.add_netns(self.ns_name)
        self.container_id = f"fault-{tag}-{Scenario.counter}"
        self.rt = chain.runtime(self.container_id, self.ns_path, port=21000 + Scenario.counter % 20000)
        self.fresh = state.refresh(state.Snapshot(), ["container"], self.ns_name)

    def expected(self, baseline: state.Snapshot) -> state.Snapshot:
        """The baseline host plus this container netns as it was when made (just lo)."""
        import copy

        out = copy.copy(baseline)
        out.ctr_links, out.ctr_addrs, out.ctr_routes = (
            self.fresh.ctr_links,
            self.fresh.ctr_addrs,
            self.fresh.ctr_routes,
        )
        return out

    def prefix(self, index: int, extra_env: dict[str, str]) -> Any:
        """Run the plugins before `index` normally; return the previous result for `index`."""
        prev = None
        for j in range(index):
            done = self.chain.exec_one(j, "ADD", prev, self.rt, extra_env=extra_env)
            if done.code != 0:
                raise RuntimeError(f"chain prefix plugin {j} failed: {done.stdout[:300]!r}")
            prev = done.result
        return prev

    def close(self) -> None:
        sandbox.del_netns(self.ns_name)


def _time_add(chain: Chain, target: Target) -> tuple[float, float]:
    """(start-up seconds, full ADD seconds) of the target plugin, medians of 3 runs."""
    startups, totals = [], []
    for _ in range(3):
        scenario = Scenario(chain, "timing")
        try:
            prev = scenario.prefix(target.index, target.env)
            t0 = time.monotonic()
            version = chain.exec_one(target.index, "VERSION", prev, scenario.rt, extra_env=target.env)
            startups.append(time.monotonic() - t0)
            done = chain.exec_one(target.index, "ADD", prev, scenario.rt, extra_env=target.env)
            if done.code != 0 or version.code != 0:
                raise RuntimeError(f"{target.name}: normal ADD failed: {done.stdout[:300]!r}")
            totals.append(done.seconds)
            chain.delete(scenario.rt)
        finally:
            scenario.close()
    return statistics.median(startups), statistics.median(totals)


def run_faults(size, findings: Findings) -> dict:  # noqa: ANN001
    sandbox.require_isolated()
    sandbox.make_dirs()
    launchers = sandbox.write_launchers(state.SANDBOX + "/bin")
    sandbox.sh("nft", "flush", "ruleset")
    out: dict[str, Any] = {"targets": {}, "kills": 0, "completed_before_kill": 0}
    for target in targets():
        chain = Chain(launchers, target.conf, env_extra=target.env)
        # warm-up: the bridge, firewall skeleton and bookkeeping files exist in the baseline
        warm = Scenario(chain, "warm")
        try:
            chain.add(warm.rt)
            chain.delete(warm.rt)
        finally:
            warm.close()
        startup, total = _time_add(chain, target)
        baseline = state.snapshot()
        first = startup * 0.8
        last = total * 1.1
        n = size.kill_points
        delays = [first + (last - first) * k / (n - 1) for k in range(n)] if n > 1 else [(first + last) / 2]
        stats: Counter = Counter()
        landed: Counter = Counter()
        for delay in delays:
            _one_kill(chain, target, delay, baseline, findings, stats, landed)
        out["targets"][target.name] = {
            "plugin_startup_ms": round(startup * 1000),
            "plugin_add_ms": round(total * 1000),
            "kill_delays_ms": [round(d * 1000) for d in (delays[0], delays[-1])],
            **dict(stats),
            "state_at_kill": dict(landed.most_common()),
        }
        out["kills"] += stats["killed"]
        out["completed_before_kill"] += stats["finished before the kill"]
        print(
            f"  faults {target.name}: {stats['killed']} kills, {stats['residue after DEL']} with residue",
            flush=True,
        )
    return out


def _one_kill(
    chain: Chain,
    target: Target,
    delay: float,
    baseline: state.Snapshot,
    findings: Findings,
    stats: Counter,
    landed: Counter,
) -> None:
    scenario = Scenario(chain, "kill")
    where = f"{target.name} killed at {delay * 1000:.0f} ms"
    try:
        prev = scenario.prefix(target.index, target.env)
        done = chain.exec_one(target.index, "ADD", prev, scenario.rt, kill_after=delay, extra_env=target.env)
        stats["killed" if done.killed else "finished before the kill"] += 1
        left = state.diff(scenario.expected(baseline), state.snapshot(scenario.ns_name))
        landed[", ".join(sorted({c.category for c in left if not c.tolerated})) or "nothing yet"] += 1
        try:
            chain.delete(scenario.rt)
            stats["DEL ok"] += 1
        except Exception as err:  # noqa: BLE001
            stats["DEL failed"] += 1
            findings.add("faults", "del-failed", f"{target.name}: DEL after a kill failed", f"{where}: {err}")
        residue = state.residue(state.diff(scenario.expected(baseline), state.snapshot(scenario.ns_name)))
        if residue:
            stats["residue after DEL"] += 1
            for change in residue:
                findings.add(
                    "faults",
                    "residue",
                    f"{target.name}: {change.category} left after kill + DEL",
                    f"{where}: {change.what}",
                )
        try:
            chain.add(scenario.rt)
            chain.check(scenario.rt)
            chain.delete(scenario.rt)
            stats["re-ADD + CHECK + DEL ok"] += 1
        except Exception as err:  # noqa: BLE001
            stats["re-ADD failed"] += 1
            findings.add(
                "faults",
                "re-add-failed",
                f"{target.name}: ADD of the same container after kill + DEL failed",
                f"{where}: {err}",
            )
            try:
                chain.delete(scenario.rt)
            except Exception:  # noqa: BLE001
                pass
        residue = state.residue(state.diff(scenario.expected(baseline), state.snapshot(scenario.ns_name)))
        if residue:
            stats["residue after re-ADD + DEL"] += 1
            for change in residue:
                findings.add(
                    "faults",
                    "residue",
                    f"{target.name}: {change.category} left after re-ADD + DEL",
                    f"{where}: {change.what}",
                )
    finally:
        scenario.close()
