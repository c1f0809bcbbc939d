"""Running host tools (nft, iptables, conntrack) with a clean environment.

A PyInstaller bundle sets LD_LIBRARY_PATH to its own libraries; children must not inherit it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

_BUNDLE_VARS = ("LD_LIBRARY_PATH", "LD_PRELOAD")


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in _BUNDLE_VARS:
        original = env.pop(var + "_ORIG", None)
        env.pop(var, None)
        if original is not None:
            env[var] = original
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    return env


def run(
    argv: Sequence[str], stdin: str | bytes | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess:
    """Run a command, capturing output; never raises for a non-zero exit (check .returncode)."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    try:
        return subprocess.run(
            list(argv), input=data, capture_output=True, env=clean_env(), timeout=timeout, check=False
        )
    except FileNotFoundError as err:
        return subprocess.CompletedProcess(list(argv), 127, b"", str(err).encode())
