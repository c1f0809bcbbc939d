"""Findings (what went wrong) and counters (what was tried), shared by every stress part.

A finding has a signature: the same bug found by 500 inputs is one finding with a count and
the first reproducer. Signatures listed in KNOWN are tolerated findings (each with its reason):
they are shown, but do not fail the run. Fixed bugs leave KNOWN and keep a test in
tests/stress/test_known_issues.py that must pass.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# signature regex -> why it is tolerated
KNOWN: dict[str, str] = {
    # not a bug
    r"CHECK after a successful ADD: code 999 Bridge interface .* Promisc Mode": (
        "same as Go: CHECK compares promiscMode with a bridge an earlier config made promiscuous "
        "(fuzz configs share one bridge)"
    ),
    # Fixed, so no longer listed (a regression fails the run): deep JSON in skel and libcni
    # decoders, error objects with surrogates, trailing newline in IDs (c9e5ac5); host-local
    # planted symlinks, owners longer than 4 KiB, resolvConf FIFO (04c7f7c); lone surrogates in
    # config strings and env values, NUL in CNI_NETNS, portmap DEL of container IDs > 255 bytes.
}


@dataclass
class Finding:
    part: str  # fuzz, faults, concurrency, security
    kind: str  # crash, hang, bad-output, residue, del-failed, check-failed, leak, escape, ...
    signature: str
    detail: str
    count: int = 1
    reproducer: dict[str, Any] = field(default_factory=dict)

    @property
    def known(self) -> str:
        for pattern, why in KNOWN.items():
            if re.search(pattern, self.signature):
                return why
        return ""


class Findings:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], Finding] = {}

    def add(self, part: str, kind: str, signature: str, detail: str, reproducer: dict | None = None) -> None:
        key = (part, kind, signature)
        found = self.items.get(key)
        if found is not None:
            found.count += 1
            return
        self.items[key] = Finding(part, kind, signature, detail, 1, reproducer or {})

    def of(self, part: str) -> list[Finding]:
        return [f for f in self.items.values() if f.part == part]

    def unexpected(self) -> list[Finding]:
        return [f for f in self.items.values() if not f.known]


def reproducer(plugin: str, env: dict[str, str], stdin: bytes, limit: int = 1500) -> dict[str, Any]:
    cni_env = {k: v for k, v in env.items() if k.startswith("CNI_")}
    try:
        text = stdin.decode()
        body: dict[str, Any] = {"stdin": text[:limit] + ("..." if len(text) > limit else "")}
    except UnicodeDecodeError:
        body = {"stdin_b64": base64.b64encode(stdin[:limit]).decode()}
    return {"plugin": plugin, "env": cni_env, **body, "stdin_bytes": len(stdin)}


@dataclass
class Tally:
    """Counts of one part (inputs, outcomes by code, kernel actions, checks)."""

    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def __getitem__(self, key: str) -> int:
        return self.counts[key]
