"""Expectations on a plugin's output and on kernel and disk state afterwards.

Every check is a frozen dataclass with `evaluate(ctx, outcome) -> list[str]` returning the
problems found (empty = holds). `ctx` is the running case (conformance.engine.Case): it
resolves placeholders and Refs, and hands out the namespaces ("host", "c1", ...) to read.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import re
import stat
from dataclasses import dataclass
from typing import Any

from .kernel import iptables_chains, iptables_rules, nft_chain_rules, nft_has_table
from .model import Check
from .shapes import result_problems

MISSING = object()


def lookup_path(data: Any, path: str) -> Any:
    """Follow a dotted path ("ips.0.address") through dicts and lists; MISSING if absent."""
    if path in ("", "."):
        return data
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            if part not in current:
                return MISSING
            current = current[part]
        elif isinstance(current, list):
            try:
                current = current[int(part)]
            except (ValueError, IndexError):
                return MISSING
        else:
            return MISSING
    return current


# --- result checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultShape(Check):
    """stdout is a result of the case's cniVersion with the fields that version defines."""

    def evaluate(self, ctx, outcome) -> list[str]:
        if outcome.json is None:
            return ["expected a result on stdout, got nothing"]
        return result_problems(outcome.json, ctx.version)


@dataclass(frozen=True)
class Field(Check):
    """A field of the JSON output: equal to `eq`, matching regex `re`, of length `length`,
    containing `contains` (list member or substring), or absent."""

    path: str
    eq: Any = MISSING
    re: str | None = None
    length: int | None = None
    contains: Any = MISSING
    absent: bool = False

    def evaluate(self, ctx, outcome) -> list[str]:
        value = lookup_path(outcome.json, self.path)
        if self.absent:
            return [] if value is MISSING else [f"{self.path}: expected absent, got {value!r}"]
        if value is MISSING:
            return [f"{self.path}: missing in output"]
        problems = []
        if self.eq is not MISSING:
            want = ctx.resolve(self.eq)
            if value != want:
                problems.append(f"{self.path}: expected {want!r}, got {value!r}")
        if self.re is not None:
            pattern = ctx.resolve(self.re)
            if not isinstance(value, str) or not re.fullmatch(pattern, value):
                problems.append(f"{self.path}: {value!r} does not match /{pattern}/")
        if self.length is not None and (
            not isinstance(value, list | dict | str) or len(value) != self.length
        ):
            problems.append(f"{self.path}: expected length {self.length}, got {value!r}")
        if self.contains is not MISSING:
            want = ctx.resolve(self.contains)
            if not isinstance(value, list | str) or want not in value:
                problems.append(f"{self.path}: expected to contain {want!r}, got {value!r}")
        return problems


@dataclass(frozen=True)
class SameAsPrev(Check):
    """The result equals the prevResult that was sent (chained plugins pass it through),
    except the listed paths."""

    ignore: tuple[str, ...] = ()

    def evaluate(self, ctx, outcome) -> list[str]:
        if outcome.sent_prev is None:
            return ["no prevResult was sent"]
        got = _without(outcome.json, self.ignore)
        want = _without(outcome.sent_prev, self.ignore)
        got, want = _drop_empty_dns(got), _drop_empty_dns(want)
        if got != want:
            return [f"result differs from prevResult: got {json.dumps(got)}, sent {json.dumps(want)}"]
        return []


def _without(data: Any, paths: tuple[str, ...]) -> Any:
    data = json.loads(json.dumps(data))
    for path in paths:
        *parents, last = path.split(".")
        holder = lookup_path(data, ".".join(parents)) if parents else data
        if isinstance(holder, dict):
            holder.pop(last, None)
    return data


def _drop_empty_dns(data: Any) -> Any:
    """An empty `dns` object and no `dns` key mean the same (Go prints `{}` in some versions)."""
    if isinstance(data, dict) and data.get("dns") == {}:
        data = dict(data)
        del data["dns"]
    return data


@dataclass(frozen=True)
class MacsMatchKernel(Check):
    """Every interface listed with a MAC has that MAC in the kernel (sandbox or host side)."""

    def evaluate(self, ctx, outcome) -> list[str]:
        problems = []
        for iface in (outcome.json or {}).get("interfaces", []):
            mac = iface.get("mac")
            if not mac:
                continue
            ns = ctx.ns_for_sandbox(iface.get("sandbox", ""))
            if ns is None:
                continue
            link = ns.link(iface["name"])
            if link is None:
                problems.append(f"interface {iface['name']} of the result does not exist")
            elif link.get("address", "").lower() != mac.lower():
                problems.append(f"{iface['name']}: result mac {mac}, kernel {link.get('address')}")
        return problems


