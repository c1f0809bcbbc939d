"""`python -m stress`: run the hardening parts and write their report.

    tests/isolated .venv/bin/python -m stress --size full        # what `make stress` runs
    tests/isolated .venv/bin/python -m stress --size small       # the bounded CI version
    tests/isolated .venv/bin/python -m stress --parts fuzz --fuzz-inputs 5000 --seed 7

Exit status 0 when every finding is a known, reported issue (see stress/findings.py KNOWN).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .findings import Findings
from .sizes import SIZES

PARTS = ("fuzz", "faults", "concurrency", "security")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated subset of " + ", ".join(PARTS)
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fuzz-inputs", type=int, default=0, help="override the size's fuzz input count")
    parser.add_argument("--fuzz-targets", default="", help="comma-separated fuzz targets (default: all)")
    parser.add_argument("--out", default="build/stress", help="directory for report.json and report.md")
    parser.add_argument("--doc", default="", help="also rewrite the figures section of this markdown file")
    options = parser.parse_args(argv)

    from .sandbox import require_isolated

    require_isolated()
    # absolute now: the fuzzer works from a directory on tmpfs
    options.out = os.path.abspath(options.out)
    options.doc = os.path.abspath(options.doc) if options.doc else ""
    size = SIZES[options.size]
    if options.fuzz_inputs:
        size = size.with_fuzz_inputs(options.fuzz_inputs)
    parts = [p for p in options.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")

    findings = Findings()
    sections: dict[str, dict] = {}
    started = time.monotonic()
    for part in parts:
        t0 = time.monotonic()
        print(f"stress: {part} ({options.size}) ...", flush=True)
        sections[part] = run_part(
            part, size, findings, options.seed, tuple(filter(None, options.fuzz_targets.split(",")))
        )
        sections[part]["seconds"] = round(time.monotonic() - t0, 1)
        print(f"stress: {part} done in {sections[part]['seconds']} s", flush=True)

    from . import report

    data = report.build(options.size, options.seed, parts, sections, findings, time.monotonic() - started)
    os.makedirs(options.out, exist_ok=True)
    with open(os.path.join(options.out, "report.json"), "w") as f:
        json.dump(data, f, indent=1, default=str)
    text = report.markdown(data)
    with open(os.path.join(options.out, "report.md"), "w") as f:
        f.write(text)
    if options.doc:
        report.update_doc(options.doc, text)
    print(text)
    unexpected = [f for f in findings.unexpected()]
    passed = 0 if unexpected else 1
    # A plain closing line CI readers understand.
    print(f"stress: {passed} passed, {1 - passed} failed")
    return 1 if unexpected else 0


def run_part(part: str, size, findings: Findings, seed: int, targets: tuple[str, ...] = ()) -> dict:  # noqa: ANN001
    if part == "fuzz":
        from .fuzz import run_fuzz

        return run_fuzz(size, findings, seed, targets)
    if part == "faults":
        from .faults import run_faults

        return run_faults(size, findings)
    if part == "concurrency":
        from .concurrency import run_concurrency

        return run_concurrency(size, findings)
    from .security import run_security

    return run_security(size, findings)


if __name__ == "__main__":
    sys.exit(main())
