"""The verbs end to end (our plugin executed as a runtime does, in the test's host netns): results
per spec version beside Go's, errors that name the field and leave the firewall untouched, the
firewalld choice when no firewalld runs, GC/STATUS/VERSION."""

from __future__ import annotations

import pytest

from tests.harness import PluginRunner

from .conftest import NO_BUS, fw_conf, prev_result, tables

pytestmark = pytest.mark.kernel

NETNS = "/run/netns/none"
PREV = prev_result(["10.88.1.2/24", "fd00:88:1::2/64"])


def without_empty_dns(result: dict) -> dict:
    """Go 1.1.1 prints `"dns": {}` in 1.x results; newer Go and we leave the empty object out."""
    if result.get("cniVersion", "").startswith("1.") and result.get("dns") == {}:
        return {k: v for k, v in result.items() if k != "dns"}
    return result


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0"])
def test_prev_result_passes_through_like_go(version, runner, go):
    prev = prev_result(["10.88.1.2/24", "fd00:88:1::2/64"], cni_version=version)
    prev["routes"] = [{"dst": "0.0.0.0/0", "gw": "10.88.1.1"}]
    prev["dns"] = {"nameservers": ["10.88.1.1"]}
    if version == "0.4.0":
        for ip in prev["ips"]:
            ip["version"] = "6" if ":" in ip["address"] else "4"
    conf = fw_conf(prev, cni_version=version)
    mine = runner.run("firewall", "ADD", conf, container_id="a", netns=NETNS).ok().json
    theirs = go.run("firewall", "ADD", conf, container_id="a", netns=NETNS).ok().json
    assert without_empty_dns(mine) == without_empty_dns(theirs)


def test_version_1_1_0_result(runner):
    conf = fw_conf(prev_result(["10.88.1.2/24"], cni_version="1.1.0"), cni_version="1.1.0")
    out = runner.run("firewall", "ADD", conf, container_id="a", netns=NETNS).ok().json
    assert out["cniVersion"] == "1.1.0" and out["ips"] == [{"address": "10.88.1.2/24", "interface": 2}]


def untouched(
    runner: PluginRunner, conf, expect_msg: str, field: str | None = None, command: str = "ADD", env=None
):
    before = tables(runner.host)
    out = runner.run("firewall", command, conf, container_id="a", netns=NETNS, env=env)
    assert out.code != 0, out.stdout
    error = out.json
    assert expect_msg in error["msg"], error
    if field is not None:
        assert field in error["msg"] + error.get("details", ""), error
    assert tables(runner.host) == before, "a failed call must not touch the firewall"
    return error


@pytest.mark.parametrize(
    ("keys", "msg", "field"),
    [
        ({"ingressPolicy": "closed"}, 'unknown ingress policy: "closed"', "ingressPolicy"),
        ({"ingressPolicy": 5}, "failed to load netconf", "ingressPolicy"),
        ({"backend": ["iptables"]}, "failed to load netconf", "backend"),
        ({"iptablesAdminChainName": "bad name"}, "iptablesAdminChainName", "iptablesAdminChainName"),
        ({"iptablesAdminChainName": "A" * 40}, "iptablesAdminChainName", "iptablesAdminChainName"),
        ({"firewalldZone": False}, "failed to load netconf", "firewalldZone"),
    ],
)
def test_bad_keys_fail_before_anything_changes(keys, msg, field, runner):
    untouched(runner, fw_conf(PREV, **keys), msg, field)


def test_missing_prev_result(runner, go):
    conf = fw_conf(None)
    err = untouched(runner, conf, "missing prevResult from earlier plugin")
    assert go.run("firewall", "ADD", conf, container_id="a", netns=NETNS).json["msg"] == err["msg"]
    untouched(runner, conf, "missing prevResult from earlier plugin", command="CHECK")


def test_isolation_without_bridge_interface(runner, go):
    conf = fw_conf({**PREV, "interfaces": []}, ingressPolicy="same-bridge")
    err = untouched(runner, conf, 'interface needs to be set for ingress policy "same-bridge"')
    theirs = go.run("firewall", "ADD", conf, container_id="a", netns=NETNS)
    assert theirs.json["msg"] == err["msg"]  # Go fails the same way (after adding the rules)


def test_bad_prev_result(runner):
    conf = fw_conf({"cniVersion": "1.0.0", "ips": [{"address": "10.1.2.300/24"}]})
    untouched(runner, conf, "could not parse prevResult")


def test_del_with_unknown_policy_removes_then_fails_like_go(runner, go):
    for r in (runner, go):
        r.run("firewall", "ADD", fw_conf(PREV), container_id="a", netns=NETNS).ok()
        out = r.run("firewall", "DEL", fw_conf(PREV, ingressPolicy="closed"), container_id="a", netns=NETNS)
        assert out.code == 1 and out.json["msg"] == 'unknown ingress policy: "closed"'
        assert "10.88.1.2" not in "\n".join(tables(r.host)[4])


