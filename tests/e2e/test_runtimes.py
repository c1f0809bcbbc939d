"""Real runtimes invoke the plugins: containerd (`ctr run --cni`) and podman (CNI backend).

Each runtime starts a busybox web server container on a bridge(+host-local)+tuning+portmap
network, the container is looked at from inside and from the fake host, then removed through
the runtime and looked at again. Every test below asserts on one aspect of that life.
"""

from __future__ import annotations

import ipaddress
import os

import pytest

from pkg.hashing import format_chain_name
from tests.e2e import hoststate
from tests.e2e.conftest import COMMAND_MODULES
from tests.e2e.image import WEB_PAGE
from tests.e2e.netconf import TUNED_SYSCTL, TUNED_VALUE

PLUGIN_PATHS = ["/opt/cni/bin", "/usr/lib/cni"]

# Go 1.1.1's bridge skips the ipMasq teardown when CNI_NETNS is empty, and ctr's DEL (after the
# task died) passes an empty netns: containernetworking/plugins#810. Ours must not leak.
REFERENCE_CTR_GAP = (
    "Go bridge 1.1.1 leaks ipMasq rules on DEL without CNI_NETNS (plugins#810), as ctr sends it"
)


def known_reference_gap(lifecycle, plugins, ok: bool) -> None:
    if not ok and plugins.reference and lifecycle.running.runtime == "containerd":
        pytest.xfail(REFERENCE_CTR_GAP)


# --- the run's plumbing --------------------------------------------------------------------


def test_only_the_plugins_under_test_are_visible(plugins):
    """Both places a runtime may search hold exactly the plugin directory under test."""
    expected = sorted(os.listdir(plugins.directory))
    for name in COMMAND_MODULES:
        assert name in expected, f"{name} missing from the plugin directory {plugins.source}"
    for path in PLUGIN_PATHS:
        assert sorted(os.listdir(path)) == expected, path
        for name in expected:
            assert os.path.samefile(os.path.join(path, name), os.path.join(plugins.directory, name))


def test_podman_uses_the_cni_backend(podman):
    assert podman.network_backend() == "cni"


# --- while the container runs --------------------------------------------------------------


def test_eth0_has_an_address_from_the_subnet(lifecycle):
    running = lifecycle.running
    assert len(running.inside.eth0) == 1, running.inside.raw
    address = ipaddress.ip_interface(running.inside.eth0[0])
    assert running.network.contains(str(address.ip))
    assert address.network.prefixlen == running.network.prefixlen
    assert str(address.ip) != running.network.gateway


def test_default_route_via_the_gateway(lifecycle):
    assert f"default via {lifecycle.running.network.gateway} dev eth0" in lifecycle.running.inside.routes


def test_container_reaches_its_gateway(lifecycle):
    ping = lifecycle.running.inside.ping
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert f"bytes from {lifecycle.running.network.gateway}:" in ping.stdout


def test_tuning_sysctl_is_set_inside_the_container_only(lifecycle):
    assert lifecycle.running.inside.tuned_sysctl == TUNED_VALUE
    assert lifecycle.running.host_tuned_sysctl != TUNED_VALUE, f"{TUNED_SYSCTL} leaked into the host netns"


def test_host_side_veth_is_on_the_bridge_with_the_gateway(lifecycle):
    running = lifecycle.running
    assert len(running.bridge_ports) == 1, running.bridge_ports
    assert f"{running.network.gateway}/{running.network.prefixlen}" in running.bridge_addrs


def test_host_local_reserved_the_ip_for_the_container(lifecycle):
    running = lifecycle.running
    assert list(running.ipam) == [running.ip]
    assert running.ipam[running.ip].startswith(running.cni_container_id)


def test_masquerade_rules_exist_while_running(lifecycle):
    assert hoststate.masquerade_rules(lifecycle.running.rules, lifecycle.running.ip)


def test_firewall_rules_come_from_the_configured_backend(lifecycle):
    running = lifecycle.running
    masq_chain = format_chain_name(running.network.name, running.cni_container_id)
    dn_chain = format_chain_name(running.network.name, running.cni_container_id, prefix="DN-")
    with_ports = running.runtime == "podman"
    if running.firewall == "nftables":
        assert "table inet cni_plugins_masquerade" in running.rules
        assert masq_chain not in running.nat_chains
        if with_ports:
            assert "table ip cni_hostport" in running.rules
            assert dn_chain not in running.nat_chains
    else:
        assert masq_chain in running.nat_chains
        if with_ports:
            assert dn_chain in running.nat_chains


def test_web_server_in_the_container_answers_the_host(lifecycle):
    answers = lifecycle.running.http
    assert answers
    for target, answer in answers.items():
        assert (answer.status, answer.body, answer.error) == (200, WEB_PAGE, ""), target


def test_host_port_is_forwarded_to_the_container(lifecycle):
    running = lifecycle.running
    if running.runtime == "containerd":
        pytest.skip("ctr run --cni passes no port mappings (no -p); podman covers portmap")
    assert hoststate.dnat_rules(running.rules, running.ip, 80)
    hostport = [label for label in running.http if label.startswith("hostPort")]
    assert len(hostport) == 2


# --- after the runtime removed the container -----------------------------------------------


def test_runtime_removed_the_container_cleanly(lifecycle):
    how = lifecycle.removed.how
    assert how is not None
    if lifecycle.running.runtime == "podman":
        assert how.returncode == 0, how.stderr
    else:
        # ctr run exits with the task's status (SIGKILL); a failed CNI DEL is logged as "network review"
        assert how.returncode == 137, how.stderr
    assert "error" not in how.stderr.lower(), how.stderr


def test_veth_is_gone(lifecycle):
    assert lifecycle.removed.bridge_ports == []
    assert not set(lifecycle.running.bridge_ports) & lifecycle.removed.host_links


def test_ip_is_released(lifecycle):
    assert lifecycle.running.ip not in lifecycle.removed.ipam
    assert lifecycle.removed.ipam == {}


def test_no_port_forwarding_rule_is_left(lifecycle):
    running, removed = lifecycle.running, lifecycle.removed
    assert hoststate.dnat_rules(removed.rules, running.ip, 80) == []
    dn_chain = format_chain_name(running.network.name, running.cni_container_id, prefix="DN-")
    assert dn_chain not in removed.nat_chains


def test_masquerade_rules_are_gone(lifecycle, plugins):
    running, removed = lifecycle.running, lifecycle.removed
    left = hoststate.masquerade_rules(removed.rules, running.ip)
    masq_chain = format_chain_name(running.network.name, running.cni_container_id)
    known_reference_gap(lifecycle, plugins, not left and masq_chain not in removed.nat_chains)
    assert left == []
    assert masq_chain not in removed.nat_chains


def test_no_rule_mentions_the_container(lifecycle, plugins):
    running = lifecycle.running
    left = hoststate.rules_mentioning(lifecycle.removed.rules, running.ip, running.cni_container_id)
    known_reference_gap(lifecycle, plugins, not left)
    assert left == []


def test_cni_result_cache_is_cleared(lifecycle):
    assert lifecycle.removed.cached_results == []
