"""What "the machine" is for the stress runs, how to read it, and how to tell what changed.

A snapshot holds every object a plugin could leave behind: links, addresses and routes of the
host netns and of the container netns, the whole nftables ruleset (iptables here is
iptables-nft, so its rules are in it too), every file under the state roots (host-local stores,
tuning backups, libcni caches), and chosen sysctls. `diff` compares two snapshots and sorts each
difference into a category; some categories are bookkeeping the Go plugins leave as well
(a bridge device, an empty firewall table, a store's lock file) and are reported but tolerated.

Reading all of that costs ~30 ms, too much for each of 100,000 fuzz inputs, so `Watch` listens
to the kernel's change notifications (rtnetlink groups in both netns, the nftables group) and
the fuzzer only takes a snapshot when the kernel says something changed or the files did.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import stat
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from plugins.portmap.localnet import GUARD_COMMENT

STATE_ROOTS = ("/var/lib/cni", "/run/cni")
SANDBOX = "/run/cni/stress"  # the runs' own scratch space; never part of a snapshot
# Sysctls of the host netns a plugin may change (bridge: forwarding; portmap: route_localnet).
HOST_SYSCTLS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/ipv4/conf/all/route_localnet")

# Differences that are bookkeeping, not residue (the Go plugins leave the same).
TOLERATED = {
    "bridge": "a bridge device and its gateway addresses stay (Go keeps them too)",
    "bookkeeping": "state directories; host-local's lock, last_reserved_ip and index files",
    "firewall-skeleton": "shared firewall tables, base chains and their jump rules (naming no container)",
    "forwarding": "ip_forward / route_localnet switched on",
}


def _run(*argv: str) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    return proc.stdout if proc.returncode == 0 else ""


def _json(*argv: str) -> list:
    out = _run(*argv)
    try:
        return json.loads(out) if out.strip() else []
    except ValueError:
        return []


# ---------------------------------------------------------------- reading


def read_links(ns: str | None) -> dict[str, tuple]:
    """{ifname: (kind, master)} of a netns (`ns` = name under /run/netns, None = ours)."""
    prefix = ("ip", "-n", ns) if ns else ("ip",)
    out = {}
    for link in _json(*prefix, "-j", "-d", "link", "show"):
        kind = (link.get("linkinfo") or {}).get("info_kind", "")
        out[link["ifname"]] = (kind, link.get("master", ""))
    return out


def read_addrs(ns: str | None) -> set[tuple[str, str]]:
    """(ifname, address/prefix) pairs, without the fe80:: addresses every link gets by itself."""
    prefix = ("ip", "-n", ns) if ns else ("ip",)
    out = set()
    for item in _json(*prefix, "-j", "addr", "show"):
        for addr in item.get("addr_info", []):
            local = addr.get("local", "")
            if local.startswith("fe80:"):
                continue
            out.add((item["ifname"], f"{local}/{addr.get('prefixlen')}"))
    return out


def read_routes(ns: str | None) -> set[tuple[str, ...]]:
    prefix = ("ip", "-n", ns) if ns else ("ip",)
    out = set()
    for family in ("-4", "-6"):
        for r in _json(*prefix, "-j", family, "route", "show", "table", "all"):
            dst = r.get("dst", "")
            if r.get("table") == "local" or dst.startswith(("fe80:", "ff00:", "multicast")):
                continue
            out.add((family, r.get("table", "main"), dst, r.get("dev", ""), r.get("gateway", "")))
    return out


def read_ruleset() -> dict[str, list[str]]:
    """{"family table": [chains and rules as text, handles and counters stripped]}."""
    tables: dict[str, list[str]] = {}
    data = _run("nft", "-j", "list", "ruleset")
    try:
        items = json.loads(data).get("nftables", []) if data.strip() else []
    except ValueError:
        items = []
    for item in items:
        ((kind, body),) = item.items()
        if kind == "metainfo":
            continue
        key = f"{body.get('family')} {body.get('table', body.get('name'))}"
        if kind == "table":
            tables.setdefault(key, [])
            continue
        body = {k: v for k, v in body.items() if k not in ("handle", "family", "table")}
        if kind == "rule":
            body["expr"] = _strip_counters(body.get("expr", []))
        tables.setdefault(key, []).append(f"{kind} {json.dumps(body, sort_keys=True)}")
    return tables


PER_CONTAINER_CHAIN = re.compile(r"CNI-(DN-|SN-)?[0-9a-f]{16,}")


def container_specific(item: str) -> bool:
    """A rule or chain of one container (it names the container, its chain, or its address),
    as opposed to the shared base chains and jump rules every plugin run keeps (as Go does)."""
    kind, _, body = item.partition(" ")
    if GUARD_COMMENT in item:  # portmap's once-per-host route_localnet guard: shared
        return False
    try:
        has_comment = kind == "rule" and bool(json.loads(body).get("comment"))  # the container ID
    except (ValueError, AttributeError):
        has_comment = False
    return has_comment or bool(PER_CONTAINER_CHAIN.search(item)) or bool(TEST_ADDRESS.search(item))


# Every stress part uses container addresses in 10.7x.0.0/16 and fd00:7x::/32.
TEST_ADDRESS = re.compile(r'"(10\.7\d\.\d+\.\d+|fd00:7\d:[0-9a-f:]*)"')


def _strip_counters(expr: list) -> list:
    return [e for e in expr if not (isinstance(e, dict) and "counter" in e)]


def read_files(roots: Iterable[str] = STATE_ROOTS) -> dict[str, tuple[str, int]]:
    """{path: (type, mode)} for everything under the roots (symlinks not followed)."""
    out: dict[str, tuple[str, int]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if dirpath == SANDBOX or dirpath.startswith(SANDBOX + "/"):
                dirnames[:] = []
                continue
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                kind = "dir" if stat.S_ISDIR(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode) else "file"
                out[path] = (kind, stat.S_IMODE(st.st_mode))
    return out


def read_sysctls(names: Iterable[str], ns: str | None = None) -> dict[str, str]:
    out = {}
    for name in names:
        path = "/proc/sys/" + name
        if ns:
            value = _run("ip", "netns", "exec", ns, "cat", path).strip()
        else:
            try:
                with open(path) as f:
                    value = f.read().strip()
            except OSError:
                value = "<missing>"
        out[name] = value
    return out


@dataclass
class Snapshot:
    host_links: dict[str, tuple] = field(default_factory=dict)
    host_addrs: set = field(default_factory=set)
    host_routes: set = field(default_factory=set)
    ctr_links: dict[str, tuple] = field(default_factory=dict)
    ctr_addrs: set = field(default_factory=set)
    ctr_routes: set = field(default_factory=set)
    ruleset: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    sysctls: dict[str, str] = field(default_factory=dict)


def snapshot(container_ns: str | None = None, roots: Iterable[str] = STATE_ROOTS) -> Snapshot:
    snap = Snapshot(
        host_links=read_links(None),
        host_addrs=read_addrs(None),
        host_routes=read_routes(None),
        ruleset=read_ruleset(),
        files=read_files(roots),
        sysctls=read_sysctls(HOST_SYSCTLS),
    )
    if container_ns:
        snap.ctr_links = read_links(container_ns)
        snap.ctr_addrs = read_addrs(container_ns)
        snap.ctr_routes = read_routes(container_ns)
    return snap


# ---------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Change:
    category: str  # e.g. "link", "address", "route", "rule", "file", "bridge", ...
    what: str  # a readable description

    @property
    def tolerated(self) -> bool:
        return self.category in TOLERATED


def _ipam_bookkeeping(path: str) -> bool:
    name = os.path.basename(path)
    return (
        name == "lock"
        or name.startswith("last_reserved_ip.")
        or "/.host-local-index" in path
        or name == "networks"
    )


def _file_category(path: str, kind: str) -> str:
    if "/results/" in path:
        return "cache"  # a libcni result cache entry
    if kind == "dir" or _ipam_bookkeeping(path):
        return "bookkeeping"
    if path.endswith(".json"):
        return "backup"  # a tuning backup (<dataDir>/<id>_<ifname>.json)
    return "file"  # an address file of a host-local store, or anything else


def diff(before: Snapshot, after: Snapshot) -> list[Change]:
    """Every difference, categorised. Objects that vanished count as changes too."""
    changes: list[Change] = []
    bridges = {n for n, (kind, _) in after.host_links.items() if kind == "bridge"} | {
        n for n, (kind, _) in before.host_links.items() if kind == "bridge"
    }
    for name in sorted(set(before.host_links) ^ set(after.host_links)):
        state = "left" if name in after.host_links else "removed"
        kind = (after.host_links.get(name) or before.host_links.get(name))[0]
        category = "bridge" if kind == "bridge" else "link"
        changes.append(Change(category, f"host link {name} ({kind or 'no kind'}) {state}"))
    for name in sorted(set(before.host_links) & set(after.host_links)):
        if before.host_links[name] != after.host_links[name]:
            changes.append(
                Change("link", f"host link {name}: {before.host_links[name]} -> {after.host_links[name]}")
            )
    for ifname, addr in sorted(before.host_addrs ^ after.host_addrs):
        state = "left" if (ifname, addr) in after.host_addrs else "removed"
        category = "bridge" if ifname in bridges and state == "left" else "address"
        changes.append(Change(category, f"host address {addr} on {ifname} {state}"))
    for route in sorted(before.host_routes ^ after.host_routes):
        state = "left" if route in after.host_routes else "removed"
        category = "bridge" if route[3] in bridges and state == "left" else "route"
        changes.append(Change(category, f"host route {' '.join(route)} {state}"))
    for name in sorted(set(before.ctr_links) ^ set(after.ctr_links)):
        state = "left" if name in after.ctr_links else "removed"
        changes.append(Change("container-link", f"container link {name} {state}"))
    for ifname, addr in sorted(before.ctr_addrs ^ after.ctr_addrs):
        state = "left" if (ifname, addr) in after.ctr_addrs else "removed"
        changes.append(Change("container-address", f"container address {addr} on {ifname} {state}"))
    for route in sorted(before.ctr_routes ^ after.ctr_routes):
        state = "left" if route in after.ctr_routes else "removed"
        changes.append(Change("container-route", f"container route {' '.join(route)} {state}"))
    for table in sorted(set(before.ruleset) | set(after.ruleset)):
        old, new = before.ruleset.get(table), after.ruleset.get(table)
        if old == new:
            continue
        old_items, new_items = set(old or []), set(new or [])
        if old is None or new is None:
            what = "created" if old is None else "removed"
            changes.append(Change("firewall-skeleton", f"nft table {table} {what}"))
        for verb, items in (("left", new_items - old_items), ("removed", old_items - new_items)):
            specific = sorted(i for i in items if container_specific(i))
            shared = len(items) - len(specific)
            if specific:
                changes.append(
                    Change(
                        "rule",
                        f"nft table {table}: {len(specific)} container rule(s)/chain(s) {verb}, "
                        f"e.g. {specific[0][:240]}",
                    )
                )
            if shared:
                changes.append(
                    Change("firewall-skeleton", f"nft table {table}: {shared} shared chain(s)/rule(s) {verb}")
                )
    for path in sorted(set(before.files) ^ set(after.files)):
        state = "left" if path in after.files else "removed"
        info = after.files.get(path) or before.files.get(path)
        changes.append(Change(_file_category(path, info[0]), f"{info[0]} {path} {state}"))
    for name in sorted(set(before.sysctls) | set(after.sysctls)):
        if before.sysctls.get(name) != after.sysctls.get(name):
            category = "forwarding" if after.sysctls.get(name) == "1" else "sysctl"
            changes.append(
                Change(category, f"sysctl {name}: {before.sysctls.get(name)} -> {after.sysctls.get(name)}")
            )
    return changes


def residue(changes: Iterable[Change]) -> list[Change]:
    return [c for c in changes if not c.tolerated]


# ---------------------------------------------------------------- watching

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
NETLINK_NETFILTER = 12
NFNLGRP_NFTABLES = 7
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1


def rtnl_watch_socket() -> socket.socket:
    """A socket that receives every link, address and route change of the current netns."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE
    sock.bind((0, groups))
    return sock


