"""IPAM delegation for interface plugins (Go's pkg/ipam ExecAdd/ExecDel/ExecCheck/ExecStatus)."""

from __future__ import annotations

from libcni.invoke import delegate
from libcni.skel import CmdArgs
from libcni.types.results import Result, as_current, parse_result_bytes


def exec_add(plugin_type: str, args: CmdArgs) -> Result:
    raw = delegate("ADD", plugin_type, args.stdin_data, args.env)
    return as_current(parse_result_bytes(raw, args.config_version))


def exec_del(plugin_type: str, args: CmdArgs) -> None:
    delegate("DEL", plugin_type, args.stdin_data, args.env)


def exec_check(plugin_type: str, args: CmdArgs) -> None:
    delegate("CHECK", plugin_type, args.stdin_data, args.env)


def exec_status(plugin_type: str, args: CmdArgs) -> None:
    delegate("STATUS", plugin_type, args.stdin_data, args.env)


def exec_gc(plugin_type: str, args: CmdArgs) -> None:
    delegate("GC", plugin_type, args.stdin_data, args.env)
