"""cnitool: run a network configuration against a network namespace (Go's cnitool interface).

    cnitool add|check|del <network-name> <netns-path>
    cnitool gc|status <network-name> [<netns-path>]

Environment as Go's tool: NETCONFPATH (default /etc/cni/net.d), CNI_PATH, CNI_IFNAME (default
eth0; -i/--ifname wins), CNI_ARGS ("K=V;K2=V2"), CAP_ARGS (a JSON object of capability args).
Ours in addition: CNI_CACHE_DIR / --cache-dir (default /var/lib/cni), CNI_TIMEOUT / --timeout
(seconds one plugin may run; default 120, 0 = no limit).

The container id is Go's: "cnitool-" + the first 20 hex digits of sha512(absolute netns path),
so both tools address the same attachment. `gc` differs from Go's on purpose: Go deletes every
cached attachment of the network; ours keeps the ones whose netns still exists (or that have
no netns recorded) unless --valid-attachments names the valid ones explicitly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from typing import Any, NoReturn

DEFAULT_NET_DIR = "/etc/cni/net.d"
DEFAULT_TIMEOUT = 120.0

_COMMANDS = {
    "add": "Add a network interface to a network namespace and print the result.",
    "check": "Check that a network interface in a network namespace is as ADD left it.",
    "del": "Delete a network interface from a network namespace.",
    "gc": "Delete stale attachments of a network and garbage-collect its plugins.",
    "status": "Ask every plugin of a network whether it is ready to serve ADD.",
}


class UsageError(Exception):
    pass


def container_id_for(netns: str) -> str:
    """Go's derivation: deterministic per (absolute, cleaned) netns path."""
    digest = hashlib.sha512(go_abs(netns).encode()).hexdigest()
    return "cnitool-" + digest[:20]


def go_abs(path: str) -> str:
    """filepath.Abs: joined with the working directory and cleaned ('//' collapses too)."""
    absolute = os.path.normpath(os.path.join(os.getcwd(), path))
    return "/" + absolute.lstrip("/") if absolute.startswith("//") else absolute


def parse_cni_args(value: str) -> list[tuple[str, str]]:
    """CNI_ARGS as Go's cnitool reads it: every ';' part exactly k=v, both sides non-empty."""
    pairs = []
    for pair in value.split(";"):
        parts = pair.split("=")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise UsageError(f"invalid CNI_ARGS pair {json.dumps(pair)}")
        pairs.append((parts[0], parts[1]))
    return pairs


def parse_capability_args(value: str) -> dict[str, Any]:
    from . import gojson

    try:
        caps = gojson.loads(value)
    except ValueError as err:
        raise UsageError(f"invalid CAP_ARGS (want a JSON object): {err}") from None
    if caps is None:
        return {}
    if not isinstance(caps, dict):
        raise UsageError(
            "invalid CAP_ARGS: json: cannot unmarshal into Go value of type map[string]interface {}"
        )
    return caps


def parse_valid_attachments(value: str) -> list:
    """A JSON array of {"containerID","ifname"} objects, or "CID:IFNAME,CID:IFNAME"."""
    from .api import GCAttachment

    text = value.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError as err:
            raise UsageError(f"invalid --valid-attachments: {err}") from None
        out = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("containerID"), str):
                raise UsageError('invalid --valid-attachments: want [{"containerID": ..., "ifname": ...}]')
            out.append(GCAttachment(item["containerID"], str(item.get("ifname") or "")))
        return out
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        cid, sep, ifname = part.rpartition(":")
        if not sep or not cid or not ifname:
            raise UsageError(f"invalid --valid-attachments entry {part!r}: want CONTAINERID:IFNAME")
        out.append(GCAttachment(cid, ifname))
    return out


