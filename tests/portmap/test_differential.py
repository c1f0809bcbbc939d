"""Differential tests against Go's portmap (Debian 1.1.1 in /usr/lib/cni, iptables backend only).

The same sequence of calls runs against our plugin in one host netns and Go's in another; the
nat tables (iptables-save and ip6tables-save, counters dropped) must be identical after every
step. Cross-cleanup: each implementation's DEL removes what the other one's ADD made.
"""

from __future__ import annotations

import os

import pytest

from tests.harness import GO_PLUGIN_DIR, Netns, PluginRunner

from .conftest import iptables_nat, portmap_conf, tcp, udp

pytestmark = pytest.mark.kernel

GO_PORTMAP = os.path.join(GO_PLUGIN_DIR, "portmap")


@pytest.fixture
def go_host():
    if not os.path.isfile(GO_PORTMAP):
        pytest.skip(f"Go reference portmap not installed in {GO_PLUGIN_DIR}")
    ns = Netns.create("cnig-")
    try:
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def pair(cni_bin, host_ns, go_host, containers):
    """(ours, go, container): runners in two host netns, and a container wired to ours."""
    return PluginRunner(cni_bin, host_ns), PluginRunner(GO_PLUGIN_DIR, go_host), containers()


def same_steps(ours: PluginRunner, go: PluginRunner, steps) -> None:
    for command, conf, container_id, netns in steps:
        mine = ours.run("portmap", command, conf, container_id=container_id, netns=netns)
        theirs = go.run("portmap", command, conf, container_id=container_id, netns=netns)
        assert (mine.code, theirs.code) == (0, 0), f"{command}: ours {mine.stdout} / go {theirs.stdout}"
        assert iptables_nat(ours.host) == iptables_nat(go.host), f"after {command} {container_id}"


MANY_PORTS = [tcp(9000 + i, 80) for i in range(17)]  # multiport takes 15: two entry rules
HOST_IPS = [
    tcp(8080, 80, hostIP="10.88.1.1"),
    tcp(8081, 81, hostIP="0.0.0.0"),
    tcp(8082, 82, hostIP="fd00:88:1::1"),
    tcp(8083, 83, hostIP="::"),
]

SCENARIOS = {
    "ports, protocols, host IPs": ([*HOST_IPS, udp(8053, 53), udp(8054, 54), tcp(8090, 80), *MANY_PORTS], {}),
    "snat off": ([tcp(8080, 80), udp(8053, 53)], {"snat": False}),
    "mark bit 5": ([tcp(8080, 80)], {"markMasqBit": 5}),
    "conditions": (
        [tcp(8080, 80), udp(8080, 81)],
        {"conditionsV4": ["-s", "192.0.2.0/24", "!", "-i", "lo"], "conditionsV6": ["-s", "2001:db8::/32"]},
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_same_rules_as_go(scenario, pair):
    ours, go, a = pair
    mappings, extra = SCENARIOS[scenario]
    conf = portmap_conf(a, mappings, **extra)
    other = portmap_conf(a, [tcp(7070, 70)], **extra)
    same_steps(
        ours,
        go,
        [
            ("ADD", conf, a.id, a.ns.path),
            ("ADD", other, "second-container", a.ns.path),
            ("ADD", conf, a.id, a.ns.path),  # a repeated ADD changes nothing
            ("DEL", conf, a.id, a.ns.path),
            ("DEL", conf, a.id, a.ns.path),
            ("DEL", other, "second-container", a.ns.path),
        ],
    )


def test_same_rules_with_external_mark_chain(pair):
    ours, go, a = pair
    for runner in (ours, go):
        for tool in ("iptables", "ip6tables"):
            runner.host.run(tool, "-t", "nat", "-N", "PLZ-SET-MARK")
    conf = portmap_conf(a, [tcp(8080, 80)], externalSetMarkChain="PLZ-SET-MARK")
    same_steps(ours, go, [("ADD", conf, a.id, a.ns.path), ("DEL", conf, a.id, a.ns.path)])


@pytest.mark.parametrize("adder", ["ours", "go"])
def test_each_cleans_up_after_the_other(adder, pair):
    ours, go, a = pair
    conf = portmap_conf(a, [tcp(8080, 80), udp(8053, 53)])
    first, second = (ours, go) if adder == "ours" else (go, ours)
    before = iptables_nat(first.host)
    keep = portmap_conf(a, [tcp(7070, 70)])
    first.run("portmap", "ADD", keep, container_id="stays", netns=a.ns.path).ok()
    with_keep = iptables_nat(first.host)
    first.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    assert iptables_nat(first.host) != with_keep
    # The other implementation's binary, run in the same host netns.
    other = PluginRunner(second.bin_dir, first.host)
    other.run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path).ok()
    assert iptables_nat(first.host) == with_keep
    other.run("portmap", "DEL", keep, container_id="stays", netns=a.ns.path).ok()
    assert "CNI-DN-" not in iptables_nat(first.host) and before != with_keep
