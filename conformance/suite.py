"""Planning and running the catalogue against one plugin directory."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from .engine import Case, CaseResult
from .model import Scenario
from .probe import PluginInfo, probe_features, probe_plugin, skip_reason


@dataclass
class RunResult:
    plugin_dir: str
    plugins: dict[str, PluginInfo]
    features: dict[str, str | None]
    cases: list[CaseResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for c in self.cases if c.status == status)

    @property
    def failed(self) -> bool:
        return any(c.status == "fail" for c in self.cases)


def select(scenarios: Iterable[Scenario], only: list[str] | None, match: str | None = None) -> list[Scenario]:
    chosen = []
    for scenario in scenarios:
        if only and scenario.plugin not in only:
            continue
        if match and match not in scenario.id:
            continue
        chosen.append(scenario)
    return chosen


def default_jobs() -> int:
    return max(2, min(8, (os.cpu_count() or 2) * 2))


def run_suite(
    plugin_dir: str,
    scenarios: list[Scenario],
    *,
    jobs: int | None = None,
    capture_state: bool = False,
    progress: Callable[[CaseResult], None] | None = None,
    features: dict[str, str | None] | None = None,
    plugin_env: dict[str, str] | None = None,
) -> RunResult:
    started = time.monotonic()
    names = sorted({p for s in scenarios for p in s.plugins})
    plugins = {name: probe_plugin(plugin_dir, name, plugin_env) for name in names}
    features = features if features is not None else probe_features()
    result = RunResult(os.path.abspath(plugin_dir), plugins, features)

    runnable: list[Case] = []
    exclusive: list[Case] = []
    order: dict[tuple[str, str], int] = {}
    for scenario in scenarios:
        for version in scenario.versions:
            order[(scenario.id, version)] = len(order)
            reason = skip_reason(scenario, version, plugins, features)
            if reason:
                skipped = CaseResult(scenario, version, "skip", reason)
                result.cases.append(skipped)
                if progress:
                    progress(skipped)
                continue
            case = Case(scenario, version, plugin_dir, capture_state=capture_state, plugin_env=plugin_env)
            (exclusive if scenario.exclusive else runnable).append(case)

    with ThreadPoolExecutor(max_workers=jobs or default_jobs()) as pool:
        futures = [pool.submit(case.run) for case in runnable]
        for future in as_completed(futures):
            done = future.result()
            result.cases.append(done)
            if progress:
                progress(done)
    for case in exclusive:
        done = case.run()
        result.cases.append(done)
        if progress:
            progress(done)
    result.cases.sort(key=lambda c: order[(c.scenario.id, c.version)])
    result.seconds = time.monotonic() - started
    return result
