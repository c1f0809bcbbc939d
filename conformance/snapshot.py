"""A normalized picture of a case's kernel and disk state, for --compare.

Random values are replaced by stable tokens so two implementations can be compared: veth
names by `veth~1`, `veth~2` ... (in order of appearance), MAC addresses by `<mac>` (unless
the scenario itself chose the MAC), link-local IPv6 addresses are dropped, firewall
counters and handles are stripped.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any

VETH_RE = re.compile(r"\bveth[0-9a-f]{8}\b")
MAC_RE = re.compile(r"\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\b")
COUNTER_RE = re.compile(r"\s*counter packets \d+ bytes \d+")
HANDLE_RE = re.compile(r"\s*# handle \d+")
SYSCTL_PATTERNS = [
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv6/conf/all/forwarding",
    "/proc/sys/net/ipv4/conf/*/arp_notify",
    "/proc/sys/net/ipv4/conf/*/route_localnet",
    "/proc/sys/net/ipv4/conf/*/proxy_arp",
    "/proc/sys/net/ipv6/conf/*/accept_ra",
    "/proc/sys/net/ipv6/conf/*/accept_dad",
    "/proc/sys/net/ipv6/conf/*/enhanced_dad",
    "/proc/sys/net/ipv6/conf/*/disable_ipv6",
    "/proc/sys/net/ipv6/conf/*/keep_addr_on_down",
]
SKIP_SYSCTL_DEVS = {"all", "default", "lo"}


class Normalizer:
    """Maps random names and MACs of one case to stable tokens (kept across its steps)."""

    def __init__(self, fixed_macs: set[str]):
        self.fixed_macs = {m.lower() for m in fixed_macs}
        self.veths: dict[str, str] = {}

    def name(self, text: str) -> str:
        def repl(m: re.Match) -> str:
            return self.veths.setdefault(m.group(0), f"veth~{len(self.veths) + 1}")

        return VETH_RE.sub(repl, text)

    def text(self, text: str) -> str:
        text = self.name(text)
        return MAC_RE.sub(lambda m: m.group(0) if m.group(0).lower() in self.fixed_macs else "<mac>", text)

    def value(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self.text(k): self.value(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.value(v) for v in data]
        return data


def normalizer_of(case) -> Normalizer:
    norm = getattr(case, "_normalizer", None)
    if norm is None:
        norm = Normalizer(case.fixed_macs)
        case._normalizer = norm
    norm.fixed_macs |= {m.lower() for m in case.fixed_macs}
    return norm


def capture(case) -> dict:
    norm = normalizer_of(case)
    # name veths in host ifindex order so both implementations number them alike
    host = case.namespaces["host"]
    for link in sorted(host.links(), key=lambda link: link.get("ifindex", 0)):
        norm.name(link.get("ifname", ""))
    state: dict[str, Any] = {}
    for label, ns in case.namespaces.items():
        state[label] = _netns_state(ns, norm, _sysctl_keys(case)) if ns.exists else None
    state["files"] = _files(case, norm)
    return state


def _sysctl_keys(case) -> list[str]:
    """Sysctls named in configs the scenario sent (tuning), in /proc/sys form."""
    keys = []
    for outcome in case.outcomes.values():
        sent = outcome.sent if isinstance(outcome.sent, dict) else {}
        for key in (sent.get("sysctl") or {}) if isinstance(sent.get("sysctl"), dict) else {}:
            path = key.replace("IFNAME", "eth0")
            if "/" not in path:
                path = path.replace(".", "/")
            keys.append("/proc/sys/" + path.lstrip("/"))
    return keys


def _netns_state(ns, norm: Normalizer, extra_sysctls: list[str]) -> dict:
    links = []
    for link in sorted(ns.links(), key=lambda x: x.get("ifname", "")):
        info = link.get("linkinfo", {})
        slave = info.get("info_slave_data", {})
        entry = {
            "name": norm.name(link.get("ifname", "")),
            "kind": info.get("info_kind"),
            "master": norm.name(link.get("master", "")) or None,
            "mtu": link.get("mtu"),
            # carrier flags follow the peer with a delay: not part of what a plugin configures
            "flags": sorted(
                f for f in link.get("flags", []) if f not in ("LOWER_UP", "NO-CARRIER", "M-DOWN")
            ),
            "mac": norm.text(link.get("address", "")),
            "txqlen": link.get("txqlen"),
        }
        if info.get("info_kind") == "bridge":
            entry["vlan_filtering"] = info.get("info_data", {}).get("vlan_filtering")
        if slave:
            entry["port"] = {k: slave.get(k) for k in ("hairpin", "isolated", "learning", "flood")}
        links.append(entry)
    addrs = {}
    for item in ns.addrs():
        dev = norm.name(item.get("ifname", ""))
        infos = [
            f"{a['local']}/{a['prefixlen']} scope {a.get('scope')}"
            for a in item.get("addr_info", [])
            if not str(a.get("local", "")).startswith("fe80:")
        ]
        if infos:
            addrs[dev] = infos
    routes = []
    for family in (4, 6):
        for r in ns.routes(family):
            dst = str(r.get("dst", ""))
            # link-local and multicast routes appear on their own when a link comes up (timing)
            if dst.startswith(("fe80:", "ff00::")):
                continue
            parts = [r.get("type", "unicast"), dst, r.get("gateway", ""), norm.name(r.get("dev", ""))]
            parts += [
                r.get("table", "main"),
                r.get("scope", ""),
                str(r.get("metric", "")),
                r.get("protocol", ""),
            ]
            routes.append(" ".join(str(p) for p in parts if p != ""))
    sysctls = ns.sysctls(SYSCTL_PATTERNS + extra_sysctls)
    sysctls = {
        norm.name(k): v
        for k, v in sysctls.items()
        if not any(f"/conf/{dev}/" in k for dev in SKIP_SYSCTL_DEVS)
        or k.endswith(("ip_forward", "all/forwarding"))
    }
    firewall = {
        "iptables": _iptables_view(ns.iptables_save(4, "nat"), ns.iptables_save(4, "filter")),
        "ip6tables": _iptables_view(ns.iptables_save(6, "nat"), ns.iptables_save(6, "filter")),
        "nft": _nft_view(ns.nft_ruleset(), norm),
    }
    return {"links": links, "addrs": addrs, "routes": sorted(routes), "sysctls": sysctls, **firewall}


BUILTIN_CHAINS = {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "FORWARD"}


def _iptables_view(*saves: str) -> dict:
    """{table: {chain: [rules in order]}}; built-in chains without rules and empty tables left out."""
    view: dict[str, dict[str, list[str]]] = {}
    for text in saves:
        table = ""
        for line in text.splitlines():
            if line.startswith("*"):
                table = line[1:]
                view.setdefault(table, {})
            elif line.startswith(":"):
                chain = line[1:].split()[0]
                if chain not in BUILTIN_CHAINS:
                    view[table].setdefault(chain, [])
            elif line.startswith("-A "):
                chain, _, rule = line[3:].partition(" ")
                view[table].setdefault(chain, []).append(rule)
    return {table: chains for table, chains in view.items() if chains}


def _nft_view(ruleset: str, norm: Normalizer) -> dict:
    """{"family table": {chain: [rules in order]}} from `nft list ruleset`; empty tables left out.

    Tables and chains are keyed (their listing order is creation order, not meaning); counters
    and handles are stripped; random names and MACs normalized.
    """
    view: dict[str, dict[str, list[str]]] = {}
    stack: list[tuple[str, str]] = []  # open blocks: ("table", name) / ("chain", name) / ("other", text)
    for raw in ruleset.splitlines():
        line = norm.text(HANDLE_RE.sub("", COUNTER_RE.sub("", raw))).strip()
        if not line or line.startswith("#"):
            continue
        table = next((name for kind, name in stack if kind == "table"), None)
        if line == "}":
            if stack:
                stack.pop()
            continue
        if line.startswith("table ") and line.endswith("{"):
            name = " ".join(line.split()[1:3])
            view.setdefault(name, {})
            stack.append(("table", name))
        elif line.startswith("chain ") and line.endswith("{") and table is not None:
            chain = line.split()[1]
            view[table][chain] = []
            stack.append(("chain", chain))
        elif line.endswith("{"):
            stack.append(("other", line))
            if table is not None:
                view[table].setdefault("(table)", []).append(line)  # sets, maps, flowtables: kept as text
        elif table is not None:
            kind, name = stack[-1]
            if kind == "chain":
                view[table][name].append(line)
            else:
                view[table].setdefault("(table)", []).append(line)
    return {name: chains for name, chains in view.items() if chains}


STATE_ROOTS = ("/var/lib/cni", "/run/cni", "/etc/cni")


def _files(case, norm: Normalizer) -> dict:
    """Files under the state roots whose path names this case (its network, containers or scratch dir)."""
    values = case.values
    tokens = [values["net"], values["cid"], values["cid2"], values["cid3"], values["tmp"]]
    files = {}
    for root in STATE_ROOTS:
        for dirpath, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(names):
                path = os.path.join(dirpath, name)
                if not any(token in path for token in tokens):
                    continue
                try:
                    mode = stat.S_IMODE(os.stat(path).st_mode)
                    with open(path, "rb") as f:
                        raw = f.read(4096)
                except OSError:
                    continue
                content = (
                    f"<binary, {len(raw)} bytes or more>"
                    if b"\0" in raw
                    else norm.text(raw.decode(errors="replace"))
                )
                files[path] = {"mode": f"{mode:04o}", "content": content}
    return files
