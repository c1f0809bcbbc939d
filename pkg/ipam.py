"""IPAM delegation for interface plugins (Go's pkg/ipam ExecAdd/ExecDel/ExecCheck/ExecStatus/ExecGC).

The delegate is found in CNI_PATH and given the same stdin and environment with CNI_COMMAND
overridden. When the binary found is this very program (a link to our frozen bundle, or a
launcher of this checkout), it runs in-process through the same skeleton instead of exec'ing
it: identical results, one process start-up saved. CNI_PY_NO_INPROCESS=1 forces the exec.
"""

from __future__ import annotations

import importlib
import os
import sys

from libcni.invoke import delegate_env, exec_plugin, find_in_path, plugin_error
from libcni.skel import CmdArgs, Plugin, dispatch
from libcni.types.results import Result, as_current, parse_result_bytes


def exec_add(plugin_type: str, args: CmdArgs) -> Result:
    raw = run_delegate("ADD", plugin_type, args)
    return as_current(parse_result_bytes(raw, args.config_version))


def exec_del(plugin_type: str, args: CmdArgs) -> None:
    run_delegate("DEL", plugin_type, args)


def exec_check(plugin_type: str, args: CmdArgs) -> None:
    run_delegate("CHECK", plugin_type, args)


def exec_status(plugin_type: str, args: CmdArgs) -> None:
    run_delegate("STATUS", plugin_type, args)


def exec_gc(plugin_type: str, args: CmdArgs) -> None:
    run_delegate("GC", plugin_type, args)


def run_delegate(command: str, plugin_type: str, args: CmdArgs) -> bytes:
    paths = [p for p in args.env.get("CNI_PATH", args.path).split(os.pathsep) if p]
    path = find_in_path(plugin_type, paths)
    env = delegate_env(args.env, command)
    plugin = in_process_plugin(path, plugin_type, env)
    if plugin is None:
        return exec_plugin(path, args.stdin_data, env, stderr_sink=_to_stderr)
    outcome = dispatch(plugin, env, lambda: args.stdin_data)
    if outcome.exit_code != 0:
        raise plugin_error(outcome.stdout, outcome.stderr, outcome.exit_code)
    if outcome.stderr:
        _to_stderr(outcome.stderr)
    return outcome.stdout


def in_process_plugin(path: str, plugin_type: str, env: dict[str, str]) -> Plugin | None:
    """Our own Plugin when `path` is this program under another name, else None."""
    from launcher.programs import ENTRIES

    if env.get("CNI_PY_NO_INPROCESS") or plugin_type not in ENTRIES:
        return None
    if not _is_this_program(path, plugin_type):
        return None
    return getattr(importlib.import_module(ENTRIES[plugin_type]), "PLUGIN", None)


def _is_this_program(path: str, plugin_type: str) -> bool:
    if getattr(sys, "frozen", False):
        return os.path.realpath(path) == os.path.realpath(sys.executable)
    from launcher.shims import TEMPLATE

    expected = TEMPLATE.format(python=sys.executable, name=plugin_type).encode()
    try:
        with open(path, "rb") as f:
            return f.read(len(expected) + 1) == expected
    except OSError:
        return False


def _to_stderr(data: bytes) -> None:
    try:
        sys.stderr.buffer.write(data)
        sys.stderr.buffer.flush()
    except (OSError, ValueError):
        pass