def netns_alive(path: str) -> bool:
    if not path:
        return False
    from libcni.netns import check_netns_path
    from libcni.types.errors import CNIError

    try:
        check_netns_path(path)
    except CNIError:  # missing, unreadable or not a netns
        return False
    return True


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors exit 1, as every error of Go's tool
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("-i", "--ifname", help="interface name (default: $CNI_IFNAME, else eth0)")
    common.add_argument(
        "--cache-dir", help="result cache directory (default: $CNI_CACHE_DIR, else /var/lib/cni)"
    )
    common.add_argument(
        "--timeout",
        type=float,
        help="seconds one plugin may run before it is killed "
        f"(default: $CNI_TIMEOUT, else {DEFAULT_TIMEOUT:g}; 0: none)",
    )
    parser = _Parser(
        prog="cnitool",
        description="Run a CNI network configuration (NETCONFPATH) against a network namespace.",
        epilog="Environment: NETCONFPATH, CNI_PATH, CNI_IFNAME, CNI_ARGS, CAP_ARGS, "
        "CNI_CACHE_DIR, CNI_TIMEOUT.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{add,check,del,gc,status}")
    for name, text in _COMMANDS.items():
        p = sub.add_parser(name, parents=[common], help=text, description=text)
        p.add_argument("network", metavar="network-name")
        if name in ("gc", "status"):
            p.add_argument("netns", nargs="?", default="", help="ignored (accepted for Go compatibility)")
        else:
            p.add_argument("netns", help="path of the network namespace, e.g. /run/netns/NAME")
        if name == "gc":
            p.add_argument(
                "--valid-attachments",
                metavar="LIST",
                help='attachments to keep: a JSON array of {"containerID","ifname"} or CID:IFNAME,... '
                "(default: every cached attachment whose netns still exists)",
            )
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["help"]:
        argv = [*argv[1:2], "--help"]
    parser = build_parser()
    options = parser.parse_args(argv)
    if not options.command:
        parser.print_usage(sys.stderr)
        sys.stderr.write("cnitool: error: a command is required: add, check, del, gc or status\n")
        raise SystemExit(1)
    try:
        output = run(options, os.environ)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except Exception as err:  # noqa: BLE001 - every failure: its text on stderr, exit 1 (as Go's tool)
        from .types.errors import CNIError

        known = (UsageError, CNIError, OSError, ValueError)
        text = str(err) if isinstance(err, known) or type(err).__name__ == "NetworkError" else repr(err)
        sys.stderr.write(f"{text}\n")
        raise SystemExit(1) from None
    if output:
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()


def run(options: argparse.Namespace, environ: Any) -> bytes:
    """Carry out one command; return what to print on stdout."""
    from .api import CNIConfig, GCArgs, RuntimeConf, result_bytes
    from .conf import load_network_conf

    net_dir = environ.get("NETCONFPATH") or DEFAULT_NET_DIR
    conf_list = load_network_conf(net_dir, options.network)

    capability_args = parse_capability_args(environ["CAP_ARGS"]) if environ.get("CAP_ARGS") else {}
    cni_args = parse_cni_args(environ["CNI_ARGS"]) if environ.get("CNI_ARGS") else []
    ifname = options.ifname or environ.get("CNI_IFNAME") or "eth0"
    timeout = options.timeout
    if timeout is None:
        try:
            timeout = float(environ.get("CNI_TIMEOUT") or DEFAULT_TIMEOUT)
        except ValueError:
            raise UsageError(f"invalid CNI_TIMEOUT {environ.get('CNI_TIMEOUT')!r}: want seconds") from None
    cni = CNIConfig(
        [p for p in environ.get("CNI_PATH", "").split(os.pathsep) if p],
        options.cache_dir or environ.get("CNI_CACHE_DIR") or "",
        env=environ,
        timeout=timeout if timeout > 0 else None,
    )
    netns = go_abs(options.netns) if options.netns else ""
    rt = RuntimeConf(
        container_id=container_id_for(options.netns) if options.netns else "",
        netns=netns,
        ifname=ifname,
        args=cni_args,
        capability_args=capability_args,
    )

    if options.command == "add":
        result = cni.add_network_list(conf_list, rt)
        return result_bytes(result, indent="    ") if result is not None else b""
    if options.command == "check":
        cni.check_network_list(conf_list, rt)
    elif options.command == "del":
        cni.del_network_list(conf_list, rt)
    elif options.command == "status":
        cni.get_status_network_list(conf_list)
    elif options.command == "gc":
        if options.valid_attachments is not None:
            valid = parse_valid_attachments(options.valid_attachments)
        else:
            valid = live_attachments(cni, conf_list.name)
        cni.gc_network_list(conf_list, GCArgs(valid_attachments=valid))
    return b""


def live_attachments(cni: Any, network: str) -> list:
    """The cached attachments of `network` that must survive GC: their netns still exists,
    or no netns was recorded (caches written by older Go libcni), so we cannot tell."""
    from .api import GCAttachment

    keep = []
    for att in cni.get_cached_attachments(""):
        if att.network != network:
            continue
        if not att.netns:
            sys.stderr.write(
                f"cnitool: keeping {att.container_id} {att.ifname}: no netns recorded "
                "(use --valid-attachments to decide)\n"
            )
        elif not netns_alive(att.netns):
            continue
        keep.append(GCAttachment(att.container_id, att.ifname))
    return keep


if __name__ == "__main__":
    main()
