"""Fixtures for portmap: containers wired to the test's host netns by a plain veth pair each
(no bridge plugin involved), a TCP/UDP echo server inside, and the prevResult describing them."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.harness import Netns, start_echo_server, stop_server, unique

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "echo_client.py")


@dataclass
class Container:
    """A container netns with eth0 = 10.88.<n>.2/24, fd00:88:<n>::2/64, routed via the host veth."""

    ns: Netns
    host: Netns
    index: int
    host_veth: str
    id: str = field(default_factory=lambda: unique("ctr", 12))
    server: subprocess.Popen | None = None

    @property
    def ip4(self) -> str:
        return f"10.88.{self.index}.2"

    @property
    def ip6(self) -> str:
        return f"fd00:88:{self.index}::2"

    @property
    def host_ip4(self) -> str:
        return f"10.88.{self.index}.1"

    @property
    def host_ip6(self) -> str:
        return f"fd00:88:{self.index}::1"

    def prev_result(self, cni_version: str = "1.0.0", v4: bool = True, v6: bool = True) -> dict:
        ips = []
        if v4:
            ips.append({"address": f"{self.ip4}/24", "gateway": self.host_ip4, "interface": 1})
        if v6:
            ips.append({"address": f"{self.ip6}/64", "gateway": self.host_ip6, "interface": 1})
        return {
            "cniVersion": cni_version,
            "interfaces": [{"name": self.host_veth}, {"name": "eth0", "sandbox": self.ns.path}],
            "ips": ips,
        }

    def serve(self, port: int) -> None:
        """Start the echo server on `port` (TCP and UDP, v4 and v6); answers '<id> <peer>'."""
        self.server = start_echo_server(self.ns, self.id, port)

    def stop(self) -> None:
        stop_server(self.server)
        self.server = None


def ask(ns: Netns, proto: str, host: str, port: int, source_port: int | None = None) -> str | None:
    """The echo answer ('<container id> <peer ip>') seen from `ns`, or None when none came."""
    extra = [str(source_port)] if source_port else []
    proc = subprocess.run(
        ["nsenter", f"--net={ns.path}", "--", sys.executable, CLIENT, proto, host, str(port), *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def wire_container(host: Netns, ns: Netns, index: int) -> Container:
    host_veth = f"vpm{index}{unique('', 4)}"
    host.run("ip", "link", "add", host_veth, "type", "veth", "peer", "name", "eth0", "netns", ns.name)
    c = Container(ns=ns, host=host, index=index, host_veth=host_veth)
    host.run("ip", "addr", "add", f"{c.host_ip4}/24", "dev", host_veth)
    host.run("ip", "-6", "addr", "add", f"{c.host_ip6}/64", "dev", host_veth, "nodad")
    host.run("ip", "link", "set", host_veth, "up")
    ns.run("ip", "addr", "add", f"{c.ip4}/24", "dev", "eth0")
    ns.run("ip", "-6", "addr", "add", f"{c.ip6}/64", "dev", "eth0", "nodad")
    ns.run("ip", "link", "set", "eth0", "up")
    ns.run("ip", "route", "add", "default", "via", c.host_ip4)
    ns.run("ip", "-6", "route", "add", "default", "via", c.host_ip6)
    return c


@pytest.fixture
def routed_host(host_ns) -> Netns:
    """The host netns with forwarding on (as a container host has it)."""
    host_ns.run("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
    return host_ns


@pytest.fixture
def containers(routed_host, netns_factory):
    """make(n) -> the n-th container wired to the host; servers stopped at the end."""
    made: list[Container] = []

    def make() -> Container:
        c = wire_container(routed_host, netns_factory(), len(made) + 1)
        made.append(c)
        return c

    try:
        yield make
    finally:
        for c in made:
            c.stop()


def portmap_conf(
    container: Container | None,
    mappings: list[dict],
    *,
    name: str = "pmtest",
    cni_version: str = "1.0.0",
    v4: bool = True,
    v6: bool = True,
    **extra,
) -> dict:
    conf = {"cniVersion": cni_version, "name": name, "type": "portmap", **extra}
    if mappings:
        conf["runtimeConfig"] = {"portMappings": mappings}
    if container is not None:
        conf["prevResult"] = container.prev_result(cni_version, v4=v4, v6=v6)
    return conf


def tcp(host_port: int, container_port: int, **extra) -> dict:
    return {"hostPort": host_port, "containerPort": container_port, "protocol": "tcp", **extra}


def udp(host_port: int, container_port: int, **extra) -> dict:
    return {"hostPort": host_port, "containerPort": container_port, "protocol": "udp", **extra}


def nft_ruleset(ns: Netns) -> str:
    return ns.run("nft", "list", "ruleset")


def iptables_nat(ns: Netns) -> str:
    """Both families' nat tables, without the generated-by comments and counters."""
    out = []
    for tool in ("iptables-save", "ip6tables-save"):
        for line in ns.run(tool, "-t", "nat").splitlines():
            if line.startswith("#"):
                continue
            if line.startswith(":"):
                line = line.split(" [", 1)[0]
            out.append(line)
    return "\n".join(out)
