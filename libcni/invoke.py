"""Finding and executing plugins (Go's pkg/invoke), used by libcni and by plugins delegating to IPAM."""

from __future__ import annotations

import errno
import os
import time

from .types.errors import CNIError, ErrCode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

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


def go_quote(text: str) -> str:
    """Close to Go's %q: a double-quoted string with escapes."""
    import json  # error messages only

    return json.dumps(text, ensure_ascii=False)


def plugin_error(stdout: bytes, stderr: bytes, returncode: int) -> CNIError:
    """The error a failed plugin reported, read the way libcni reads it."""
    status = f"exit status {returncode}" if returncode >= 0 else f"signal: {-returncode}"
    if stdout.strip():
        import json  # a failed plugin only

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
            text = go_quote(stdout.decode(errors="replace"))
            return CNIError(0, f"netplugin failed but error parsing its diagnostic message {text}: {err}")
    if stderr.strip():
        return CNIError(0, f"netplugin failed: {go_quote(stderr.decode(errors='replace'))}: {status}")
    return CNIError(0, f"netplugin failed with no error message: {status}")


def exec_plugin(
    path: str,
    stdin: bytes,
    env: Mapping[str, str],
    timeout: float | None = None,
    stderr_sink=None,
) -> bytes:
    """Run a plugin; return its stdout on success, raise its CNI error otherwise.

    A plugin that outlives `timeout` is killed with everything it started (it runs in its own
    process group) and reported as code 11 with its stderr; ETXTBSY is retried with a fresh
    process each time (Go's retry reused its command object, cni#855)."""
    from .spawn import run_all

    for attempt in range(TEXT_FILE_BUSY_RETRIES):
        (proc,) = run_all([([path], stdin)], env, timeout, own_group=True)
        if proc.error is None:
            break
        if proc.error.errno == errno.ETXTBSY and attempt + 1 < TEXT_FILE_BUSY_RETRIES:
            time.sleep(1)
            continue
        raise CNIError(ErrCode.INTERNAL, f"failed to execute plugin {path}: {proc.error.strerror}")
    stdout, stderr = proc.stdout, proc.stderr
    if proc.timed_out:
        raise CNIError(
            ErrCode.TRY_AGAIN_LATER,
            f"plugin {path} timed out after {timeout:g} s and was killed",
            stderr.decode(errors="replace").strip(),
        )
    if proc.returncode != 0:
        failure = plugin_error(stdout, stderr, proc.returncode)
        failure.stderr = stderr  # type: ignore[attr-defined]  # kept for callers that want the logs
        # A plugin that reported a proper error object may still have logged why: pass that on
        # like a success's logs (without an error object the text is already in the message).
        if stdout.strip() and stderr and stderr_sink is not None:
            stderr_sink(stderr)
        raise failure
    if stderr and stderr_sink is not None:
        stderr_sink(stderr)
    return stdout


def delegate_env(env: Mapping[str, str], command: str) -> dict[str, str]:
    out = dict(env)
    out["CNI_COMMAND"] = command
    return out
