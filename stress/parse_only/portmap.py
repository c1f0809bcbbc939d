"""portmap: config, mappings (strict on ADD / CHECK), backend choice, prevResult, container IPs."""

from __future__ import annotations

from libcni.skel import CmdArgs
from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import Result
from plugins.portmap.commands import PARSE_PREFIX, load
from plugins.portmap.config import PortMapConfig


def _load(
    args: CmdArgs, strict: bool, prefix: str = PARSE_PREFIX, need_backend: bool = False
) -> PortMapConfig:
    # the plugin's own loader, with the kernel probes answered without touching the kernel
    return load(
        args,
        strict=strict,
        prefix=prefix,
        need_backend=need_backend,
        iptables_usable=lambda: True,
        nftables_usable=lambda: True,
    )


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
