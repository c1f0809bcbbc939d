"""Fixtures for firewall: configs, a second host netns for Go's plugin, filter tables read with
iptables-save, and a two-bridge topology with containers for real traffic."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.harness import GO_PLUGIN_DIR, Netns, PluginRunner, start_echo_server, stop_server, unique

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO_SERVER = os.path.join(HERE, "..", "portmap", "echo_server.py")
ECHO_CLIENT = os.path.join(HERE, "..", "portmap", "echo_client.py")
GO_FIREWALL = os.path.join(GO_PLUGIN_DIR, "firewall")


# Every plugin call of these tests gets a system bus address that leads nowhere, so that neither
# implementation can reach a firewalld of the machine (the mount namespace still shows its bus
# socket); the firewalld tests pass their private bus instead.
NO_BUS = {"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/firewall-test-bus"}


class FwRunner(PluginRunner):
    def run(self, plugin, command, conf, *, env=None, **kw):
        return super().run(plugin, command, conf, env={**NO_BUS, **(env or {})}, **kw)


@pytest.fixture
def runner(cni_bin, host_ns) -> FwRunner:
    return FwRunner(cni_bin, host_ns)


def prev_result(ips: list[str], bridge: str = "cni0", cni_version: str = "1.0.0") -> dict:
    return {
        "cniVersion": cni_version,
        "interfaces": [{"name": bridge}, {"name": "veth0"}, {"name": "eth0", "sandbox": "/run/netns/x"}],
        "ips": [{"address": ip, "interface": 2} for ip in ips],
    }


def fw_conf(prev: dict | None, cni_version: str = "1.0.0", **keys) -> dict:
    conf = {"cniVersion": cni_version, "name": "fwtest", "type": "firewall", **keys}
    if prev is not None:
        conf["prevResult"] = prev
    return conf


def filter_table(ns: Netns, family: int) -> list[str]:
    """The filter table as iptables-save prints it, without comments and counters."""
    tool = "ip6tables-save" if family == 6 else "iptables-save"
    text = ns.run(tool, "-t", "filter")
    return [
        re.sub(r" \[\d+:\d+\]$", "", line) for line in text.splitlines() if line and not line.startswith("#")
    ]


def tables(ns: Netns) -> dict[int, list[str]]:
    return {4: filter_table(ns, 4), 6: filter_table(ns, 6)}


@pytest.fixture
def go_host():
    if not os.path.isfile(GO_FIREWALL):
        pytest.skip(f"Go reference firewall not installed in {GO_PLUGIN_DIR}")
    ns = Netns.create("cnig-")
    try:
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def go(go_host) -> FwRunner:
    return FwRunner(GO_PLUGIN_DIR, go_host)


@dataclass
class Pod:
    ns: Netns
    bridge: Bridge
    index: int
    server: subprocess.Popen | None = None
    id: str = field(default_factory=lambda: unique("ctr", 12))

    @property
    def ip4(self) -> str:
        return f"10.77.{self.bridge.index}.{self.index}"

    @property
    def ip6(self) -> str:
        return f"fd00:77:{self.bridge.index}::{self.index}"

    def prev_result(self) -> dict:
        result = prev_result([f"{self.ip4}/24", f"{self.ip6}/64"], self.bridge.name)
        result["interfaces"][2]["sandbox"] = self.ns.path
        return result

    def serve(self, port: int) -> None:
        self.server = start_echo_server(self.ns, self.id, port)

    def stop(self) -> None:
        stop_server(self.server)
        self.server = None


@dataclass
class Bridge:
    host: Netns
    index: int
    name: str
    pods: list[Pod] = field(default_factory=list)


def connects(client: Pod, server: Pod, port: int, family: int = 4) -> bool:
    """A TCP connection from `client` reaches `server`'s echo server (answering with its id)."""
    host = server.ip6 if family == 6 else server.ip4
    proc = subprocess.run(
        ["nsenter", f"--net={client.ns.path}", "--", sys.executable, ECHO_CLIENT, "tcp", host, str(port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return proc.returncode == 0 and proc.stdout.split()[:1] == [server.id]


@pytest.fixture
def topology(host_ns, netns_factory):
    """make_bridge() -> Bridge (10.77.N.1/24, fd00:77:N::1/64); add_pod(bridge) -> Pod on it."""
    host_ns.run("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
    bridges: list[Bridge] = []

    def make_bridge() -> Bridge:
        index = len(bridges) + 1
        bridge = Bridge(host_ns, index, f"fwbr{index}{unique('', 4)}")
        host_ns.run("ip", "link", "add", bridge.name, "type", "bridge")
        host_ns.run("ip", "addr", "add", f"10.77.{index}.1/24", "dev", bridge.name)
        host_ns.run("ip", "-6", "addr", "add", f"fd00:77:{index}::1/64", "dev", bridge.name, "nodad")
        host_ns.run("ip", "link", "set", bridge.name, "up")
        bridges.append(bridge)
        return bridge

    def add_pod(bridge: Bridge) -> Pod:
        pod = Pod(netns_factory(), bridge, len(bridge.pods) + 2)
        veth = f"fwv{bridge.index}{pod.index}{unique('', 4)}"
        host_ns.run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod.ns.name)
        host_ns.run("ip", "link", "set", veth, "master", bridge.name, "up")
        pod.ns.run("ip", "addr", "add", f"{pod.ip4}/24", "dev", "eth0")
        pod.ns.run("ip", "-6", "addr", "add", f"{pod.ip6}/64", "dev", "eth0", "nodad")
        pod.ns.run("ip", "link", "set", "eth0", "up")
        pod.ns.run("ip", "link", "set", "lo", "up")
        pod.ns.run("ip", "route", "add", "default", "via", f"10.77.{bridge.index}.1")
        pod.ns.run("ip", "-6", "route", "add", "default", "via", f"fd00:77:{bridge.index}::1")
        bridge.pods.append(pod)
        return pod

    try:
        yield make_bridge, add_pod
    finally:
        for bridge in bridges:
            for pod in bridge.pods:
                pod.stop()
