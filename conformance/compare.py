"""Differential mode: the same cases against two directories, every difference listed.

Compares, per case and step: the outcome status, exit codes, error codes and messages, the
results (normalized: random veth names and MACs replaced), and the normalized kernel and
file state captured after each plugin call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .engine import CaseResult
from .snapshot import Normalizer
from .suite import RunResult


@dataclass
class Difference:
    scenario: str
    version: str
    step: str
    kind: str  # status | exit | error | result | kernel | files | output
    path: str
    a: Any
    b: Any

    def to_dict(self) -> dict:
        return self.__dict__.copy()

    def line(self) -> str:
        a, b = _short(self.a), _short(self.b)
        return f"{self.scenario} [{self.version}] {self.step}: {self.kind} {self.path}: A={a} B={b}"


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare_runs(a: RunResult, b: RunResult) -> list[Difference]:
    diffs: list[Difference] = []
    b_cases = {(c.scenario.id, c.version): c for c in b.cases}
    for ca in a.cases:
        cb = b_cases.get((ca.scenario.id, ca.version))
        if cb is None:
            continue
        diffs += compare_cases(ca, cb)
    return diffs


def compare_cases(a: CaseResult, b: CaseResult) -> list[Difference]:
    sid, version = a.scenario.id, a.version
    out: list[Difference] = []
    if a.status != b.status:
        out.append(
            Difference(sid, version, "-", "status", "", f"{a.status} {a.reason}", f"{b.status} {b.reason}")
        )
    if a.status == "skip" or b.status == "skip":
        return out
    for sa, sb in zip(a.steps, b.steps, strict=False):
        step = f"step {sa.index} {sa.label}"
        for oa, ob in zip(sa.outcomes, sb.outcomes, strict=False):
            out += _compare_outcome(sid, version, step, oa, ob, results=sa.kind != "Concurrent")
        # concurrent calls finish in any order: who got which address is not a difference
        if sa.state is not None and sb.state is not None and sa.kind != "Concurrent":
            for path, va, vb in diff_values(sa.state, sb.state):
                kind = "files" if path.startswith("files") else "kernel"
                out.append(Difference(sid, version, step, kind, path, va, vb))
    return out


def _compare_outcome(sid, version, step, oa, ob, results: bool = True) -> list[Difference]:
    out = []
    if (oa.exit == 0) != (ob.exit == 0):
        out.append(Difference(sid, version, step, "exit", oa.verb, oa.exit, ob.exit))
    if not results:
        return out
    ja = oa.normalized if oa.normalized is not None else oa.json
    jb = ob.normalized if ob.normalized is not None else ob.json
    if oa.exit != 0 and ob.exit != 0 and isinstance(ja, dict) and isinstance(jb, dict):
        if ja.get("code") != jb.get("code"):
            out.append(Difference(sid, version, step, "error", "code", ja.get("code"), jb.get("code")))
        if ja.get("msg") != jb.get("msg"):
            out.append(Difference(sid, version, step, "error", "msg", ja.get("msg"), jb.get("msg")))
        return out
    if oa.exit == 0 and ob.exit == 0:
        if ja is None and jb is None:
            if oa.stdout.strip() != ob.stdout.strip():
                out.append(Difference(sid, version, step, "output", "stdout", oa.stdout, ob.stdout))
            return out
        na = ja if oa.normalized is not None else Normalizer(set()).value(ja)
        nb = jb if ob.normalized is not None else Normalizer(set()).value(jb)
        if oa.verb == "VERSION":
            return out if na == nb else [Difference(sid, version, step, "result", "VERSION", na, nb)]
        for path, va, vb in diff_values(_drop_empty_dns(na), _drop_empty_dns(nb)):
            out.append(Difference(sid, version, step, "result", path, va, vb))
    return out


def _drop_empty_dns(data: Any) -> Any:
    if isinstance(data, dict) and data.get("dns") == {}:
        return {k: v for k, v in data.items() if k != "dns"}
    return data


def _keyed(items: list) -> dict | None:
    """Lists of named objects (links) compare by name; other lists by content."""
    if items and all(isinstance(i, dict) and "name" in i for i in items):
        return {i["name"]: i for i in items}
    return None


def diff_values(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf-level differences between two JSON-like values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a:
                out.append((sub, None, b[key]))
            elif key not in b:
                out.append((sub, a[key], None))
            else:
                out += diff_values(a[key], b[key], sub)
        return out
    if isinstance(a, list) and isinstance(b, list):
        ka, kb = _keyed(a), _keyed(b)
        if ka is not None and kb is not None:
            return diff_values(ka, kb, path)
        if all(isinstance(x, str) for x in a + b) and not path.startswith(("ips", "routes", "interfaces")):
            only_a = [x for x in a if x not in b]
            only_b = [x for x in b if x not in a]
            if only_a or only_b:
                return [(path, only_a, only_b)]
            return [] if a == b else [(path + " (order)", a, b)]
        if len(a) == len(b):
            out = []
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                out += diff_values(x, y, f"{path}.{i}")
            return out
        return [(path, a, b)]
    return [] if a == b else [(path, a, b)]


CASE_NAMES = re.compile(r"(cf-|ctr-|cfc-|cfh-)[0-9a-f]{8}(-\d)?|CNI-(DN-)?[0-9a-f]{17,24}")


def grouped(diffs: list[Difference]) -> list[tuple[int, Difference, list[str]]]:
    """Differences that repeat across cases, once each: (count, example, scenario ids)."""
    groups: dict[tuple, tuple[Difference, list[str]]] = {}
    for diff in diffs:
        key = (
            diff.kind,
            CASE_NAMES.sub("*", diff.path),
            CASE_NAMES.sub("*", json.dumps(diff.a, sort_keys=True)),
            CASE_NAMES.sub("*", json.dumps(diff.b, sort_keys=True)),
        )
        example, where = groups.setdefault(key, (diff, []))
        where.append(f"{diff.scenario}[{diff.version}]")
    out = [(len(where), example, where) for example, where in groups.values()]
    out.sort(key=lambda item: (-item[0], item[1].kind, item[1].path))
    return out


def report_lines(diffs: list[Difference], verbose: bool = False) -> list[str]:
    if verbose:
        return [d.line() for d in diffs]
    lines = []
    for count, example, where in grouped(diffs):
        shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        path = CASE_NAMES.sub("*", example.path)
        lines.append(
            f"{count:4}x {example.kind} {path}: A={_short(example.a)} B={_short(example.b)}  ({shown})"
        )
    return lines
