"""Fixtures for the loopback tests: container netns exactly as a runtime hands them over (made by
`ip netns add`, so `lo` is down and has no address yet), their `lo` as `ip` shows it, and calls."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness import Netns, PluginRun, PluginRunner, sh, unique

VERSIONS = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0")  # what Go 1.1.1 supports
ALL_VERSIONS = (*VERSIONS, "1.1.0")


def conf(version: str | None = "1.0.0", **keys: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": "cni-loopback", "type": "loopback"}
    if version is not None:
        out["cniVersion"] = version
    out.update(keys)
    return out


@dataclass
class LoState:
    """`lo` read with iproute2: up or not, and its addresses in the kernel's order."""

    up: bool
    addresses: list[tuple[str, str, int, str]]  # family, address, prefix length, scope


@dataclass
class Sandbox:
    ns: Netns

    @property
    def path(self) -> str:
        return self.ns.path

    def lo(self) -> LoState:
        (link,) = self.ns.json("ip", "-j", "link", "show", "dev", "lo")
        (addr,) = self.ns.json("ip", "-j", "addr", "show", "dev", "lo")
        return LoState(
            up="UP" in link["flags"],
            addresses=[
                (a["family"], a["local"], a["prefixlen"], a["scope"]) for a in addr.get("addr_info", [])
            ],
        )

    def run(self, runner: PluginRunner, command: str, config: Any, **kw: Any) -> PluginRun:
        kw.setdefault("container_id", "ctr-" + self.ns.name)
        kw.setdefault("netns", self.path)
        kw.setdefault("ifname", "lo")
        return runner.run(
            "loopback", command, config if isinstance(config, (str, bytes)) else json.dumps(config), **kw
        )

    def disable_ipv6(self) -> None:
        for scope in ("all", "default", "lo"):
            self.ns.run("sysctl", "-qw", f"net.ipv6.conf.{scope}.disable_ipv6=1")


@pytest.fixture
def sandbox_factory():
    made: list[Netns] = []

    def make() -> Sandbox:
        ns = Netns(unique("cnilo-"))
        sh("ip", "netns", "add", ns.name)  # no `lo up`: a runtime's fresh netns
        made.append(ns)
        return Sandbox(ns)

    try:
        yield make
    finally:
        for ns in made:
            ns.delete()


@pytest.fixture
def sandbox(sandbox_factory) -> Sandbox:
    return sandbox_factory()
