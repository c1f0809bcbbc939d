"""Verb handlers of a sample plugin used to test the skeleton (like Go's plugins/sample)."""

from __future__ import annotations

from libcni.types.errors import CNIError
from libcni.types.results import Interface, IPConfig, Result

CALLS: list[tuple[str, str]] = []


def cmd_add(args):
    CALLS.append(("ADD", args.container_id))
    if args.args == "FAIL=typed":
        raise CNIError(11, "busy", "try later")
    if args.args == "FAIL=untyped":
        raise RuntimeError("boom")
    if args.args == "PRINTED=1":
        return b'{"cniVersion": "0.2.0", "printed": "by the plugin"}'
    return Result(
        cniVersion="1.1.0",
        interfaces=[Interface(name=args.ifname, mac="0a:58:0a:01:00:05", mtu=1400, sandbox=args.netns)],
        ips=[IPConfig(address="10.1.0.5/16", gateway="10.1.0.1", interface=0)],
    )


def cmd_del(args):
    CALLS.append(("DEL", args.container_id))


def cmd_check(args):
    CALLS.append(("CHECK", args.container_id))
    return None
