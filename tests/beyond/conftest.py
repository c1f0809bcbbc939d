"""The topology of issue 18, in private namespaces: a host netns, containers attached by our bridge
(+ host-local, + portmap), and an "outside" netns on a veth pair with the host, which has no route
to the container subnet (so only NAT lets traffic between them).

    outside eth0 10.99.0.2/24 ── veth ── host <vout> 10.99.0.1/24
    host bridge <bridge> 10.151.0.1/24 ── containers 10.151.0.x (eth0)
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.harness import Netns, PluginRunner, unique

HERE = os.path.dirname(os.path.abspath(__file__))
NETPROBE = os.path.join(HERE, "netprobe.py")
ECHO_SERVER = os.path.join(os.path.dirname(HERE), "portmap", "echo_server.py")
SUBNET = "10.151.0.0/24"
HOST_OUT, OUTSIDE_IP = "10.99.0.1", "10.99.0.2"


def popen(ns: Netns, *argv: str, stdin: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        ["nsenter", f"--net={ns.path}", "--", *argv],
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def probe(ns: Netns, *args: str, stdin: bool = False) -> subprocess.Popen:
    return popen(ns, sys.executable, NETPROBE, *args, stdin=stdin)


def probe_once(ns: Netns, *args: str) -> str:
    return ns.run(sys.executable, NETPROBE, *args).strip()


def wait_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"helper did not start: {line!r} {proc.stderr.read()}"


def stop(proc: subprocess.Popen) -> str:
    """Kill a helper; what it printed."""
    proc.kill()
    out, _ = proc.communicate()
    return out


@dataclass
class Outside:
    ns: Netns
    host_if: str

    @property
    def host_mac(self) -> str:
        return self.ns_host.link(self.host_if)["address"]

    ns_host: Netns = None  # type: ignore[assignment]


@dataclass
class Topology:
    host: Netns
    outside: Outside
    runner: PluginRunner
    make_ns: object
    data_dir: str
    bridge: str = field(default_factory=lambda: unique("cbr", 6))
    processes: list[subprocess.Popen] = field(default_factory=list)

    def bridge_conf(self, version: str = "1.1.0", **keys) -> dict:
        conf = {
            "cniVersion": version,
            "name": "beyond",
            "type": "bridge",
            "bridge": self.bridge,
            "isDefaultGateway": True,
            "ipMasq": True,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": SUBNET}]], "dataDir": self.data_dir},
        }
        conf.update(keys)
        return conf

    def attach(self, mappings: list[dict] | None = None, portmap: dict | None = None, **bridge_keys):
        ns = self.make_ns()
        pod = Pod(self, ns, unique("ctr-", 12), self.bridge_conf(**bridge_keys), mappings, portmap or {})
        pod.add()
        return pod

    def serve(self, ns: Netns, port: int, name: str) -> None:
        """The echo server of tests/portmap ('<name> <peer>' over TCP and UDP) in `ns`."""
        proc = popen(ns, sys.executable, ECHO_SERVER, name, str(port))
        self.processes.append(proc)
        wait_ready(proc)

    def start(self, ns: Netns, *args: str, stdin: bool = False) -> subprocess.Popen:
        proc = probe(ns, *args, stdin=stdin)
        self.processes.append(proc)
        return proc


@dataclass
class Pod:
    topo: Topology
    ns: Netns
    id: str
    conf: dict
    mappings: list[dict] | None
    portmap_keys: dict
    result: dict | None = None
    portmap_result: dict | None = None

    @property
    def ip(self) -> str:
        return self.result["ips"][0]["address"].split("/")[0]

    def portmap_conf(self, prev: dict) -> dict:
        conf = {"cniVersion": self.conf["cniVersion"], "name": self.conf["name"], "type": "portmap"}
        conf.update(self.portmap_keys)
        conf["runtimeConfig"] = {"portMappings": self.mappings or []}
        conf["prevResult"] = prev
        return conf

    def run(self, plugin: str, command: str, conf: dict):
        return self.topo.runner.run(plugin, command, conf, container_id=self.id, netns=self.ns.path)

    def add(self) -> None:
        self.result = self.run("bridge", "ADD", self.conf).ok().json
        if self.mappings:
            self.portmap_result = self.run("portmap", "ADD", self.portmap_conf(self.result)).ok().json

    def delete(self) -> None:
        """The chain's DEL: portmap first, then bridge (prevResult given, as a runtime does)."""
        final = self.portmap_result or self.result
        if self.mappings:
            self.run("portmap", "DEL", self.portmap_conf(final)).ok()
        self.run("bridge", "DEL", dict(self.conf, prevResult=final)).ok()


@pytest.fixture
def topo(runner, host_ns, netns_factory, tmp_path) -> Topology:
    host_ns.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
    outside_ns = netns_factory()
    host_if = unique("vout", 6)
    host_ns.run(
        "ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", outside_ns.name
    )
    host_ns.run("ip", "addr", "add", f"{HOST_OUT}/24", "dev", host_if)
    host_ns.run("ip", "link", "set", host_if, "up")
    outside_ns.run("ip", "addr", "add", f"{OUTSIDE_IP}/24", "dev", "eth0")
    outside_ns.run("ip", "link", "set", "eth0", "up")
    data_dir = tmp_path / "ipam"
    data_dir.mkdir()
    topology = Topology(host_ns, Outside(outside_ns, host_if, host_ns), runner, netns_factory, str(data_dir))
    try:
        yield topology
    finally:
        for proc in topology.processes:
            proc.kill()
            proc.communicate()
