"""Differential tests against Go's firewall (Debian 1.1.1 in /usr/lib/cni, iptables backend).

The same calls run against our plugin in one host netns and Go's in another; the filter tables
(iptables-save and ip6tables-save, counters dropped) must be identical after every step. Go 1.1.1
predates upstream's comment change for the shared isolation rules ("ingressPolicy:
same-bridge|isolated" since the isolated policy came), so that one comment is mapped back before
comparing; the isolated policy, which 1.1.1 lacks, is compared with upstream's rule list.
Cross-cleanup: each implementation's DEL removes what the other's ADD made.
"""

from __future__ import annotations

import os
import re

import pytest

from .conftest import FwRunner, fw_conf, prev_result, tables

pytestmark = pytest.mark.kernel

UPSTREAM_DEFAULT = "ingressPolicy: same-bridge|isolated"
V111_DEFAULT = "ingressPolicy: same-bridge"

FAMILIES = {
    "v4": (["10.88.1.2/24"], ["10.88.1.3/24"]),
    "v6": (["fd00:88:1::2/64"], ["fd00:88:1::3/64"]),
    "dual": (["10.88.1.2/24", "fd00:88:1::2/64"], ["10.88.1.3/24", "fd00:88:1::3/64"]),
    "v4-mapped": (["::ffff:10.88.1.2/120"], ["::ffff:10.88.1.3/120"]),  # Go's To4: IPv4 rules
}
POLICIES = {
    "absent": {},
    "open": {"ingressPolicy": "open"},
    "same-bridge": {"ingressPolicy": "same-bridge"},
    "admin chain": {"iptablesAdminChainName": "MY-ADMIN"},
    "backend iptables": {"backend": "iptables", "ingressPolicy": "same-bridge"},
    "backend empty (podman)": {"backend": ""},
}


def as_v111(table: dict[int, list[str]]) -> dict[int, list[str]]:
    return {f: [line.replace(UPSTREAM_DEFAULT, V111_DEFAULT) for line in lines] for f, lines in table.items()}


@pytest.fixture
def ours(cni_bin, host_ns) -> FwRunner:
    return FwRunner(cni_bin, host_ns)


def both(ours: FwRunner, go: FwRunner, command: str, conf: dict, cid: str, result: bool = True) -> None:
    mine = ours.run("firewall", command, conf, container_id=cid, netns="/run/netns/none")
    theirs = go.run("firewall", command, conf, container_id=cid, netns="/run/netns/none")
    assert (mine.code, theirs.code) == (0, 0), f"{command}: ours {mine.stdout} / go {theirs.stdout}"
    if command == "ADD" and result:
        assert mine.json["ips"] == theirs.json["ips"] and mine.json["interfaces"] == theirs.json["interfaces"]
    assert as_v111(tables(ours.host)) == tables(go.host), f"after {command} {cid}"


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("policy", list(POLICIES))
def test_same_rules_as_go(policy, family, ours, go):
    first, second = FAMILIES[family]
    keys = POLICIES[policy]
    a = fw_conf(prev_result(first), **keys)
    b = fw_conf(prev_result(second, bridge="cni1"), **keys)
    for command, conf, cid in [
        ("ADD", a, "a"),
        ("ADD", b, "b"),
        ("ADD", a, "a"),  # a repeated ADD changes nothing
        ("CHECK", a, "a"),
        ("DEL", a, "a"),
        ("DEL", a, "a"),  # DEL twice
        ("DEL", fw_conf(None, **keys), "a"),  # DEL without prevResult
        ("DEL", b, "b"),
    ]:
        # a v4-mapped address prints as ::ffff:a58:102/120 from our result layer, 10.88.1.2/24 from
        # Go's (a result-printing difference outside this plugin); the rules are what is compared
        both(ours, go, command, conf, cid, result=family != "v4-mapped")


def upstream_isolation(bridge: str, policy: str) -> list[str]:
    """Upstream's setupIsolationChains rules (plugins/meta/firewall/ingresspolicy.go)."""
    rule = f'-m comment --comment "CNI firewall plugin rules (ingressPolicy: {policy})"'
    default = f'-m comment --comment "CNI firewall plugin rules ({UPSTREAM_DEFAULT})"'
    lines = [
        f"-A FORWARD {default} -j CNI-ISOLATION-STAGE-1",
        f"-A CNI-ISOLATION-STAGE-1 -i {bridge} ! -o {bridge} {rule} -j CNI-ISOLATION-STAGE-2",
        f"-A CNI-ISOLATION-STAGE-1 {default} -j RETURN",
        f"-A CNI-ISOLATION-STAGE-2 -o {bridge} {default} -j DROP",
        f"-A CNI-ISOLATION-STAGE-2 {default} -j RETURN",
    ]
    if policy == "isolated":
        lines.insert(1, f"-A CNI-ISOLATION-STAGE-1 -i {bridge} -o {bridge} {rule} -j DROP")
    return lines


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_isolated_policy_as_upstream(family, ours):
    ips = FAMILIES[family][0]
    conf = fw_conf(prev_result(ips), ingressPolicy="isolated")
    ours.run("firewall", "ADD", conf, container_id="a", netns="/run/netns/none").ok()
    ours.run("firewall", "ADD", conf, container_id="a", netns="/run/netns/none").ok()
    f = 4 if family == "v4" else 6
    other = 6 if f == 4 else 4
    table = tables(ours.host)
    isolation = [line for line in table[f] if "ISOLATION" in line and line.startswith("-A")]
    assert isolation == upstream_isolation("cni0", "isolated")
    assert not any("ISOLATION" in line or "CNI-FORWARD" in line for line in table[other])
    ours.run("firewall", "DEL", conf, container_id="a", netns="/run/netns/none").ok()
    after = tables(ours.host)[f]
    assert not any(ips[0].split("/")[0] in line for line in after)
    assert [line for line in after if "ISOLATION" in line and line.startswith("-A")] == isolation