@dataclass(frozen=True)
class IPsOnInterfaces(Check):
    """Every result IP that names an interface is configured on it with the same prefix."""

    def evaluate(self, ctx, outcome) -> list[str]:
        data = outcome.json or {}
        interfaces = data.get("interfaces", [])
        problems = []
        for ip in data.get("ips", []):
            index = ip.get("interface")
            if index is None or not 0 <= index < len(interfaces):
                continue
            iface = interfaces[index]
            ns = ctx.ns_for_sandbox(iface.get("sandbox", ""))
            if ns is None:
                continue
            if ip["address"] not in ns.addresses(iface["name"]):
                problems.append(f"{ip['address']} is not on {iface['name']}: {ns.addresses(iface['name'])}")
        return problems


# --- kernel checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link(Check):
    """A link in a namespace and its attributes (None = not checked)."""

    ns: str
    name: Any
    present: bool = True
    kind: str | None = None
    master: Any = None
    mtu: int | None = None
    up: bool | None = None
    promisc: bool | None = None
    allmulti: bool | None = None
    mac: Any = None
    hairpin: bool | None = None
    isolated: bool | None = None
    vlan_filtering: bool | None = None
    txqlen: int | None = None

    def evaluate(self, ctx, outcome) -> list[str]:
        ns = ctx.ns(self.ns)
        name = ctx.resolve(self.name)
        link = ns.link(name)
        if not self.present:
            return [] if link is None else [f"{self.ns}: link {name} still exists"]
        if link is None:
            return [f"{self.ns}: link {name} not found (have {[x.get('ifname') for x in ns.links()]})"]
        info = link.get("linkinfo", {})
        slave = info.get("info_slave_data", {})
        flags = link.get("flags", [])
        got = {
            "kind": info.get("info_kind"),
            "master": link.get("master"),
            "mtu": link.get("mtu"),
            "up": "UP" in flags,
            "promisc": "PROMISC" in flags,
            "allmulti": "ALLMULTI" in flags,
            "mac": (link.get("address") or "").lower(),
            "hairpin": slave.get("hairpin"),
            "isolated": slave.get("isolated"),
            "vlan_filtering": bool(info.get("info_data", {}).get("vlan_filtering"))
            if info.get("info_kind") == "bridge"
            else None,
            "txqlen": link.get("txqlen"),
        }
        problems = []
        for key in got:
            want = getattr(self, key)
            if want is None:
                continue
            want = ctx.resolve(want)
            if key == "mac":
                want = str(want).lower()
            if got[key] != want:
                problems.append(f"{self.ns}: link {name} {key}={got[key]!r}, expected {want!r}")
        return problems


@dataclass(frozen=True)
class Links(Check):
    """The namespace holds exactly these links (fnmatch patterns, each matching one link)."""

    ns: str
    exactly: tuple[str, ...]

    def evaluate(self, ctx, outcome) -> list[str]:
        names = sorted(link.get("ifname", "") for link in ctx.ns(self.ns).links())
        remaining = list(names)
        for pattern in (ctx.resolve(p) for p in self.exactly):
            match = next((n for n in remaining if fnmatch.fnmatchcase(n, pattern)), None)
            if match is None:
                return [f"{self.ns}: no link matches {pattern!r} (links: {names})"]
            remaining.remove(match)
        return [f"{self.ns}: unexpected links {remaining} (links: {names})"] if remaining else []


@dataclass(frozen=True)
class Addr(Check):
    """An address (ip/prefix) on a link, present or not."""

    ns: str
    dev: Any
    cidr: Any
    present: bool = True

    def evaluate(self, ctx, outcome) -> list[str]:
        dev, cidr = ctx.resolve(self.dev), ctx.resolve(self.cidr)
        have = ctx.ns(self.ns).addresses(dev)
        canon = str(ipaddress.ip_interface(cidr))
        found = any(str(ipaddress.ip_interface(a)) == canon for a in have)
        if found != self.present:
            return [f"{self.ns}: {cidr} {'missing on' if self.present else 'still on'} {dev} (has {have})"]
        return []


