"""IPAM delegation for interface plugins (Go's pkg/ipam ExecAdd/ExecDel/ExecCheck/ExecStatus/ExecGC).

The delegate is found in CNI_PATH and given the same stdin and environment with CNI_COMMAND
overridden. When the binary found is one of our own programs of this very build (the process
entry, launcher/inprocess.py, says so through libcni.skel.delegate_plugin), it runs in-process
through the same skeleton instead of exec'ing it: identical results, one process start-up saved.
CNI_PY_NO_INPROCESS=1 forces the exec.
"""

from __future__ import annotations

import os
import sys

from libcni.invoke import delegate_env, exec_plugin, find_in_path, plugin_error
from libcni.skel import CmdArgs, delegate_plugin, dispatch
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
    plugin = None if env.get("CNI_PY_NO_INPROCESS") else delegate_plugin(path, plugin_type)
    if plugin is None:
        return exec_plugin(path, args.stdin_data, env, stderr_sink=_to_stderr)
    outcome = dispatch(plugin, env, lambda: args.stdin_data)
    if outcome.exit_code != 0:
        raise plugin_error(outcome.stdout, outcome.stderr, outcome.exit_code)
    if outcome.stderr:
        _to_stderr(outcome.stderr)
    return outcome.stdout


def _to_stderr(data: bytes) -> None:
    try:
        sys.stderr.buffer.write(data)
        sys.stderr.buffer.flush()
    except (OSError, ValueError):
        pass
