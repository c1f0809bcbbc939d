"""Finding and executing plugins (Go's pkg/invoke), used by libcni and by plugins delegating to IPAM."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence

from .types.errors import CNIError, ErrCode

TEXT_FILE_BUSY_RETRIES = 6


def find_in_path(plugin: str, paths: Sequence[str]) -> str:
    """The first regular file named `plugin` in `paths` (symlinks followed, exec bit not checked)."""
    if not plugin:
        raise CNIError(ErrCode.INTERNAL, "no plugin name provided")
    if os.sep in plugin:
        raise CNIError(ErrCode.INTERNAL, f"invalid plugin name: {plugin}")
    if not paths:
        raise CNIError(ErrCode.INTERNAL, "no paths provided")
    for directory in paths:
        candidate = os.path.join(directory, plugin)
        if os.path.isfile(candidate):
            return candidate
    raise CNIError(ErrCode.INTERNAL, f'failed to find plugin "{plugin}" in path [{" ".join(paths)}]')


def plugin_error(stdout: bytes, stderr: bytes, returncode: int) -> CNIError:
    """The error a failed plugin reported, read the way libcni reads it."""
    status = f"exit status {returncode}" if returncode >= 0 else f"signal: {-returncode}"
    if stdout.strip():
        try:
            data = json.loads(stdout)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            code = data.get("code", 0)
            return CNIError(
                code if isinstance(code, int) else 0,
                str(data.get("msg", "")),
                str(data.get("details", "") or ""),
            )
        except ValueError as err:
            text = stdout.decode(errors="replace")
            return CNIError(0, f'netplugin failed but error parsing its diagnostic message "{text}": {err}')
    if stderr.strip():
        return CNIError(0, f'netplugin failed: "{stderr.decode(errors="replace")}": {status}')
    return CNIError(0, f"netplugin failed with no error message: {status}")


def exec_plugin(
    path: str,
    stdin: bytes,
    env: Mapping[str, str],
    timeout: float | None = None,
    stderr_sink=None,
) -> bytes:
    """Run a plugin; return its stdout on success, raise its CNI error otherwise.

    A plugin that outlives `timeout` is killed and reported (code 11); ETXTBSY is retried
    with a fresh process each time."""
    for attempt in range(TEXT_FILE_BUSY_RETRIES):
        try:
            proc = subprocess.run(
                [path], input=stdin, capture_output=True, env=dict(env), timeout=timeout, check=False
            )
            break
        except subprocess.TimeoutExpired:
            raise CNIError(
                ErrCode.TRY_AGAIN_LATER, f"plugin {path} timed out after {timeout} s and was killed"
            ) from None
        except OSError as err:
            if err.errno == 26 and attempt + 1 < TEXT_FILE_BUSY_RETRIES:  # ETXTBSY
                time.sleep(1)
                continue
            raise CNIError(ErrCode.INTERNAL, f"failed to execute plugin {path}: {err.strerror}") from None
    if proc.returncode != 0:
        raise plugin_error(proc.stdout, proc.stderr, proc.returncode)
    if proc.stderr and stderr_sink is not None:
        stderr_sink(proc.stderr)
    return proc.stdout


def delegate_env(env: Mapping[str, str], command: str) -> dict[str, str]:
    out = dict(env)
    out["CNI_COMMAND"] = command
    return out
