"""The report of a run: report.json (every figure) and a markdown summary, which `--doc` writes
between the figures markers of docs/reliability.md."""

from __future__ import annotations

import platform
import time
from typing import Any

BEGIN = "<!-- stress figures: begin (written by python -m stress --doc) -->"
END = "<!-- stress figures: end -->"


def build(size: str, seed: int, parts: list[str], sections: dict, findings, seconds: float) -> dict:  # noqa: ANN001
    return {
        "size": size,
        "seed": seed,
        "parts": parts,
        "seconds": round(seconds, 1),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {platform.release()}, Python {platform.python_version()}",
        "sections": sections,
        "findings": [{**f.__dict__, "known": f.known} for f in findings.items.values()],
    }


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += [
        "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows
    ]
    return "\n".join(out)


def markdown(data: dict) -> str:
    s = data["sections"]
    lines = [
        f"Run: `--size {data['size']}`, seed {data['seed']}, {data['when']}, {data['seconds']} s, "
        f"{data['machine']}.",
        "",
    ]
    if "fuzz" in s:
        f = s["fuzz"]
        lines += [
            "### Fuzzing",
            "",
            f"{f['inputs']:,} generated inputs in {f['wall_seconds']} s "
            f"(world resets after a change: {f['world_resets']}; open fds before/after: {f['fds']}).",
            "",
        ]
        rows = []
        for target, c in f["targets"].items():
            errors = sum(v for k, v in c.items() if k.startswith("error code"))
            codes = ", ".join(
                f"{k[len('error code ') :]}: {v}" for k, v in sorted(c.items()) if k.startswith("error code")
            )
            rows.append(
                [
                    target,
                    c.get("inputs", 0),
                    c.get("success", 0),
                    errors,
                    codes,
                    c.get("ADD succeeded (CHECK + DEL run)", 0),
                    c.get("inputs that changed the kernel or files", 0),
                    c.get("crash", 0) + c.get("hang", 0),
                    c.get("slowest input ms", "-"),
                ]
            )
        lines += [
            _table(
                [
                    "target",
                    "inputs",
                    "success",
                    "CNI errors",
                    "by code",
                    "ADD ok (then CHECK+DEL)",
                    "changed kernel/files",
                    "libcni crashes/hangs",
                    "slowest input ms",
                ],
                rows,
            ),
            "",
        ]
    if "faults" in s:
        f = s["faults"]
        lines += [
            "### Fault injection (SIGKILL during ADD)",
            "",
            f"{f['kills']} kills landed "
            f"({f['completed_before_kill']} more ADDs finished before their kill time).",
            "",
        ]
        rows = []
        for name, t in f["targets"].items():
            rows.append(
                [
                    name,
                    t["plugin_add_ms"],
                    f"{t['kill_delays_ms'][0]}-{t['kill_delays_ms'][1]}",
                    t.get("killed", 0),
                    t.get("DEL ok", 0),
                    t.get("residue after DEL", 0),
                    t.get("re-ADD + CHECK + DEL ok", 0),
                    t.get("residue after re-ADD + DEL", 0),
                    len(t.get("state_at_kill", {})),
                ]
            )
        lines += [
            _table(
                [
                    "plugin killed",
                    "ADD ms",
                    "kill at ms",
                    "kills",
                    "DEL ok",
                    "residue after DEL",
                    "re-ADD+CHECK+DEL ok",
                    "residue after",
                    "distinct states at kill",
                ],
                rows,
            ),
            "",
        ]
        lines += ["What the killed ADDs had left when the kill landed (before DEL), per plugin:", ""]
        for name, t in f["targets"].items():
            states = "; ".join(f"{k} ({v})" for k, v in t.get("state_at_kill", {}).items())
            lines.append(f"- {name}: {states}")
        lines.append("")
    if "concurrency" in s:
        c = s["concurrency"]
        p = c["parallel_chains"]
        lines += [
            "### Concurrency",
            "",
            _table(
                [
                    "chains (bridge+host-local, tuning, portmap)",
                    "workers",
                    "ADD ok",
                    "failed",
                    "unique IPs",
                    "duplicates",
                    "ADD s",
                    "DEL s",
                    "retries (code 11)",
                    "residue after DEL",
                ],
                [
                    [
                        p["chains"],
                        p["workers"],
                        p["adds_ok"],
                        p["adds_failed"],
                        p["unique_ips"],
                        p["duplicate_ips"],
                        p["add_seconds"],
                        p["del_seconds"],
                        p["retries"] or 0,
                        p["residue_after_del"],
                    ]
                ],
            ),
            "",
        ]
        r = c["races"]
        lines += [
            "Races (fresh bridge and nft tables each round, ADDs released together): "
            f"{r.get('rounds', 0)} rounds, "
            f"{r.get('racing ADDs ok', 0)}/{r.get('racing ADDs', 0)} ADDs ok, "
            f"{r.get('bridges made (want 1 per round)', 0)} bridges made, residue {r.get('residue', 0)}.",
            "",
        ]
    if "security" in s:
        sec = s["security"]
        lines += [
            "### Security probes",
            "",
            f"{sec['probes']} probes, {sec['findings']} that do not hold.",
            "",
        ]
        groups: dict[str, list[int]] = {}
        for row in sec["rows"]:
            g = groups.setdefault(row["group"], [0, 0])
            g[0] += 1
            g[1] += row["verdict"] != "holds"
        lines += [
            _table(["group", "probes", "not holding"], [[k, v[0], v[1]] for k, v in groups.items()]),
            "",
        ]
        bad = [r for r in sec["rows"] if r["verdict"] != "holds"]
        if bad:
            lines += [
                _table(
                    ["group", "probe", "want", "observed"],
                    [[r["group"], r["probe"], r["want"], r["observed"]] for r in bad],
                ),
                "",
            ]
    findings = data["findings"]
    lines += ["### Findings", ""]
    if not findings:
        lines += ["None.", ""]
    else:
        rows = [
            [f["part"], f["kind"], f["signature"][:150], f["count"], f["known"][:120] or "**new**"]
            for f in sorted(findings, key=lambda f: (f["part"], f["kind"], -f["count"]))
        ]
        lines += [_table(["part", "kind", "signature", "inputs", "known issue (xfail test)"], rows), ""]
    return "\n".join(lines)


def update_doc(path: str, text: str) -> None:
    with open(path) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        doc = doc.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")
