"""Findings (what went wrong) and counters (what was tried), shared by every stress part.

A finding has a signature: the same bug found by 500 inputs is one finding with a count and
the first reproducer. Signatures listed in KNOWN are bugs already reported (each has a test
marked xfail in tests/stress/): they are shown, but do not fail the run.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# signature regex -> why it is tolerated for now (the xfail test in tests/stress/test_known_issues.py)
KNOWN: dict[str, str] = {
    r"RecursionError at libcni/skel\.py": (
        "skel: JSON nested ~1000 deep ends as 999 (untyped); test_deep_json_is_a_decoding_error"
    ),
    r"libcni \w+ decoder: RecursionError": (
        "libcni conf/cache decoders: deep JSON escapes as RecursionError; test_libcni_deep_json"
    ),
    r"UnicodeEncodeError at libcni/types/gomodel\.py": (
        "a lone-surrogate escape in a config string: pydantic-core raises UnicodeEncodeError -> 999; "
        "test_surrogate_escape_in_config_field"
    ),
    r"UnicodeEncodeError at libcni/(validate|skel)\.py": (
        "in-process only: env values with lone surrogates outside U+DC80-U+DCFF -> 999; "
        "test_lone_surrogate_env_in_process"
    ),
    r"UnicodeEncodeError|dispatch raised": (
        "surrogates (undecodable env bytes, \\ud800 in JSON) -> 999 or a traceback; test_surrogates_* "
        "(fixed in c9e5ac5)"
    ),
    r"CHECK after a successful ADD: code 999 Bridge interface .* Promisc Mode": (
        "same as Go: CHECK compares promiscMode with a bridge an earlier config made promiscuous "
        "(fuzz configs share one bridge)"
    ),
    r"container ID 'x\\n'|network name 'net\\n'": (
        "validate: `$` accepts a trailing newline (Go does not); test_trailing_newline_refused"
    ),
    r"host-local container ID of 100000 chars|over-long: tuning container ID of 100000": (
        "host-local scan reads 4 KiB of an address file: DEL of a container ID > 4 KiB leaks its IP; "
        "test_long_container_id_released"
    ),
    r"last_reserved_ip\.0 -> existing file|lock -> missing file|\.db -> missing file": (
        "host-local writes through planted symlinks (last_reserved_ip, lock, index); test_planted_symlinks_*"
    ),
    r"ValueError at libcni/skel\.py:\d+ \(_same_netns\)": (
        "skel: NUL in CNI_NETNS -> 999 (in-process API only: env values cannot hold NUL); "
        "test_nul_in_netns_is_an_environment_error"
    ),
    r"portmap DEL after a successful ADD: code 999 \[Errno N\] File name too long": (
        "portmap owners.forget: DEL with a container ID > 255 bytes fails (ENAMETOOLONG); "
        "test_portmap_forget_tolerates_long_container_ids"
    ),
    r"resolvConf=.*fifo": (
        "host-local reads resolvConf to the end: a FIFO hangs it (as Go); test_resolvconf_fifo"
    ),
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
