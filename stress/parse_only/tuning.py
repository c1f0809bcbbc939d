"""tuning: everything ADD / CHECK refuse before entering the netns (keys, allow-list, MAC,
sysctl paths, prevResult and its conversion)."""

from __future__ import annotations

from libcni.skel import CmdArgs
from libcni.types.results import AnyResult, as_current, convert
from plugins.tuning import sysctls
from plugins.tuning.backup import backup_path
from plugins.tuning.commands import _add_result, _new_mac, _prev_result
from plugins.tuning.config import load, reject_duplicate_sysctl_keys


def cmd_add(args: CmdArgs) -> AnyResult:
    reject_duplicate_sysctl_keys(args.stdin_data)
    tuning = load(args)
    sysctls.check_allowlist(tuning.sysctl)
    sysctls.check_ifname(args.ifname)
    prev = _prev_result(tuning)
    sysctls.resolve_all(tuning.sysctl, args.ifname)
    result = _add_result(prev, args.ifname, _new_mac(tuning), args.config_version)
    backup_path(tuning.data_dir, args.container_id, args.ifname)
    return result


def cmd_del(args: CmdArgs) -> None:
    load(args)


def cmd_check(args: CmdArgs) -> None:
    reject_duplicate_sysctl_keys(args.stdin_data)
    tuning = load(args)
    as_current(convert(_prev_result(tuning), args.config_version))
    sysctls.resolve_all(tuning.sysctl, args.ifname)