def nft_watch_socket() -> socket.socket:
    """A socket that receives every nftables commit (iptables-nft included) of the current netns."""
    sock = socket.socket(
        socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, NETLINK_NETFILTER
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, 0))
    sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
    return sock


def drained(sock: socket.socket) -> bool:
    """Read everything pending; True when anything was (or an overflow says it was lost)."""
    seen = False
    while True:
        try:
            if not sock.recv(1 << 16):
                return seen
            seen = True
        except BlockingIOError:
            return seen
        except OSError as err:
            if err.errno == errno.ENOBUFS:
                seen = True
                continue
            raise


DOMAINS = ("host", "container", "nft", "files")


class Watch:
    """Cheap "what changed?" for the host netns (ours), a container netns, nftables and the files."""

    def __init__(self, container_fd: int | None = None, roots: Iterable[str] = STATE_ROOTS) -> None:
        self.roots = tuple(roots)
        self.sockets = {"host": rtnl_watch_socket(), "nft": nft_watch_socket()}
        if container_fd is not None:
            self.sockets["container"] = _in_netns(container_fd, rtnl_watch_socket)
        self.files = read_files(self.roots)

    def changed(self) -> set[str]:
        """The domains that changed since the last call (every socket is drained)."""
        domains = {name for name, sock in self.sockets.items() if drained(sock)}
        files = read_files(self.roots)
        if files != self.files:
            domains.add("files")
        self.files = files
        return domains

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()


def refresh(snap: Snapshot, domains: Iterable[str], container_ns: str | None, files=None) -> Snapshot:  # noqa: ANN001
    """A copy of `snap` with the given domains read again."""
    import copy

    out = copy.copy(snap)
    domains = set(domains)
    if "host" in domains:
        out.host_links, out.host_addrs, out.host_routes = (
            read_links(None),
            read_addrs(None),
            read_routes(None),
        )
        out.sysctls = read_sysctls(HOST_SYSCTLS)
    if "container" in domains and container_ns:
        out.ctr_links, out.ctr_addrs = read_links(container_ns), read_addrs(container_ns)
        out.ctr_routes = read_routes(container_ns)
    if "nft" in domains:
        out.ruleset = read_ruleset()
    if "files" in domains:
        out.files = files if files is not None else read_files()
    return out


def _in_netns(fd: int, make):  # noqa: ANN001, ANN202
    from pkg.ns import NetNS

    ns = NetNS("<container>", fd)
    with ns.entered():
        return make()