def test_podman_empty_backend_uses_iptables_without_firewalld(runner):
    """podman's conflists say `"backend": ""`: without firewalld on the system bus, iptables."""
    conf = fw_conf(PREV, backend="")
    runner.run("firewall", "ADD", conf, container_id="a", netns=NETNS, env=NO_BUS).ok()
    assert "-A CNI-FORWARD -s 10.88.1.2/32 -j ACCEPT" in tables(runner.host)[4]
    runner.run("firewall", "CHECK", conf, container_id="a", netns=NETNS, env=NO_BUS).ok()
    runner.run("firewall", "DEL", conf, container_id="a", netns=NETNS, env=NO_BUS).ok()
    assert "-A CNI-FORWARD -s 10.88.1.2/32 -j ACCEPT" not in tables(runner.host)[4]


def test_firewalld_backend_without_firewalld_fails_clearly(runner):
    conf = fw_conf(PREV, backend="firewalld")
    out = untouched(runner, conf, "dial unix /nonexistent/firewall-test-bus", env=NO_BUS)
    assert out["code"] == 999
    # DEL has nothing to undo when firewalld is gone (its runtime sources went with it)
    runner.run("firewall", "DEL", conf, container_id="a", netns=NETNS, env=NO_BUS).ok()


def test_gc_and_status_do_nothing_as_upstream(runner):
    conf = fw_conf(None, cni_version="1.1.0")
    before = tables(runner.host)
    for verb in ("GC", "STATUS"):
        out = runner.run("firewall", verb, conf)
        assert (out.code, out.stdout) == (0, ""), out.stdout
    assert tables(runner.host) == before


def test_version(runner):
    out = runner.run("firewall", "VERSION", "{}").ok().json
    assert out["supportedVersions"] == ["0.4.0", "1.0.0", "1.1.0"]
    old = runner.run("firewall", "ADD", fw_conf(PREV, cni_version="0.3.1"), container_id="a", netns=NETNS)
    assert old.code == 1 and old.json["msg"] == "incompatible CNI versions"


def test_concurrent_adds_on_a_fresh_host(runner):
    """Eight ADDs at once on a host without our chains: each address gets its rules once and the
    shared chains and jumps exist once (a batch that lost the race to create a chain is rendered
    again on a fresh reading)."""
    from concurrent.futures import ThreadPoolExecutor

    def add(n: int):
        conf = fw_conf(prev_result([f"10.88.1.{n}/24"]), ingressPolicy="same-bridge")
        return runner.run("firewall", "ADD", conf, container_id=f"c{n}", netns=NETNS)

    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(add, range(2, 10)))
    assert all(out.code == 0 for out in outs), [out.stdout for out in outs if out.code]
    saved = tables(runner.host)[4]
    for n in range(2, 10):
        assert saved.count(f"-A CNI-FORWARD -s 10.88.1.{n}/32 -j ACCEPT") == 1
    assert sum("-j CNI-FORWARD" in line for line in saved) == 1
    assert sum("-j CNI-ADMIN" in line for line in saved) == 1
    assert sum("-j CNI-ISOLATION-STAGE-1" in line for line in saved) == 1
    assert sum(line.startswith(":CNI-FORWARD") for line in saved) == 1


def test_add_restores_a_missing_shared_rule(runner):
    """The fast path (every shared rule probed present) falls back to reading the chains when one
    is gone: a later ADD puts the FORWARD jump back, first, as Go does."""
    conf = fw_conf(prev_result(["10.88.1.2/24"]))
    runner.run("firewall", "ADD", conf, container_id="a", netns=NETNS).ok()
    runner.host.run("iptables", "-w", "-A", "FORWARD", "-s", "192.0.2.1/32", "-j", "ACCEPT")
    jump = ["-m", "comment", "--comment", "CNI firewall plugin rules", "-j", "CNI-FORWARD"]
    runner.host.run("iptables", "-w", "-D", "FORWARD", *jump)
    other = fw_conf(prev_result(["10.88.1.3/24"]))
    runner.run("firewall", "ADD", other, container_id="b", netns=NETNS).ok()
    forward = [line for line in tables(runner.host)[4] if line.startswith("-A FORWARD")]
    assert forward == [
        '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
        "-A FORWARD -s 192.0.2.1/32 -j ACCEPT",
    ]
    runner.run("firewall", "CHECK", conf, container_id="a", netns=NETNS).ok()


def test_del_when_a_rule_is_already_gone(runner):
    """The one-batch DEL fails as a whole when a rule is missing; the rules still there go anyway."""
    conf = fw_conf(PREV)
    runner.run("firewall", "ADD", conf, container_id="a", netns=NETNS).ok()
    runner.host.run("iptables", "-w", "-D", "CNI-FORWARD", "-s", "10.88.1.2/32", "-j", "ACCEPT")
    runner.run("firewall", "DEL", conf, container_id="a", netns=NETNS).ok()
    both = "\n".join(tables(runner.host)[4] + tables(runner.host)[6])
    assert "10.88.1.2" not in both and "fd00:88:1::2" not in both
