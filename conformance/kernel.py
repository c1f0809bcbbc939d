"""Named network namespaces and readers of their state (links, addresses, routes, sysctls, firewall).

All readers shell out to iproute2 / nft / iptables-save through `nsenter --net=<path>`, the
same way the plugins are run, so nothing here depends on a netlink library.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import Any

from libcni.paths import DEFAULT_PATH

TOOL_PATH = DEFAULT_PATH
NETNS_DIR = "/run/netns"


class SetupError(Exception):
    """A scenario's own setup failed (not the plugin's fault)."""


def sh(argv: list[str], *, check: bool = True, input: bytes | None = None, timeout: float = 30) -> str:
    proc = subprocess.run(
        argv,
        input=input,
        capture_output=True,
        timeout=timeout,
        check=False,
        env={"PATH": TOOL_PATH, "LC_ALL": "C"},
    )
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise SetupError(f"{' '.join(argv)} failed ({proc.returncode}): {err}")
    return proc.stdout.decode(errors="replace")


@dataclass
class Netns:
    """A named netns bind-mounted in /run/netns (private to the suite's mount namespace)."""

    name: str
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> str:
        return f"{NETNS_DIR}/{self.name}"

    def create(self) -> Netns:
        if os.path.exists(self.path):
            sh(["ip", "netns", "delete", self.name], check=False)
        sh(["ip", "netns", "add", self.name])
        self.run(["ip", "link", "set", "lo", "up"])
        return self

    def delete(self) -> None:
        if os.path.exists(self.path):
            sh(["ip", "netns", "delete", self.name], check=False)

    @property
    def exists(self) -> bool:
        return os.path.exists(self.path)

    def argv(self, argv: list[str]) -> list[str]:
        return ["nsenter", f"--net={self.path}", "--", *argv]

    def run(self, argv: list[str], *, check: bool = True, input: bytes | None = None) -> str:
        return sh(self.argv(argv), check=check, input=input)

    def forget(self) -> None:
        """Drop cached readings: the state changed."""
        self._cache.clear()

    def _cached(self, key: str, argv: list[str]) -> Any:
        if key not in self._cache:
            if not self.exists:
                self._cache[key] = []
            else:
                out = self.run(argv, check=False)
                self._cache[key] = json.loads(out) if out.strip() else []
        return self._cache[key]

    # --- readers ---------------------------------------------------------------------------------
    def links(self) -> list[dict]:
        return self._cached("links", ["ip", "-j", "-d", "link", "show"])

    def link(self, name: str) -> dict | None:
        return next((link for link in self.links() if link.get("ifname") == name), None)

    def link_by_index(self, index: int) -> dict | None:
        return next((link for link in self.links() if link.get("ifindex") == index), None)

    def addrs(self) -> list[dict]:
        return self._cached("addrs", ["ip", "-j", "addr", "show"])

    def addresses(self, dev: str) -> list[str]:
        """`ip/prefix` strings on `dev` (kernel order)."""
        out = []
        for item in self.addrs():
            if item.get("ifname") != dev:
                continue
            for info in item.get("addr_info", []):
                out.append(f"{info['local']}/{info['prefixlen']}")
        return out

    def addr_info(self, dev: str) -> list[dict]:
        for item in self.addrs():
            if item.get("ifname") == dev:
                return list(item.get("addr_info", []))
        return []

    def routes(self, family: int = 4) -> list[dict]:
        return self._cached(f"routes{family}", ["ip", "-j", f"-{family}", "route", "show", "table", "all"])

    def qdiscs(self, dev: str) -> list[dict]:
        """`tc -j -d qdisc show dev DEV` ([] when there is no such device)."""
        if self.link(dev) is None:
            return []
        return self._cached(f"qdiscs:{dev}", ["tc", "-j", "-d", "qdisc", "show", "dev", dev])

    def ingress_filters(self, dev: str) -> list[dict]:
        """`tc -j filter show dev DEV ingress` ([] when there is no such device)."""
        if self.link(dev) is None:
            return []
        return self._cached(f"filters:{dev}", ["tc", "-j", "filter", "show", "dev", dev, "ingress"])

    def sysctl(self, key: str) -> str | None:
        path = sysctl_path(key)
        cache_key = "sysctl:" + path
        if cache_key not in self._cache:
            if not self.exists:
                self._cache[cache_key] = None
            else:
                try:
                    self._cache[cache_key] = self.run(["cat", path]).rstrip("\n")
                except SetupError:
                    self._cache[cache_key] = None
        return self._cache[cache_key]

    def sysctls(self, patterns: list[str]) -> dict[str, str]:
        """Many sysctls in one exec: glob patterns under /proc/sys -> {dotted-free path: value}."""
        if not self.exists or not patterns:
            return {}
        script = (
            "for f in "
            + " ".join(patterns)
            + '; do [ -f "$f" ] && printf "%s=%s\\n" "$f" "$(cat "$f")"; done'
        )
        out = self.run(["sh", "-c", script], check=False)
        values = {}
        for line in out.splitlines():
            key, _, value = line.partition("=")
            values[key.removeprefix("/proc/sys/")] = value
        return values

    def iptables_save(self, family: int = 4, table: str = "nat") -> str:
        tool = "iptables-save" if family == 4 else "ip6tables-save"
        key = f"ipt{family}:{table}"
        if key not in self._cache:
            self._cache[key] = self.run([tool, "-t", table], check=False) if self.exists else ""
        return self._cache[key]

    def nft_ruleset(self) -> str:
        if "nft" not in self._cache:
            self._cache["nft"] = self.run(["nft", "list", "ruleset"], check=False) if self.exists else ""
        return self._cache["nft"]


def sysctl_path(key: str) -> str:
    """/proc/sys path of a dotted or slashed sysctl name (dots become slashes only in dotted form)."""
    if key.startswith("/proc/sys/"):
        return key
    first_slash = key.find("/")
    first_dot = key.find(".")
    if first_dot != -1 and (first_slash == -1 or first_dot < first_slash):
        key = key.replace(".", "/")
    return "/proc/sys/" + key


# --- parsed firewall views ----------------------------------------------------------------------


def iptables_rules(save_text: str, chain: str) -> list[str]:
    """Rule lines of `chain` from iptables-save output, without the `-A <chain> ` prefix."""
    prefix = f"-A {chain} "
    return [line[len(prefix) :] for line in save_text.splitlines() if line.startswith(prefix)]


def iptables_chains(save_text: str) -> set[str]:
    return {line[1:].split()[0] for line in save_text.splitlines() if line.startswith(":")}


def nft_chain_rules(ruleset: str, family: str, table: str, chain: str) -> list[str] | None:
    """Rule lines of one chain from `nft list ruleset` text, or None if the chain does not exist."""
    in_table = in_chain = False
    rules: list[str] | None = None
    for raw in ruleset.splitlines():
        line = raw.strip()
        if line.startswith("table "):
            parts = line.split()
            in_table = len(parts) >= 3 and parts[1] == family and parts[2] == table
            in_chain = False
            continue
        if not in_table:
            continue
        if line.startswith("chain "):
            in_chain = line.split()[1] == chain
            if in_chain:
                rules = []
            continue
        if in_chain:
            if line == "}":
                in_chain = False
            elif line and not line.startswith(("type ", "policy ", "comment ")):
                assert rules is not None
                rules.append(line)
    return rules


def nft_has_table(ruleset: str, family: str, table: str) -> bool:
    return any(line.strip().startswith(f"table {family} {table} ") for line in ruleset.splitlines())
