"""bridge: config + CNI_ARGS + ADD checks, IPAM config as host-local would read it, prevResult."""

from __future__ import annotations

from libcni.skel import CmdArgs
from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import Result
from libcni.types.version import FAMILY_020, family_of
from plugins.bridge.config import load, validate_for_add

from . import stand_in_result


def _ipam(args: CmdArgs, ipam_type: str) -> None:
    if ipam_type == "host-local":
        from ipam.host_local.config import load_ipam_config

        load_ipam_config(args.stdin_data, args.args)


def cmd_add(args: CmdArgs) -> Result:
    conf = load(args.stdin_data, args.args)
    validate_for_add(conf)
    if not conf.is_layer3 and family_of(args.config_version) is FAMILY_020:
        raise CNIError(ErrCode.INTERNAL, "cannot convert: no valid IP addresses")
    _ipam(args, conf.ipam_type)
    return stand_in_result()


def cmd_del(args: CmdArgs) -> None:
    conf = load(args.stdin_data, args.args)
    _ipam(args, conf.ipam_type)


def cmd_check(args: CmdArgs) -> None:
    conf = load(args.stdin_data, args.args)
    _ipam(args, conf.ipam_type)
    conf.prev_result()


def cmd_gc(args: CmdArgs) -> None:
    conf = load(args.stdin_data, args.args)
    conf.gc_valid_attachments()
    _ipam(args, conf.ipam_type)


def cmd_status(args: CmdArgs) -> None:
    conf = load(args.stdin_data, args.args)
    _ipam(args, conf.ipam_type)
