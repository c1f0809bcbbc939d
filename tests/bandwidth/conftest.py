"""Fixtures for the bandwidth tests: pods (a container netns whose eth0 is one end of a veth, the
other end in a host netns of its own, addresses on both), configs with a prevResult naming them,
and readers of the kernel's view with `tc -j` and `ip -j`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness import GO_PLUGIN_DIR, Netns, PluginRun, PluginRunner, unique

HOST_VETH = "vethbw0"
NETWORK = "bw-test"


def prev_result(pod: Pod, version: str = "1.0.0") -> dict[str, Any]:
    """What bridge/ptp would have returned for the pod (the shape of the given version)."""
    ip: dict[str, Any] = {"address": f"{pod.container_ip}/24", "interface": 1}
    if version.startswith("0."):
        ip["version"] = "4"
    return {
        "cniVersion": version,
        "interfaces": [
            {"name": HOST_VETH, "mac": pod.host_mac},
            {"name": "eth0", "mac": pod.container_mac, "sandbox": pod.container.path},
        ],
        "ips": [ip],
    }


def bw_conf(pod: Pod | None = None, version: str = "1.0.0", prev: bool = True, **keys: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"cniVersion": version, "name": NETWORK, "type": "bandwidth", **keys}
    if prev and pod is not None:
        conf["prevResult"] = prev_result(pod, version)
    return conf


@dataclass
class Pod:
    host: Netns
    container: Netns
    container_id: str
    host_ip: str
    container_ip: str

    def _mac(self, ns: Netns, name: str) -> str:
        link = ns.link(name)
        return link["address"] if link else ""

    @property
    def host_mac(self) -> str:
        return self._mac(self.host, HOST_VETH)

    @property
    def container_mac(self) -> str:
        return self._mac(self.container, "eth0")

    def run(self, runner_dir: str, command: str, conf: Any, **kw: Any) -> PluginRun:
        kw.setdefault("container_id", self.container_id)
        kw.setdefault("netns", self.container.path)
        kw.setdefault("ifname", "eth0")
        return PluginRunner(runner_dir, self.host).run("bandwidth", command, conf, **kw)

    # --- the kernel's view, read with independent tools -------------------------------------
    def qdiscs(self) -> list[dict]:
        return self.host.json("tc", "-j", "-d", "qdisc", "show")

    def filters(self, dev: str = HOST_VETH) -> list[dict]:
        if self.host.link(dev) is None:
            return []
        return self.host.json("tc", "-j", "filter", "show", "dev", dev, "ingress")

    def ifbs(self) -> list[dict]:
        return [link for link in self.host.links() if link.get("linkinfo", {}).get("info_kind") == "ifb"]

    def state(self) -> dict[str, Any]:
        """Qdiscs, filters and ifb devices of the host netns, without what differs by chance
        (MAC addresses, interface indexes, packet counters)."""
        ifbs = [
            {k: link.get(k) for k in ("ifname", "mtu", "flags", "txqlen", "operstate", "num_tx_queues")}
            for link in self.ifbs()
        ]
        qdiscs = [{k: v for k, v in q.items() if k not in ("refcnt",)} for q in self.qdiscs()]
        return {"qdiscs": qdiscs, "filters": self.filters(), "ifbs": ifbs}


def make_pod(tag: str = "") -> Pod:
    host = Netns.create("cnibh-")
    try:
        container = Netns.create("cnibc-")
    except BaseException:
        host.delete()
        raise
    host.run("ip", "link", "add", HOST_VETH, "type", "veth", "peer", "name", "eth0", "netns", container.path)
    host.run("ip", "addr", "add", "10.77.0.1/24", "dev", HOST_VETH)
    host.run("ip", "link", "set", HOST_VETH, "up")
    container.run("ip", "addr", "add", "10.77.0.2/24", "dev", "eth0")
    container.run("ip", "link", "set", "eth0", "up")
    return Pod(host, container, "ctr-" + (tag or unique("", 12)), "10.77.0.1", "10.77.0.2")


def drop_pod(pod: Pod) -> None:
    pod.container.delete()
    pod.host.delete()


@pytest.fixture
def pod_factory():
    made: list[Pod] = []

    def make(tag: str = "") -> Pod:
        pod = make_pod(tag)
        made.append(pod)
        return pod

    try:
        yield make
    finally:
        for pod in made:
            drop_pod(pod)


@pytest.fixture
def pod(pod_factory) -> Pod:
    return pod_factory()


@pytest.fixture
def go_dir() -> str:
    if not os.path.isfile(os.path.join(GO_PLUGIN_DIR, "bandwidth")):
        pytest.skip(f"Go's bandwidth plugin is not installed in {GO_PLUGIN_DIR}")
    return GO_PLUGIN_DIR


def without_empty_dns(result: Any) -> Any:
    """Go 1.1.1 prints `"dns": {}` in every result; current libcni (and we) leave it out."""
    if isinstance(result, dict) and result.get("dns") == {}:
        return {k: v for k, v in result.items() if k != "dns"}
    return result


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
