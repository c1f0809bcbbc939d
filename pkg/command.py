"""Running host tools (nft, iptables, conntrack) with a clean environment.

A PyInstaller bundle sets LD_LIBRARY_PATH to its own libraries; children must not inherit it.
The tools run through libcni.spawn (os.posix_spawn: `subprocess` costs more than the tool).
"""

from __future__ import annotations

import os

from libcni.paths import DEFAULT_PATH
from libcni.spawn import Completed, run_all

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

__all__ = ["Completed", "clean_env", "run", "run_parallel"]

_BUNDLE_VARS = ("LD_LIBRARY_PATH", "LD_PRELOAD")


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in _BUNDLE_VARS:
        original = env.pop(var + "_ORIG", None)
        env.pop(var, None)
        if original is not None:
            env[var] = original
    env.setdefault("PATH", DEFAULT_PATH)
    return env


def run(argv: Sequence[str], stdin: str | bytes | None = None, timeout: float = 60.0) -> Completed:
    """Run a command, capturing output; never raises for a non-zero exit (check .returncode).
    A tool that cannot be started is returncode 127 with the reason in .stderr."""
    return run_parallel([(argv, stdin)], timeout)[0]


def run_parallel(
    commands: Sequence[tuple[Sequence[str], str | bytes | None]], timeout: float = 60.0
) -> list[Completed]:
    """Run independent commands at the same time (e.g. iptables and ip6tables); results in order."""
    encoded = [(argv, data.encode() if isinstance(data, str) else data) for argv, data in commands]
    return run_all(encoded, clean_env(), timeout)
