"""A failing ADD leaves nothing behind: veth, IPAM allocation, spoof-check and masquerade rules."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.bridge.conftest import attach, link_names, nat_rules, netconf, nft_masq_rules
from tests.harness import PluginRunner

pytestmark = pytest.mark.kernel

FAKE_IPAM = """#!/bin/sh
# A scripted IPAM: logs each call, then answers what FAKE_IPAM_ADD says for ADD.
echo "$CNI_COMMAND $CNI_CONTAINERID" >> "$FAKE_IPAM_LOG"
if [ "$CNI_COMMAND" = ADD ]; then
  printf '%s' "$FAKE_IPAM_ADD"
  [ "$FAKE_IPAM_FAIL" = 1 ] && exit 1
fi
exit 0
"""


@pytest.fixture
def fake_ipam(bridge_bin, host_ns, tmp_path):
    """A runner whose CNI_PATH has our bridge and a scripted IPAM named `fake-ipam`."""
    directory = tmp_path / "bin"
    directory.mkdir()
    script = directory / "fake-ipam"
    script.write_text(FAKE_IPAM)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    runner = PluginRunner(bridge_bin, host_ns, extra_path=[str(directory)])
    log = tmp_path / "ipam.log"
    log.write_text("")

    def env(answer: dict, fail: bool = False) -> dict[str, str]:
        return {
            "FAKE_IPAM_LOG": str(log),
            "FAKE_IPAM_ADD": json.dumps(answer),
            "FAKE_IPAM_FAIL": "1" if fail else "0",
        }

    return runner, env, log


def conf(**keys):
    return netconf(ipam={"type": "fake-ipam"}, isGateway=True, macspoofchk=True, **keys)


def assert_nothing_left(host_ns, container_ns, container_id):
    assert link_names(host_ns) <= {"lo", "cni0"}
    assert link_names(container_ns) == {"lo"}
    spoof = host_ns.run("nft", "list", "table", "bridge", "nat", check=False)
    assert container_id not in spoof
    assert nat_rules(host_ns) == [] and nft_masq_rules(host_ns) == []


def test_ipam_error_is_passed_through_and_the_veth_removed(fake_ipam, host_ns, container_ns):
    runner, env, log = fake_ipam
    pod = attach(
        runner, conf(), container_ns, env=env({"code": 11, "msg": "pool busy", "details": "d"}, fail=True)
    )
    assert pod.add.code == 1
    assert pod.add.json["code"] == 11 and pod.add.json["msg"] == "pool busy"
    assert_nothing_left(host_ns, container_ns, pod.container_id)
    assert log.read_text().split() == ["ADD", pod.container_id]  # nothing allocated: no DEL


def test_ipam_result_without_ips_is_released(fake_ipam, host_ns, container_ns):
    runner, env, log = fake_ipam
    pod = attach(runner, conf(), container_ns, env=env({"cniVersion": "1.0.0"}))
    assert pod.add.json["msg"] == "IPAM plugin returned missing IP config"
    assert_nothing_left(host_ns, container_ns, pod.container_id)
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["ADD", "DEL"]


def test_unparsable_ipam_result_is_released(fake_ipam, host_ns, container_ns):
    runner, env, log = fake_ipam
    bad = {"cniVersion": "1.0.0", "ips": [{"address": "10.1.0.300/24"}]}
    pod = attach(runner, conf(), container_ns, env=env(bad))
    assert pod.add.code == 1 and "10.1.0.300/24" in pod.add.json["msg"]
    assert_nothing_left(host_ns, container_ns, pod.container_id)


def test_failure_after_addressing_rolls_back_everything(fake_ipam, host_ns, container_ns):
    runner, env, log = fake_ipam
    # the route's gateway is not reachable from the container: configuring it fails late
    answer = {
        "cniVersion": "1.0.0",
        "ips": [{"address": "10.1.0.5/24", "gateway": "10.1.0.1"}],
        "routes": [{"dst": "10.50.0.0/16", "gw": "192.168.200.1"}],
    }
    pod = attach(runner, conf(ipMasq=True), container_ns, env=env(answer))
    assert pod.add.code == 1 and "failed to add route '10.50.0.0/16 via 192.168.200.1" in pod.add.json["msg"]
    assert_nothing_left(host_ns, container_ns, pod.container_id)
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["ADD", "DEL"]


def test_real_host_local_allocation_is_released(br, host_ns, netns_factory, data_dir, tmp_path):
    host_ns.run("ip", "link", "add", "cni0", "type", "bridge")
    host_ns.run("ip", "addr", "add", "10.77.0.1/24", "dev", "cni0")
    container = netns_factory()
    pod = attach(br, netconf(data_dir=data_dir, isGateway=True, ipMasq=True, macspoofchk=True), container)
    assert "already has an IP address different from 10.1.0.1/24" in pod.add.json["msg"]
    assert_nothing_left(host_ns, container, pod.container_id)
    network_dir = os.path.join(data_dir, "brnet")
    assert [n for n in os.listdir(network_dir) if n[0].isdigit()] == []


def test_masquerade_failure_rolls_back(br, host_ns, container_ns, data_dir):
    # a foreign chain named like the plugin's base chain, with another type: the nft batch fails
    host_ns.run(
        "nft",
        "add table inet cni_plugins_masquerade; "
        "add chain inet cni_plugins_masquerade postrouting { type filter hook forward priority 0 ; }",
    )
    conf = netconf(data_dir=data_dir, isGateway=True, ipMasq=True, ipMasqBackend="nftables", macspoofchk=True)
    pod = attach(br, conf, container_ns)
    assert pod.add.code == 1 and pod.add.json["msg"].startswith("nft failed")
    assert link_names(host_ns) <= {"lo", "cni0"} and link_names(container_ns) == {"lo"}
    assert pod.container_id not in host_ns.run("nft", "list", "ruleset")
    assert [n for n in os.listdir(os.path.join(data_dir, "brnet")) if n[0].isdigit()] == []
    assert "hook forward" in host_ns.run(
        "nft", "list", "chain", "inet", "cni_plugins_masquerade", "postrouting"
    )
