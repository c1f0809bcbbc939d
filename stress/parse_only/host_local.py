"""host-local: the whole IPAM config (ranges, requested IPs, routes, dataDir checks)."""

from __future__ import annotations

from ipam.host_local.config import load_ipam_config
from libcni.skel import CmdArgs
from libcni.types.results import Result

from . import stand_in_result


def cmd_add(args: CmdArgs) -> Result:
    load_ipam_config(args.stdin_data, args.args)
    return stand_in_result()


def cmd_del(args: CmdArgs) -> None:
    load_ipam_config(args.stdin_data, args.args)


def cmd_check(args: CmdArgs) -> None:
    load_ipam_config(args.stdin_data, args.args)


def cmd_gc(args: CmdArgs) -> None:
    load_ipam_config(args.stdin_data, args.args).conf.gc_valid_attachments()


def cmd_status(args: CmdArgs) -> None:
    load_ipam_config(args.stdin_data, args.args)
