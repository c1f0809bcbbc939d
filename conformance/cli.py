"""python -m conformance --plugin-dir DIR [--only a,b] [--report out.json] [--compare DIR2]"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from . import report
from .catalogue import all_scenarios
from .compare import compare_runs, report_lines
from .isolation import fresh_state, is_isolated, prepare_namespace, reexec_isolated
from .suite import RunResult, default_jobs, run_suite, select

RESERVED_ENV = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"}


class Progress:
    """A one-line counter on a terminal's stderr."""

    def __init__(self) -> None:
        self.done = 0
        self.failed = 0

    def __call__(self, case) -> None:
        self.done += 1
        self.failed += case.status == "fail"
        sys.stderr.write(f"\r  {self.done} cases done, {self.failed} failed ")
        sys.stderr.flush()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="CNI conformance suite: runs a catalogue of scenarios against the plugin executables "
        "in a directory, inside private network namespaces it creates and removes itself.",
    )
    parser.add_argument("--plugin-dir", help="directory holding bridge, host-local, tuning, portmap ...")
    parser.add_argument(
        "--only", help="comma-separated plugins to test (default: every plugin in the catalogue)"
    )
    parser.add_argument("--match", help="only scenarios whose id contains this text")
    parser.add_argument("--report", help="write a JSON report to this file")
    parser.add_argument("--compare", metavar="DIR2", help="also run against DIR2 and list every difference")
    parser.add_argument(
        "--plugin-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for every plugin call, as a runtime's own environment (repeatable)",
    )
    parser.add_argument("--jobs", type=int, default=None, help=f"parallel cases (default {default_jobs()})")
    parser.add_argument("--strict", action="store_true", help="count known deviations as failures")
    parser.add_argument("--verbose", action="store_true", help="do not shorten reasons in the table")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit (no root needed)")
    parser.add_argument("--inside-namespace", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if not options.list and not options.plugin_dir:
        parser.error("--plugin-dir is required")
    for item in options.plugin_env:
        name, sep, _ = item.partition("=")
        if not sep or not name or name.startswith("CNI_") and name in RESERVED_ENV:
            parser.error(
                f"--plugin-env {item!r}: expected NAME=VALUE (not one of the CNI_* protocol variables)"
            )
    return options


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = parse_args(argv)
    only = [p.strip() for p in options.only.split(",") if p.strip()] if options.only else None
    scenarios = select(all_scenarios(), only, options.match)
    if options.list:
        for s in scenarios:
            print(f"{s.id:55} {s.plugin:11} {' '.join(s.versions):30} {s.title}")
        print(f"{len(scenarios)} scenarios")
        return 0
    for directory in filter(None, (options.plugin_dir, options.compare)):
        if not os.path.isdir(directory):
            print(f"conformance: {directory} is not a directory", file=sys.stderr)
            return 2
    if not scenarios:
        print("conformance: no scenario selected", file=sys.stderr)
        return 2
    if options.inside_namespace:
        prepare_namespace()
    elif not is_isolated():
        reexec_isolated([a for a in argv if a != "--inside-namespace"])
        return 2  # not reached

    width = shutil.get_terminal_size((160, 40)).columns
    capture = bool(options.compare)
    plugin_env = dict(item.split("=", 1) for item in options.plugin_env)
    progress = Progress() if sys.stderr.isatty() else None
    common = {"jobs": options.jobs, "plugin_env": plugin_env, "progress": progress}
    first = run_suite(options.plugin_dir, scenarios, capture_state=capture, **common)
    runs: list[RunResult] = [first]
    if options.compare:
        fresh_state()
        runs.append(run_suite(options.compare, scenarios, capture_state=True, **common))

    if progress is not None:
        sys.stderr.write("\r\033[K")
    failed = False
    for run in runs:
        if len(runs) > 1:
            print(f"\n=== {run.plugin_dir} ===")
        print(report.table(run, width=width, verbose=options.verbose))
        print()
        text = report.failures(run)
        if text:
            print(text)
            print()
        print(report.summary(run))
        failed |= run.failed or (options.strict and run.count("deviation") > 0)

    extra: dict = {}
    if options.compare:
        diffs = compare_runs(runs[0], runs[1])
        print(f"\n=== differences: A={runs[0].plugin_dir} B={runs[1].plugin_dir} ===")
        for line in report_lines(diffs, verbose=options.verbose):
            print(line)
        kinds: dict[str, int] = {}
        for diff in diffs:
            kinds[diff.kind] = kinds.get(diff.kind, 0) + 1
        print(f"{len(diffs)} differences " + json.dumps(kinds, sort_keys=True))
        extra = {
            "compare": {
                "a": runs[0].plugin_dir,
                "b": runs[1].plugin_dir,
                "differences": [d.to_dict() for d in diffs],
                "b_run": report.to_json(runs[1]),
            }
        }
    if options.report:
        with open(options.report, "w") as f:
            json.dump(report.to_json(runs[0], extra), f, indent=1, default=str)
    return 1 if failed else 0
