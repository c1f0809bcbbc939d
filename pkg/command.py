"""Running host tools (nft, iptables, conntrack) with a clean environment.

A PyInstaller bundle sets LD_LIBRARY_PATH to its own libraries; children must not inherit it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from libcni.paths import DEFAULT_PATH

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


def run_parallel(
    commands: Sequence[tuple[Sequence[str], str | bytes | None]], timeout: float = 60.0
) -> list[subprocess.CompletedProcess]:
    """Run independent commands at the same time (e.g. iptables and ip6tables); results in order."""
    if len(commands) <= 1:
        return [run(argv, stdin, timeout) for argv, stdin in commands]
    env = clean_env()
    started: list[tuple[list[str], subprocess.Popen | None, bytes | None]] = []
    for argv, stdin in commands:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        except FileNotFoundError:
            proc = None
        started.append((list(argv), proc, data))
    results = []
    for argv, proc, data in started:
        if proc is None:
            results.append(subprocess.CompletedProcess(argv, 127, b"", f"{argv[0]}: not found".encode()))
            continue
        try:
            out, err = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        results.append(subprocess.CompletedProcess(argv, proc.returncode, out, err))
    return results
