"""The human table and the JSON report."""

from __future__ import annotations

import json
import time
from collections import OrderedDict

from .deviations import describe
from .engine import CaseResult
from .suite import RunResult

STATUS_ORDER = {"fail": 0, "deviation": 1, "pass": 2, "skip": 3}
LABEL = {"fail": "FAIL", "deviation": "DEVIATION", "pass": "pass", "skip": "skip"}


def group(cases: list[CaseResult]) -> OrderedDict[str, list[CaseResult]]:
    grouped: OrderedDict[str, list[CaseResult]] = OrderedDict()
    for case in cases:
        grouped.setdefault(case.scenario.id, []).append(case)
    return grouped


def scenario_row(cases: list[CaseResult]) -> tuple[str, str, str, str, str]:
    scenario = cases[0].scenario
    ran = [c for c in cases if c.status != "skip"]
    status = min((c.status for c in cases), key=lambda s: STATUS_ORDER[s])
    versions = " ".join(c.version for c in ran) or " ".join(c.version for c in cases)
    notes = []
    for case in cases:
        if case.status == "fail":
            notes.append(f"[{case.version}] {case.reason}")
    if status == "deviation":
        ids = sorted({d for c in cases for d in c.deviations})
        notes.append("known deviation: " + ", ".join(ids))
    skipped = [c for c in cases if c.status == "skip"]
    if skipped:
        if ran:
            notes.append(f"{' '.join(c.version for c in skipped)} skipped: {skipped[0].reason}")
        else:
            notes.append(skipped[0].reason)
    return scenario.id, scenario.plugin, versions, LABEL[status], "; ".join(notes)


def table(result: RunResult, width: int = 160, verbose: bool = False) -> str:
    rows = [scenario_row(cases) for cases in group(result.cases).values()]
    headers = ("scenario", "plugin", "spec versions", "result", "reason")
    widths = [max(len(headers[i]), *(len(r[i]) for r in rows)) if rows else len(headers[i]) for i in range(4)]
    lines = []

    def fmt(row: tuple[str, ...]) -> str:
        head = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4]))
        reason = row[4]
        room = max(20, width - len(head) - 2)
        if not verbose and len(reason) > room:
            reason = reason[: room - 3] + "..."
        return f"{head}  {reason}".rstrip()

    lines.append(fmt(headers))
    lines.append(fmt(tuple("-" * w for w in widths) + ("------",)))
    lines.extend(fmt(r) for r in rows)
    return "\n".join(lines)


def summary(result: RunResult) -> str:
    scenarios = group(result.cases)
    counts = {s: 0 for s in STATUS_ORDER}
    for cases in scenarios.values():
        counts[min((c.status for c in cases), key=lambda s: STATUS_ORDER[s])] += 1
    case_counts = {s: result.count(s) for s in STATUS_ORDER}
    plugins = ", ".join(
        f"{p.name} ({'missing' if not p.present else p.problem or 'claims ' + ' '.join(p.versions)})"
        for p in result.plugins.values()
    )
    lines = [
        f"plugin directory: {result.plugin_dir}",
        f"plugins: {plugins}",
        f"scenarios: {len(scenarios)}: {counts['pass']} pass, {counts['deviation']} known deviation, "
        f"{counts['fail']} FAIL, {counts['skip']} skipped",
        f"cases (scenario x cniVersion): {len(result.cases)}: {case_counts['pass']} pass, "
        f"{case_counts['deviation']} deviation, {case_counts['fail']} FAIL, {case_counts['skip']} skipped "
        f"in {result.seconds:.1f}s",
    ]
    missing = {k: v for k, v in result.features.items() if v}
    if missing:
        lines.append("environment: " + "; ".join(f"{k}: {v}" for k, v in sorted(missing.items())))
    used = sorted({d for c in result.cases for d in c.deviations})
    for dev in used:
        lines.append(f"deviation {dev}: {describe(dev)}")
    return "\n".join(lines)


def failures(result: RunResult) -> str:
    out = []
    for case in result.cases:
        if case.status != "fail":
            continue
        out.append(f"FAIL {case.scenario.id} [{case.version}] ({case.scenario.title})\n    {case.reason}")
        for step in case.steps:
            for call in step.outcomes:
                if step.problems:
                    out.append(
                        f"    call: {call.verb} {call.plugin} exit={call.exit}\n"
                        f"      stdin: {json.dumps(call.sent)[:600]}\n"
                        f"      stdout: {call.stdout.strip()[:600]}\n"
                        f"      stderr: {call.stderr.strip()[-400:]}"
                    )
    return "\n".join(out)


def to_json(result: RunResult, extra: dict | None = None) -> dict:
    return {
        "tool": "conformance",
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "pluginDir": result.plugin_dir,
        "seconds": round(result.seconds, 2),
        "plugins": {k: v.to_dict() for k, v in result.plugins.items()},
        "environment": result.features,
        "summary": {s: result.count(s) for s in STATUS_ORDER},
        "deviations": {d: describe(d) for d in sorted({d for c in result.cases for d in c.deviations})},
        "cases": [c.to_dict() for c in result.cases],
        **(extra or {}),
    }
