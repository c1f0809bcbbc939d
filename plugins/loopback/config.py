"""Decoding the loopback configuration (Go's parseNetConf): the one place stdin is decoded.

Only ADD decodes the config, as in Go (DEL and CHECK act on `lo` whatever the config holds).
A prevResult must be a valid result convertible to the newest version; it is what ADD reports.
"""

from __future__ import annotations

from collections import namedtuple

from libcni.types.errors import CNIError

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from libcni.skel import CmdArgs
    from libcni.types.results import AnyResult

PARSE_ERROR_PREFIX = "failed to parse network config: "
PREV_ERROR_PREFIX = "failed to parse prevResult: "


class Loopback(namedtuple("Loopback", "cni_version prev_result")):
    """cni_version: the config's cniVersion as written ("" when absent); prev_result: the parsed
    prevResult or None."""

    __slots__ = ()
    cni_version: str
    prev_result: AnyResult | None


def load(args: CmdArgs) -> Loopback:
    """The config as Go's types.NetConf (loopback has no keys of its own, so the shared table)."""
    from libcni.types.netconf import load as load_conf
    from libcni.types.netconf_schema import NetConf

    conf = load_conf(NetConf, args.conf, prefix=PARSE_ERROR_PREFIX)
    prev = None
    if conf.prevResult is not None:
        from libcni.types.results import as_current, convert, parse_result

        try:
            prev = parse_result(conf.prevResult, conf.cniVersion)
            as_current(convert(prev, conf.cniVersion or prev.cniVersion))
        except CNIError as err:
            raise CNIError(err.code, PREV_ERROR_PREFIX + err.msg, err.details) from None
    return Loopback(conf.cniVersion, prev)
