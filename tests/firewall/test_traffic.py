"""Real TCP connections through the ingress policies: two bridges in the test's host netns, pods
on them, our firewall chained for each pod.

- open: every pod reaches every other.
- same-bridge (both networks): pods on one bridge reach each other; across bridges nothing.
- isolated: not even pods on the same bridge reach each other; across bridges nothing.
"""

from __future__ import annotations

import os

import pytest

from tests.harness import GO_PLUGIN_DIR, PluginRunner

from .conftest import GO_FIREWALL, FwRunner, connects, fw_conf

pytestmark = pytest.mark.kernel

PORT = 8080


def attach(runner: PluginRunner, pod, **keys) -> None:
    conf = fw_conf(pod.prev_result(), **keys)
    runner.run("firewall", "ADD", conf, container_id=pod.id, netns=pod.ns.path).ok()
    runner.run("firewall", "CHECK", conf, container_id=pod.id, netns=pod.ns.path).ok()


def reach(client, server, family: int = 4, tries: int = 3) -> bool:
    """Connected within a few tries (a first SYN may wait for neighbour resolution)."""
    return any(connects(client, server, PORT, family) for _ in range(tries))


@pytest.fixture
def pods(topology, runner):
    make_bridge, add_pod = topology
    br1, br2 = make_bridge(), make_bridge()
    a, b, c = add_pod(br1), add_pod(br1), add_pod(br2)
    for pod in (a, b, c):
        pod.serve(PORT)
    return a, b, c


def bridge_netfilter(host) -> bool:
    return host.run("cat", "/proc/sys/net/bridge/bridge-nf-call-iptables", check=False).strip() == "1"


@pytest.mark.parametrize("family", [4, 6])
def test_open_lets_everything_through(family, pods, runner):
    a, b, c = pods
    for pod in pods:
        attach(runner, pod, ingressPolicy="open")
    assert reach(b, a, family) and reach(c, a, family) and reach(a, c, family)


@pytest.mark.parametrize("family", [4, 6])
def test_same_bridge_blocks_other_bridges_only(family, pods, runner):
    a, b, c = pods
    assert reach(c, a, family), "the topology routes between the bridges before any policy"
    for pod in pods:
        attach(runner, pod, ingressPolicy="same-bridge")
    assert reach(b, a, family), "same bridge is allowed"
    assert not reach(c, a, family, tries=1), "other bridge must be blocked"
    assert not reach(a, c, family, tries=1), "other bridge must be blocked (both directions)"


@pytest.mark.parametrize("family", [4, 6])
def test_isolated_blocks_the_same_bridge_too(family, pods, runner):
    a, b, c = pods
    if not bridge_netfilter(runner.host) and family == 4:
        pytest.skip("bridged traffic does not traverse iptables here (br_netfilter off)")
    path = "/proc/sys/net/bridge/bridge-nf-call-ip6tables"
    if family == 6 and (not os.path.exists(path) or runner.host.run("cat", path).strip() != "1"):
        pytest.skip("bridged IPv6 traffic does not traverse ip6tables here")
    assert reach(b, a, family)
    attach(runner, a, ingressPolicy="isolated")
    attach(runner, b, ingressPolicy="isolated")
    attach(runner, c, ingressPolicy="same-bridge")
    assert not reach(b, a, family, tries=1), "same bridge must be blocked by isolated"
    assert not reach(c, a, family, tries=1), "other bridge must be blocked"


def test_policy_rules_stay_after_del_as_in_go(pods, runner):
    """DEL removes the pod's address rules; the per-bridge isolation rules stay (other pods of
    the bridge may still need them), as upstream does."""
    a, b, c = pods
    for pod in pods:
        attach(runner, pod, ingressPolicy="same-bridge")
    conf = fw_conf(a.prev_result(), ingressPolicy="same-bridge")
    runner.run("firewall", "DEL", conf, container_id=a.id).ok()
    saved = runner.host.run("iptables-save", "-t", "filter")
    assert a.ip4 not in saved and b.ip4 in saved
    assert not reach(c, a, tries=1)


def test_go_same_bridge_blocks_the_same_connections(pods, runner):
    """The reference on the same topology: what ours allows and blocks, Go's does too."""
    if not os.path.isfile(GO_FIREWALL):
        pytest.skip("Go reference firewall not installed")
    go = FwRunner(GO_PLUGIN_DIR, runner.host)
    a, b, c = pods
    for pod in pods:
        attach(go, pod, ingressPolicy="same-bridge")
    assert reach(b, a)
    assert not reach(c, a, tries=1)
    assert not reach(a, c, tries=1)