def test_same_bridge_as_upstream(ours):
    conf = fw_conf(prev_result(["10.88.1.2/24"]), ingressPolicy="same-bridge")
    ours.run("firewall", "ADD", conf, container_id="a", netns="/run/netns/none").ok()
    isolation = [line for line in tables(ours.host)[4] if "ISOLATION" in line and line.startswith("-A")]
    assert isolation == upstream_isolation("cni0", "same-bridge")


@pytest.mark.parametrize("keys", [{}, {"iptablesAdminChainName": "MY-ADMIN"}], ids=["default", "admin"])
@pytest.mark.parametrize("first", ["go", "ours"])
def test_each_deletes_what_the_other_added(first, keys, ours, go, cni_bin):
    """In one host netns: one implementation ADDs, the other CHECKs and DELs; the end state is
    the one the first implementation's own DEL leaves."""
    conf = fw_conf(prev_result(["10.88.1.2/24", "fd00:88:1::2/64"]), **keys)
    reference = ours if first == "ours" else go
    # the reference end state: the first implementation alone, in its own host netns
    reference.run("firewall", "ADD", conf, container_id="a", netns="/run/netns/none").ok()
    reference.run("firewall", "DEL", conf, container_id="a", netns="/run/netns/none").ok()
    expected = tables(reference.host)
    other_host = go.host if first == "ours" else ours.host
    adder = FwRunner(reference.bin_dir, other_host)
    deleter = FwRunner(cni_bin if first == "go" else go.bin_dir, other_host)
    adder.run("firewall", "ADD", conf, container_id="a", netns="/run/netns/none").ok()
    deleter.run("firewall", "CHECK", conf, container_id="a", netns="/run/netns/none").ok()
    deleter.run("firewall", "DEL", conf, container_id="a", netns="/run/netns/none").ok()
    assert tables(other_host) == expected
    check = deleter.run("firewall", "CHECK", conf, container_id="a", netns="/run/netns/none")
    assert check.code != 0 and "not found" in check.json["msg"]


def test_check_reports_what_is_missing_like_go(ours, go):
    conf = fw_conf(prev_result(["10.88.1.2/24"]))
    for runner in (ours, go):
        runner.run("firewall", "ADD", conf, container_id="a", netns="/run/netns/none").ok()
        runner.host.run("iptables", "-w", "-D", "CNI-FORWARD", "-s", "10.88.1.2/32", "-j", "ACCEPT")
    mine = ours.run("firewall", "CHECK", conf, container_id="a", netns="/run/netns/none")
    theirs = go.run("firewall", "CHECK", conf, container_id="a", netns="/run/netns/none")
    assert mine.code == theirs.code == 1
    assert mine.json["msg"] == theirs.json["msg"] == "expected rule [-s 10.88.1.2/32 -j ACCEPT] not found"


@pytest.fixture
def legacy_path(tmp_path):
    """A PATH whose iptables tools are the legacy (x_tables) ones, for both implementations."""
    directory = tmp_path / "legacy"
    directory.mkdir()
    for tool in ("iptables", "ip6tables"):
        for suffix in ("", "-save", "-restore"):
            target = f"/usr/sbin/{tool}-legacy{suffix}"
            if not os.path.exists(target):
                pytest.skip(f"{target} not installed")
            (directory / f"{tool}{suffix}").symlink_to(target)
    return f"{directory}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"


def legacy_tables(ns) -> dict[int, list[str]]:
    out = {}
    for family, tool in ((4, "iptables-legacy-save"), (6, "ip6tables-legacy-save")):
        text = ns.run(tool, "-t", "filter")
        out[family] = [
            re.sub(r" \[\d+:\d+\]$", "", line) for line in text.splitlines() if not line.startswith("#")
        ]
    return out


@pytest.mark.parametrize("keys", [{}, {"ingressPolicy": "same-bridge"}], ids=["open", "same-bridge"])
def test_same_rules_as_go_with_legacy_iptables(keys, ours, go, legacy_path):
    env = {"PATH": legacy_path}
    a = fw_conf(prev_result(FAMILIES["dual"][0]), **keys)
    b = fw_conf(prev_result(FAMILIES["dual"][1], bridge="cni1"), **keys)
    for command, conf, cid in [
        ("ADD", a, "a"),
        ("ADD", b, "b"),
        ("CHECK", a, "a"),
        ("DEL", a, "a"),
        ("DEL", a, "a"),
    ]:
        mine = ours.run("firewall", command, conf, container_id=cid, netns="/run/netns/none", env=env)
        theirs = go.run("firewall", command, conf, container_id=cid, netns="/run/netns/none", env=env)
        assert (mine.code, theirs.code) == (0, 0), f"{command}: ours {mine.stdout} / go {theirs.stdout}"
        assert as_v111(legacy_tables(ours.host)) == legacy_tables(go.host), f"after {command} {cid}"
    assert any("10.88.1.3/32" in line for line in legacy_tables(ours.host)[4])