@dataclass(frozen=True)
class Addrs(Check):
    """The global addresses of one family on a link are exactly these (link-local ignored)."""

    ns: str
    dev: Any
    exactly: tuple[str, ...]
    family: int = 4

    def evaluate(self, ctx, outcome) -> list[str]:
        dev = ctx.resolve(self.dev)
        have = []
        for info in ctx.ns(self.ns).addr_info(dev):
            if info.get("family") != ("inet" if self.family == 4 else "inet6"):
                continue
            if info.get("scope") == "link":
                continue
            have.append(str(ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}")))
        want = [str(ipaddress.ip_interface(ctx.resolve(c))) for c in self.exactly]
        if sorted(have) != sorted(want):
            return [f"{self.ns}: {dev} has IPv{self.family} {have}, expected {want}"]
        return []


@dataclass(frozen=True)
class Route(Check):
    """A route (dst "default" or a prefix; optional gateway/device/table), present or not."""

    ns: str
    dst: Any
    gw: Any = None
    dev: Any = None
    table: str | None = None
    present: bool = True
    family: int | None = None
    count: int | None = None

    def evaluate(self, ctx, outcome) -> list[str]:
        dst, gw, dev = ctx.resolve(self.dst), ctx.resolve(self.gw), ctx.resolve(self.dev)
        family = self.family or (6 if ":" in str(dst) or (gw and ":" in str(gw)) else 4)
        routes = ctx.ns(self.ns).routes(family)
        matches = [r for r in routes if self._matches(r, dst, gw, dev)]
        if self.count is not None:
            if len(matches) != self.count:
                return [f"{self.ns}: {len(matches)} routes to {dst} (gw {gw}), expected {self.count}"]
            return []
        if bool(matches) != self.present:
            shown = [f"{r.get('dst')} via {r.get('gateway', '-')} dev {r.get('dev')}" for r in routes]
            what = "missing" if self.present else "still present"
            return [f"{self.ns}: route {dst} gw {gw} dev {dev} {what} (routes: {shown})"]
        return []

    def _matches(self, route: dict, dst: str, gw: str | None, dev: str | None) -> bool:
        table = route.get("table", "main")
        if (self.table or "main") != table:
            return False
        rdst = route.get("dst")
        if dst == "default":
            if rdst not in ("default", "0.0.0.0/0", "::/0"):
                return False
        elif _canon_net(rdst) != _canon_net(dst):
            return False
        if gw and (
            route.get("gateway") is None or ipaddress.ip_address(route["gateway"]) != ipaddress.ip_address(gw)
        ):
            # ECMP routes list their gateways under nexthops
            hops = [h.get("gateway") for h in route.get("nexthops", [])]
            if not any(h and ipaddress.ip_address(h) == ipaddress.ip_address(gw) for h in hops):
                return False
        return not (dev and route.get("dev") != dev)


def _canon_net(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


@dataclass(frozen=True)
class Sysctl(Check):
    ns: str
    key: Any
    value: Any

    def evaluate(self, ctx, outcome) -> list[str]:
        key, want = ctx.resolve(self.key), str(ctx.resolve(self.value))
        got = ctx.ns(self.ns).sysctl(key)
        if got != want:
            return [f"{self.ns}: sysctl {key} = {got!r}, expected {want!r}"]
        return []


@dataclass(frozen=True)
class IptChain(Check):
    chain: Any
    present: bool = True
    table: str = "nat"
    family: int = 4
    ns: str = "host"

    def evaluate(self, ctx, outcome) -> list[str]:
        chain = ctx.resolve(self.chain)
        chains = iptables_chains(ctx.ns(self.ns).iptables_save(self.family, self.table))
        if (chain in chains) != self.present:
            state = "missing" if self.present else "still present"
            return [
                f"{self.ns}: ip{'6' if self.family == 6 else ''}tables {self.table} chain {chain} {state}"
            ]
        return []


@dataclass(frozen=True)
class IptRule(Check):
    """A rule of an iptables chain (as iptables-save prints it) containing all `has` tokens.

    count: exact number of matching rules instead of presence.
    """

    chain: Any
    has: tuple[str, ...] = ()
    present: bool = True
    table: str = "nat"
    family: int = 4
    ns: str = "host"
    count: int | None = None

    def evaluate(self, ctx, outcome) -> list[str]:
        chain = ctx.resolve(self.chain)
        tokens = [ctx.resolve(t) for t in self.has]
        rules = iptables_rules(ctx.ns(self.ns).iptables_save(self.family, self.table), chain)
        matches = [r for r in rules if all(_has_token(r, t) for t in tokens)]
        tool = "ip6tables" if self.family == 6 else "iptables"
        if self.count is not None:
            if len(matches) != self.count:
                return [f"{tool} {chain}: {len(matches)} rules with {tokens}, expected {self.count}: {rules}"]
            return []
        if bool(matches) != self.present:
            what = "no rule with" if self.present else "a rule still has"
            return [f"{tool} {self.table} {chain}: {what} {tokens} (rules: {rules})"]
        return []


def _has_token(rule: str, token: str) -> bool:
    """Whole-word containment: "--dport 80" must not match "--dport 8080"."""
    return re.search(r"(?<![\w.:/-])" + re.escape(token) + r"(?![\w.:/-])", rule) is not None


@dataclass(frozen=True)
class NftTable(Check):
    family: str
    table: str
    present: bool = True
    ns: str = "host"

    def evaluate(self, ctx, outcome) -> list[str]:
        has = nft_has_table(ctx.ns(self.ns).nft_ruleset(), self.family, self.table)
        if has != self.present:
            return [
                f"{self.ns}: nft table {self.family} {self.table} {'missing' if self.present else 'present'}"
            ]
        return []


@dataclass(frozen=True)
class NftChain(Check):
    family: str
    table: str
    chain: Any
    present: bool = True
    ns: str = "host"

    def evaluate(self, ctx, outcome) -> list[str]:
        chain = ctx.resolve(self.chain)
        rules = nft_chain_rules(ctx.ns(self.ns).nft_ruleset(), self.family, self.table, chain)
        if (rules is not None) != self.present:
            state = "missing" if self.present else "still present"
            return [f"{self.ns}: nft chain {self.family} {self.table} {chain} {state}"]
        return []


@dataclass(frozen=True)
class NftRule(Check):
    """A rule of an nftables chain (as `nft list ruleset` prints it) containing all `has` texts."""

    family: str
    table: str
    chain: Any
    has: tuple[str, ...] = ()
    present: bool = True
    count: int | None = None
    ns: str = "host"

    def evaluate(self, ctx, outcome) -> list[str]:
        chain = ctx.resolve(self.chain)
        texts = [ctx.resolve(t) for t in self.has]
        rules = nft_chain_rules(ctx.ns(self.ns).nft_ruleset(), self.family, self.table, chain) or []
        matches = [r for r in rules if all(t in r for t in texts)]
        if self.count is not None:
            if len(matches) != self.count:
                return [f"nft {self.table} {chain}: {len(matches)} rules with {texts}, expected {self.count}"]
            return []
        if bool(matches) != self.present:
            what = "no rule with" if self.present else "a rule still has"
            return [f"nft {self.family} {self.table} {chain}: {what} {texts} (rules: {rules})"]
        return []


# --- files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class File(Check):
    """A file on disk: present or not, exact content, content regex, permission bits."""

    path: Any
    present: bool = True
    content: Any = None
    matches: str | None = None
    mode: int | None = None

    def evaluate(self, ctx, outcome) -> list[str]:
        path = ctx.resolve(self.path)
        exists = os.path.isfile(path)
        if not self.present:
            return [f"file {path} still exists"] if exists else []
        if not exists:
            parent = os.path.dirname(path)
            listing = sorted(os.listdir(parent)) if os.path.isdir(parent) else "no such directory"
            return [f"file {path} missing (directory has {listing})"]
        problems = []
        with open(path, "rb") as f:
            data = f.read().decode(errors="replace")
        if self.content is not None:
            want = ctx.resolve(self.content)
            if data != want:
                problems.append(f"file {path} holds {data!r}, expected {want!r}")
        if self.matches is not None and not re.search(ctx.resolve(self.matches), data):
            problems.append(f"file {path} holds {data!r}, expected to match /{self.matches}/")
        if self.mode is not None:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode != self.mode:
                problems.append(f"file {path} has mode {mode:04o}, expected {self.mode:04o}")
        return problems


@dataclass(frozen=True)
class Dir(Check):
    """The names in a directory (fnmatch patterns; each matches exactly one entry)."""

    path: Any
    exactly: tuple[str, ...] | None = None
    present: bool = True

    def evaluate(self, ctx, outcome) -> list[str]:
        path = ctx.resolve(self.path)
        if not os.path.isdir(path):
            return [f"directory {path} missing"] if self.present else []
        if not self.present:
            return [f"directory {path} exists"]
        if self.exactly is None:
            return []
        names = sorted(os.listdir(path))
        remaining = list(names)
        for pattern in (ctx.resolve(p) for p in self.exactly):
            match = next((n for n in remaining if fnmatch.fnmatchcase(n, pattern)), None)
            if match is None:
                return [f"{path}: nothing matches {pattern!r} (has {names})"]
            remaining.remove(match)
        return [f"{path}: unexpected entries {remaining}"] if remaining else []


@dataclass(frozen=True)
class DistinctFiles(Check):
    """`count` IP files in a host-local network directory, each owned by a different container."""

    path: Any
    count: int

    def evaluate(self, ctx, outcome) -> list[str]:
        path = ctx.resolve(self.path)
        if not os.path.isdir(path):
            return [f"directory {path} missing"]
        owners = []
        for name in os.listdir(path):
            if name == "lock" or name.startswith("last_reserved_ip"):
                continue
            with open(os.path.join(path, name)) as f:
                owners.append(f.read().split("\r\n")[0].strip())
        if len(owners) != self.count or len(set(owners)) != self.count:
            return [
                f"{path}: {len(owners)} address files for {len(set(owners))} containers, "
                f"expected {self.count}"
            ]
        return []


# --- traffic ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ping(Check):
    """ICMP echo from one namespace to an address succeeds (or fails when ok=False)."""

    src: str
    dst: Any
    ok: bool = True

    def evaluate(self, ctx, outcome) -> list[str]:
        dst = ctx.resolve(self.dst)
        reached = ctx.ping(self.src, dst)
        if reached != self.ok:
            return [f"ping {self.src} -> {dst} {'failed' if self.ok else 'unexpectedly succeeded'}"]
        return []


@dataclass(frozen=True)
class Tcp(Check):
    """A TCP connection from `client` to dst:port reaches a listener in `server` on server_port."""

    client: str
    dst: Any
    port: int
    server: str
    server_port: int
    ok: bool = True

    def evaluate(self, ctx, outcome) -> list[str]:
        dst = ctx.resolve(self.dst)
        reached = ctx.tcp(self.client, dst, self.port, self.server, self.server_port)
        if reached != self.ok:
            what = "did not reach" if self.ok else "unexpectedly reached"
            return [f"tcp {self.client} -> {dst}:{self.port} {what} {self.server}:{self.server_port}"]
        return []


@dataclass(frozen=True)
class Stderr(Check):
    """stderr contains a text (stderr is free-form logging; only used for the about text)."""

    contains: str

    def evaluate(self, ctx, outcome) -> list[str]:
        if self.contains not in outcome.stderr:
            return [f"stderr {outcome.stderr[:200]!r} does not contain {self.contains!r}"]
        return []


# --- traffic control ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Qdisc(Check):
    """A qdisc on a device (read with `tc -j -d qdisc show`): its kind at the root (or, with
    ingress=True, the ingress qdisc), and for a tbf its rate in bytes/s and latency in µs."""

    ns: str
    dev: Any
    kind: str
    present: bool = True
    ingress: bool = False
    rate: int | None = None
    latency: int | None = None

    def evaluate(self, ctx, outcome) -> list[str]:
        ns = ctx.ns(self.ns)
        dev = ctx.resolve(self.dev)
        if ns.link(dev) is None:
            return [] if not self.present else [f"{self.ns}: no device {dev}"]
        qdiscs = ns.qdiscs(dev)
        found = [
            q
            for q in qdiscs
            if q.get("kind") == self.kind
            and (q.get("parent") == "ffff:fff1" if self.ingress else q.get("root"))
        ]
        if not self.present:
            return [f"{self.ns}: {dev} still has a {self.kind} qdisc"] if found else []
        if not found:
            return [f"{self.ns}: {dev} has no {self.kind} qdisc (have {[q.get('kind') for q in qdiscs]})"]
        options = found[0].get("options", {})
        problems = []
        for key, want, got in (
            ("rate", self.rate, options.get("rate")),
            ("lat", self.latency, options.get("lat")),
        ):
            if want is not None and got != want:
                problems.append(f"{self.ns}: {dev} {self.kind} {key}={got!r}, expected {want!r}")
        return problems


@dataclass(frozen=True)
class Redirect(Check):
    """The ingress of `dev` has a filter whose actions redirect every packet to `to` (mirred)."""

    ns: str
    dev: Any
    to: Any
    present: bool = True

    def evaluate(self, ctx, outcome) -> list[str]:
        ns = ctx.ns(self.ns)
        dev, to = ctx.resolve(self.dev), ctx.resolve(self.to)
        filters = ns.ingress_filters(dev)
        actions = [a for f in filters for a in f.get("options", {}).get("actions", [])]
        redirects = [a for a in actions if a.get("kind") == "mirred" and a.get("to_dev") == to]
        found = bool(redirects) and len(redirects) == len(actions)
        if found != self.present:
            what = "no" if self.present else "a"
            return [f"{self.ns}: {dev} has {what} ingress redirect to {to} (actions: {actions})"]
        return []
