"""Fixtures for the bridge tests: a CNI_PATH holding our bridge and host-local, per-test IPAM
data directories, configs, and readers of the kernel state the plugin leaves behind."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness import GO_PLUGIN_DIR, Netns, PluginRun, PluginRunner, sh, unique

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUR_HOST_LOCAL = os.path.join(ROOT, "ipam", "host_local", "commands.py")
ALL_VERSIONS = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
GO_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0")  # what the installed Go 1.1.1 build compares on


def ours_host_local() -> bool:
    return os.path.isfile(OUR_HOST_LOCAL)


@pytest.fixture(scope="session")
def bridge_bin(cni_bin, tmp_path_factory) -> str:
    """Our launchers; host-local is ours once it exists (else the Go one, marked in the path)."""
    if ours_host_local():
        return cni_bin
    from launcher.shims import write_shims

    directory = str(tmp_path_factory.mktemp("bridge-bin"))
    write_shims(directory, names=["bridge"])
    os.symlink(os.path.join(GO_PLUGIN_DIR, "host-local"), os.path.join(directory, "host-local"))
    return directory


@pytest.fixture
def br(bridge_bin, host_ns) -> PluginRunner:
    """Runs our bridge inside the test's host netns."""
    return PluginRunner(bridge_bin, host_ns)


@pytest.fixture
def data_dir(tmp_path) -> str:
    path = tmp_path / "ipam"
    path.mkdir()
    return str(path)


def netconf(version: str = "1.0.0", *, data_dir: str | None = None, subnets=("10.1.0.0/24",), **keys) -> dict:
    """A bridge config; with `data_dir`, host-local IPAM over `subnets` (one range set each)."""
    conf: dict[str, Any] = {"cniVersion": version, "name": "brnet", "type": "bridge", "bridge": "cni0"}
    if data_dir is not None:
        conf["ipam"] = {
            "type": "host-local",
            "ranges": [[{"subnet": s}] for s in subnets],
            "dataDir": data_dir,
        }
    conf.update(keys)
    return conf


def needs_version(version: str) -> None:
    if version == "1.1.0" and not ours_host_local():
        pytest.skip("cniVersion 1.1.0 needs our host-local (the Go 1.1.1 host-local stops at 1.0.0)")


@dataclass
class Attachment:
    """One container attached by a plugin run: what ADD returned and how to repeat the call."""

    runner: PluginRunner
    conf: dict
    netns: Netns
    container_id: str
    ifname: str
    add: PluginRun

    def call(self, command: str, conf: dict | None = None, **kw) -> PluginRun:
        return self.runner.run(
            "bridge",
            command,
            conf if conf is not None else self.conf_with_prev(),
            container_id=self.container_id,
            netns=kw.pop("netns", self.netns.path),
            ifname=self.ifname,
            **kw,
        )

    def conf_with_prev(self) -> dict:
        if self.add.json is None:
            return dict(self.conf)
        return dict(self.conf, prevResult=self.add.json)

    @property
    def result(self) -> dict:
        return self.add.json


def attach(runner: PluginRunner, conf: dict, netns: Netns, *, ifname: str = "eth0", args: str = "", **kw):
    cid = unique("ctr-")
    run = runner.run(
        "bridge", "ADD", conf, container_id=cid, netns=netns.path, ifname=ifname, args=args, **kw
    )
    return Attachment(runner, conf, netns, cid, ifname, run)


def link_names(ns: Netns) -> set[str]:
    return {link["ifname"] for link in ns.links()}


def nat_rules(ns: Netns, ipv6: bool = False) -> list[str]:
    out = ns.run("ip6tables-save" if ipv6 else "iptables-save", "-t", "nat")
    return [line for line in out.splitlines() if line.startswith(("-A", ":CNI"))]


def nft_masq_rules(ns: Netns) -> list[dict]:
    out = ns.run("nft", "-j", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks", check=False)
    if not out.strip():
        return []
    import json

    return [item["rule"] for item in json.loads(out)["nftables"] if "rule" in item]


def global_addrs(ns: Netns, ifname: str) -> list[str]:
    """Addresses of a link without the IPv6 link-local ones the kernel adds by itself."""
    return [a for a in ns.addrs(ifname) if not a.startswith("fe80:")]


def port_info(ns: Netns, name: str) -> dict:
    link = ns.link(name) or {}
    return link.get("linkinfo", {}).get("info_slave_data", {})


__all__ = ["sh"]
