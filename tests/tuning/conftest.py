"""Fixtures for the tuning tests: a container netns holding a veth named eth0, configs with a fake
prevResult naming it, and the allow-list file (on the private /etc/cni tmpfs of tests/isolated)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness import Netns, PluginRun, PluginRunner, unique

ALLOWLIST_DIR = "/etc/cni/tuning"
ALLOWLIST_FILE = os.path.join(ALLOWLIST_DIR, "allowlist.conf")
DATA_DIR = "/run/cni/tuning"


def prev_result(netns_path: str, version: str = "1.0.0", ifname: str = "eth0") -> dict[str, Any]:
    """What an interface plugin would have returned (shape of the given version)."""
    if version in ("0.1.0", "0.2.0"):
        return {"cniVersion": version, "ip4": {"ip": "10.9.0.2/24", "gateway": "10.9.0.1"}, "dns": {}}
    ip: dict[str, Any] = {"address": "10.9.0.2/24", "gateway": "10.9.0.1", "interface": 1}
    if version.startswith("0."):
        ip["version"] = "4"
    return {
        "cniVersion": version,
        "interfaces": [
            {"name": "veth-host", "mac": "aa:bb:cc:00:00:01"},
            {"name": ifname, "mac": "aa:bb:cc:00:00:02", "sandbox": netns_path},
        ],
        "ips": [ip],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.9.0.1"}],
        "dns": {"nameservers": ["10.9.0.53"]},
    }


def tuning_conf(netns_path: str, version: str = "1.0.0", prev: bool = True, **keys: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"cniVersion": version, "name": "tuning-test", "type": "tuning"}
    conf.update(keys)
    if prev:
        conf["prevResult"] = prev_result(netns_path, version)
    return conf


@dataclass
class LinkView:
    mac: str
    mtu: int
    promisc: bool
    allmulti: bool
    txqlen: int


@dataclass
class Pod:
    """A container netns with eth0 (one end of a veth) and a unique container ID."""

    ns: Netns
    container_id: str
    ifname: str = "eth0"

    @property
    def path(self) -> str:
        return self.ns.path

    @property
    def backup_file(self) -> str:
        return os.path.join(DATA_DIR, f"{self.container_id}_{self.ifname}.json")

    def link(self) -> LinkView:
        data = self.ns.link(self.ifname)
        assert data is not None, f"{self.ifname} missing in {self.ns.name}"
        return LinkView(
            mac=data["address"],
            mtu=data["mtu"],
            promisc=data.get("promiscuity", 0) > 0,
            allmulti="ALLMULTI" in data["flags"],
            txqlen=data["txqlen"],
        )

    def sysctl(self, name: str) -> str:
        return self.ns.sysctl(name)

    def conf(self, version: str = "1.0.0", prev: bool = True, **keys: Any) -> dict[str, Any]:
        return tuning_conf(self.path, version, prev, **keys)

    def run(self, runner: PluginRunner, command: str, conf: Any, **kw: Any) -> PluginRun:
        kw.setdefault("container_id", self.container_id)
        kw.setdefault("netns", self.path)
        kw.setdefault("ifname", self.ifname)
        return runner.run("tuning", command, conf, **kw)


def make_pod(ns: Netns, ifname: str = "eth0") -> Pod:
    ns.run("ip", "link", "add", ifname, "type", "veth", "peer", "name", "peer0")
    return Pod(ns, unique("ctr-"), ifname)


@pytest.fixture
def pod(container_ns) -> Pod:
    return make_pod(container_ns)


@pytest.fixture
def pod_factory(netns_factory):
    def make(ifname: str = "eth0") -> Pod:
        return make_pod(netns_factory(), ifname)

    return make


@pytest.fixture
def allowlist():
    """Write the allow-list file; removed (with its directory) afterwards."""

    def write(*patterns: str) -> None:
        os.makedirs(ALLOWLIST_DIR, exist_ok=True)
        with open(ALLOWLIST_FILE, "w") as f:
            f.write("\n".join(patterns) + "\n")

    try:
        yield write
    finally:
        shutil.rmtree(ALLOWLIST_DIR, ignore_errors=True)


def load_backup(pod: Pod) -> dict[str, Any]:
    with open(pod.backup_file) as f:
        return json.load(f)
