"""Item 5 (plugins#282): with `removeEmptyBridge` DEL removes the bridge when its last port goes
away; off by default; never a bridge the plugin did not make, nor one holding addresses or ports
it did not make."""

from __future__ import annotations

import os

import pytest

from .conftest import OUTSIDE_IP, probe_once, wait_ready

pytestmark = pytest.mark.kernel

STATE = "/var/lib/cni/bridge"


def reaches_outside(topo, pod) -> bool:
    gateway_mac = topo.host.link(topo.bridge)["address"]
    return probe_once(pod.ns, "syn", "eth0", gateway_mac, pod.ip, OUTSIDE_IP, "9000") == "synack"


@pytest.fixture
def server(topo):
    proc = topo.start(topo.outside.ns, "tcpserver", "9000")
    wait_ready(proc)
    return proc


def test_off_by_default(topo):
    pod = topo.attach()
    pod.delete()
    assert topo.host.link(topo.bridge) is not None  # Go's behaviour: the bridge stays


def test_last_port_takes_the_bridge_with_it(topo, server):
    a, b = topo.attach(removeEmptyBridge=True), topo.attach(removeEmptyBridge=True)
    assert os.path.exists(os.path.join(STATE, topo.bridge))
    a.delete()
    assert topo.host.link(topo.bridge) is not None
    assert reaches_outside(topo, b)  # the remaining container keeps working
    b.delete()
    assert topo.host.link(topo.bridge) is None
    assert not os.path.exists(os.path.join(STATE, topo.bridge))
    # A new ADD makes it again, and works.
    c = topo.attach(removeEmptyBridge=True)
    assert reaches_outside(topo, c)
    c.delete()
    assert topo.host.link(topo.bridge) is None


def test_a_bridge_made_by_someone_else_stays(topo):
    topo.host.run("ip", "link", "add", topo.bridge, "type", "bridge")
    pod = topo.attach(removeEmptyBridge=True)
    pod.delete()
    assert topo.host.link(topo.bridge) is not None
    assert not os.path.exists(os.path.join(STATE, topo.bridge))


def test_an_address_it_did_not_make_keeps_the_bridge(topo):
    pod = topo.attach(removeEmptyBridge=True)
    topo.host.run("ip", "addr", "add", "192.0.2.1/24", "dev", topo.bridge)
    pod.delete()
    assert topo.host.link(topo.bridge) is not None
    topo.host.run("ip", "addr", "del", "192.0.2.1/24", "dev", topo.bridge)
    topo.attach(removeEmptyBridge=True).delete()  # nothing foreign left: now it goes
    assert topo.host.link(topo.bridge) is None


def test_a_port_it_did_not_make_keeps_the_bridge(topo):
    pod = topo.attach(removeEmptyBridge=True)
    topo.host.run("ip", "link", "add", "fport0", "type", "veth", "peer", "name", "fport1")
    topo.host.run("ip", "link", "set", "fport0", "master", topo.bridge)
    pod.delete()
    assert topo.host.link(topo.bridge) is not None
    topo.host.run("ip", "link", "del", "fport0")
    topo.attach(removeEmptyBridge=True).delete()
    assert topo.host.link(topo.bridge) is None


def test_a_failed_add_leaves_no_bridge_it_made(topo):
    conf = topo.bridge_conf(removeEmptyBridge=True)
    run = topo.runner.run("bridge", "ADD", conf, container_id="ctr-fail", netns="/run/netns/does-not-exist")
    assert run.code != 0
    assert topo.host.link(topo.bridge) is None
