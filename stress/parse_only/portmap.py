"""portmap: config, mappings (strict on ADD / CHECK), backend choice, prevResult, container IPs."""

from __future__ import annotations

from libcni.skel import CmdArgs
from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import Result
from plugins.portmap.commands import PARSE_PREFIX
from plugins.portmap.config import PortMapConfig, parse_config, with_prefix


def _load(
    args: CmdArgs, strict: bool, prefix: str = PARSE_PREFIX, need_backend: bool = False
) -> PortMapConfig:
    try:
        return parse_config(
            args.stdin_data,
            args.ifname,
            iptables_usable=lambda: True,
            nftables_usable=lambda: True,
            strict=strict,
            need_backend=need_backend,
        )
    except CNIError as err:
        raise with_prefix(err, prefix) from None


def cmd_add(args: CmdArgs) -> Result:
    conf = _load(args, strict=True)
    if conf.prev_result is None:
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, "must be called as chained plugin")
    return conf.prev_result


def cmd_del(args: CmdArgs) -> None:
    _load(args, strict=False)


def cmd_check(args: CmdArgs) -> None:
    conf = _load(args, strict=True, prefix="")
    if conf.prev_result is None:
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, "Required prevResult missing")


def cmd_gc(args: CmdArgs) -> None:
    _load(args, strict=False, need_backend=True)
