"""The firewalld backend against a real firewalld (confined: a private bus and the daemon in the
test's own host netns, see firewalld_env.py), beside Go's firewall on the same daemon: the
addresses become sources of the zone, DEL takes them out, CHECK asks firewalld; `backend: ""`
picks firewalld when it runs; ingress policies still go to iptables."""

from __future__ import annotations

import os

import pytest

from tests.harness import GO_PLUGIN_DIR, Netns, PluginRunner

from .conftest import GO_FIREWALL, fw_conf, prev_result, tables
from .firewalld_env import Firewalld, unavailable

pytestmark = pytest.mark.kernel

NETNS = "/run/netns/none"
IPS = ["10.88.1.2/24", "fd00:88:1::2/64"]
SOURCES = ["10.88.1.2/32", "fd00:88:1::2/128"]


@pytest.fixture(scope="module")
def firewalld():
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns.create("cnifwd-")
    daemon = Firewalld(ns)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
        ns.delete()


@pytest.fixture
def ours(cni_bin, firewalld) -> PluginRunner:
    return PluginRunner(cni_bin, firewalld.ns)


@pytest.fixture
def go_fw(firewalld) -> PluginRunner:
    if not os.path.isfile(GO_FIREWALL):
        pytest.skip("Go reference firewall not installed")
    return PluginRunner(GO_PLUGIN_DIR, firewalld.ns)


def call(runner: PluginRunner, daemon: Firewalld, verb: str, conf: dict, cid: str = "a"):
    return runner.run("firewall", verb, conf, container_id=cid, netns=NETNS, env=daemon.env)


@pytest.mark.parametrize("backend", ["firewalld", ""])
def test_add_check_del(backend, ours, firewalld):
    conf = fw_conf(prev_result(IPS), backend=backend)
    out = call(ours, firewalld, "ADD", conf).ok().json
    assert [ip["address"] for ip in out["ips"]] == IPS
    assert [firewalld.zone_of(s) for s in SOURCES] == ["trusted", "trusted"]
    assert not any("CNI-FORWARD" in line for line in tables(ours.host)[4]), "no iptables rules"
    call(ours, firewalld, "ADD", conf).ok()  # ZONE_ALREADY_SET is fine
    call(ours, firewalld, "CHECK", conf).ok()
    call(ours, firewalld, "DEL", conf).ok()
    assert [firewalld.zone_of(s) for s in SOURCES] == ["", ""]
    call(ours, firewalld, "DEL", conf).ok()  # idempotent
    check = call(ours, firewalld, "CHECK", conf)
    assert check.code == 1 and check.json["msg"] == "failed to find the address 10.88.1.2/32 in trusted zone"


def test_zone_key(ours, firewalld):
    conf = fw_conf(prev_result(IPS[:1]), backend="firewalld", firewalldZone="internal")
    call(ours, firewalld, "ADD", conf).ok()
    try:
        assert firewalld.zone_of(SOURCES[0]) == "internal"
        call(ours, firewalld, "CHECK", conf).ok()
    finally:
        call(ours, firewalld, "DEL", conf).ok()
    assert firewalld.zone_of(SOURCES[0]) == ""


def test_unknown_zone_names_it(ours, firewalld):
    conf = fw_conf(prev_result(IPS[:1]), backend="firewalld", firewalldZone="nosuchzone")
    out = call(ours, firewalld, "ADD", conf)
    assert out.code == 1 and out.json["code"] == 999
    assert out.json["msg"].startswith("failed to add the address 10.88.1.2/32 to nosuchzone zone: ")
    assert "INVALID_ZONE" in out.json["msg"]


def test_same_bridge_uses_iptables_beside_firewalld(ours, firewalld):
    conf = fw_conf(prev_result(IPS[:1], bridge="cni9"), backend="firewalld", ingressPolicy="same-bridge")
    call(ours, firewalld, "ADD", conf).ok()
    try:
        assert firewalld.zone_of(SOURCES[0]) == "trusted"
        saved = tables(ours.host)[4]
        assert any("-i cni9 ! -o cni9" in line for line in saved)
        assert not any("CNI-FORWARD" in line for line in saved)
    finally:
        call(ours, firewalld, "DEL", conf).ok()


@pytest.mark.parametrize("first", ["go", "ours"])
def test_each_deletes_what_the_other_added(first, ours, go_fw, firewalld):
    conf = fw_conf(prev_result(IPS), backend="firewalld")
    adder, other = (go_fw, ours) if first == "go" else (ours, go_fw)
    call(adder, firewalld, "ADD", conf).ok()
    assert [firewalld.zone_of(s) for s in SOURCES] == ["trusted", "trusted"]
    call(other, firewalld, "CHECK", conf).ok()
    call(other, firewalld, "DEL", conf).ok()
    assert [firewalld.zone_of(s) for s in SOURCES] == ["", ""]


def test_go_and_ours_agree_on_the_empty_backend(ours, go_fw, firewalld):
    """Both pick firewalld for `backend: ""` when it runs (no iptables rules from either)."""
    conf = fw_conf(prev_result(IPS[:1]), backend="")
    for runner in (go_fw, ours):
        call(runner, firewalld, "ADD", conf).ok()
        assert firewalld.zone_of(SOURCES[0]) == "trusted"
        assert not any("CNI-FORWARD" in line for line in tables(runner.host)[4])
        call(runner, firewalld, "DEL", conf).ok()
        assert firewalld.zone_of(SOURCES[0]) == ""
