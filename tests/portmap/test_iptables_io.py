"""The iptables backend reads and writes only its own chains: concurrent calls lose nothing, and
rules of others in the nat table (kube-proxy's) are neither needed nor touched."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import GO_PLUGIN_DIR, PluginRunner

from .conftest import iptables_nat, portmap_conf, tcp

pytestmark = pytest.mark.kernel

# What kube-proxy (iptables mode) leaves in the nat table, in small.
UNRELATED = [
    "*nat",
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-POSTROUTING - [0:0]",
    ":KUBE-SVC-T1 - [0:0]",
    ":KUBE-SEP-T1 - [0:0]",
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    "-A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE",
    "-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 53 -j KUBE-SVC-T1",
    "-A KUBE-SVC-T1 -j KUBE-SEP-T1",
    "-A KUBE-SEP-T1 -p tcp -m tcp -j DNAT --to-destination 10.244.0.5:53",
    "COMMIT",
]


def load_unrelated(host) -> None:
    host.run("iptables-restore", "--noflush", "--wait", input="\n".join(UNRELATED) + "\n")


def unrelated_lines(host) -> list[str]:
    return [line for line in iptables_nat(host).splitlines() if "KUBE-" in line]


def count(host, line: str) -> int:
    return iptables_nat(host).splitlines().count(line)


SHARED = [
    "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
    "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
    '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
    "-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
]


def test_concurrent_adds_and_dels_lose_nothing(runner, routed_host, containers):
    """Ten ADDs and five DELs at once (iptables-restore --noflush batches racing): every added
    container keeps its chain and jump, every deleted one is gone, shared rules exist once."""
    a = containers()
    load_unrelated(routed_host)
    before = unrelated_lines(routed_host)

    def conf(i: int) -> dict:
        return portmap_conf(a, [tcp(9000 + i, 80)], backend="iptables")

    def call(job: tuple[str, int]):
        command, i = job
        return runner.run("portmap", command, conf(i), container_id=f"race-{i}", netns=a.ns.path)

    for i in range(10, 15):  # present before the race; deleted during it
        call(("ADD", i)).ok()
    jobs = [("ADD", i) for i in range(10)] + [("DEL", i) for i in range(10, 15)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        runs = list(pool.map(call, jobs))
    assert [r.code for r in runs] == [0] * len(jobs), [r.stdout for r in runs]
    for i in range(10):
        runner.run("portmap", "CHECK", conf(i), container_id=f"race-{i}", netns=a.ns.path).ok()
    nat = iptables_nat(routed_host)
    for i in range(10, 15):
        assert f'id: \\"race-{i}\\"' not in nat
    assert nat.count("-j CNI-DN-") == 2 * 10  # one jump per container and family
    for line in SHARED:
        assert count(routed_host, line) == 2, line  # once in each family
    assert unrelated_lines(routed_host) == before
    for i in range(10):
        call(("DEL", i)).ok()
    assert "CNI-DN-" not in iptables_nat(routed_host)
    assert unrelated_lines(routed_host) == before


def test_first_adds_racing_add_shared_rules_once(runner, routed_host, containers):
    """No shared chain yet and several first ADDs at once: all work, and the shared rules are
    added once (those that find them missing read and apply holding a lock)."""
    a = containers()
    load_unrelated(routed_host)
    confs = [portmap_conf(a, [tcp(9100 + i, 80)], backend="iptables") for i in range(5)]

    def add(i: int):
        return runner.run("portmap", "ADD", confs[i], container_id=f"first-{i}", netns=a.ns.path)

    with ThreadPoolExecutor(len(confs)) as pool:
        runs = list(pool.map(add, range(len(confs))))
    assert [r.code for r in runs] == [0] * len(confs), [r.stdout for r in runs]
    for line in SHARED:
        assert count(routed_host, line) == 2, line  # once in each family
    for i, c in enumerate(confs):
        runner.run("portmap", "CHECK", c, container_id=f"first-{i}", netns=a.ns.path).ok()
        runner.run("portmap", "DEL", c, container_id=f"first-{i}", netns=a.ns.path).ok()
    assert "CNI-DN-" not in iptables_nat(routed_host)


def test_shared_rule_removed_by_someone_is_put_back(runner, routed_host, containers):
    """The shared rules are only probed (`-C`): when one is missing, the chains are read and it is
    appended again, as Go's AppendUnique does."""
    a = containers()
    conf = portmap_conf(a, [tcp(8080, 80)], backend="iptables")
    runner.run("portmap", "ADD", conf, container_id="first", netns=a.ns.path).ok()
    routed_host.run(
        "iptables",
        "-t",
        "nat",
        "-D",
        "CNI-HOSTPORT-MASQ",
        "-m",
        "mark",
        "--mark",
        "0x2000/0x2000",
        "-j",
        "MASQUERADE",
    )
    routed_host.run(
        "iptables",
        "-t",
        "nat",
        "-D",
        "OUTPUT",
        "-m",
        "addrtype",
        "--dst-type",
        "LOCAL",
        "-j",
        "CNI-HOSTPORT-DNAT",
    )
    runner.run("portmap", "ADD", conf, container_id="second", netns=a.ns.path).ok()
    for line in SHARED:
        assert count(routed_host, line) == 2, line
    for cid in ("first", "second"):
        runner.run("portmap", "DEL", conf, container_id=cid, netns=a.ns.path).ok()


@pytest.mark.parametrize("adder", ["ours", "go"])
def test_with_unrelated_rules_same_as_go_and_untouched(adder, cni_bin, host_ns, netns_factory, containers):
    """With kube-proxy's rules in the nat table: the same tables as Go's after ADD, each DEL cleans
    the other's ADD, and the unrelated rules stay exactly as they were."""
    go_portmap = os.path.join(GO_PLUGIN_DIR, "portmap")
    if not os.path.isfile(go_portmap):
        pytest.skip(f"Go reference portmap not installed in {GO_PLUGIN_DIR}")
    a = containers()
    go_host = netns_factory()
    ours, go = PluginRunner(cni_bin, host_ns), PluginRunner(GO_PLUGIN_DIR, go_host)
    for host in (host_ns, go_host):
        load_unrelated(host)
    before = unrelated_lines(host_ns)
    conf = portmap_conf(a, [tcp(8080, 80), tcp(8081, 81)])
    for runner in (ours, go):
        runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    assert iptables_nat(host_ns) == iptables_nat(go_host)
    first, other_bin = (ours, GO_PLUGIN_DIR) if adder == "ours" else (go, cni_bin)
    PluginRunner(other_bin, first.host).run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path).ok()
    assert "CNI-DN-" not in iptables_nat(first.host)
    assert unrelated_lines(first.host) == before


@pytest.mark.parametrize("implementation", ["ours", "go"])
def test_del_removes_an_orphan_chain_and_a_legacy_snat_chain(
    implementation, cni_bin, routed_host, containers
):
    """What Go's DEL removes besides a normal ADD's rules: the container's CNI-DN chain left without
    its jump (an ADD killed halfway), and the CNI-SN chain of old versions with its jump from
    CNI-HOSTPORT-SNAT. Ours finds both by their names, without listing the table; Go's DEL is run on
    the same state to show it is what Go does."""
    from plugins.portmap.iptables_rules import dnat_chain_name, old_snat_chain_name

    bin_dir = cni_bin if implementation == "ours" else GO_PLUGIN_DIR
    if not os.path.isfile(os.path.join(bin_dir, "portmap")):
        pytest.skip(f"no portmap in {bin_dir}")
    runner = PluginRunner(bin_dir, routed_host)
    a = containers()
    conf = portmap_conf(a, [tcp(8080, 80)])
    dn, sn = dnat_chain_name("pmtest", a.id), old_snat_chain_name("pmtest", a.id)
    for tool in ("iptables", "ip6tables"):
        routed_host.run(tool, "-t", "nat", "-N", dn)
        routed_host.run(tool, "-t", "nat", "-A", dn, "-p", "tcp", "--dport", "8080", "-j", "RETURN")
    routed_host.run("iptables", "-t", "nat", "-N", "CNI-HOSTPORT-SNAT")
    routed_host.run("iptables", "-t", "nat", "-N", sn)
    routed_host.run("iptables", "-t", "nat", "-A", sn, "-j", "RETURN")
    routed_host.run("iptables", "-t", "nat", "-A", "CNI-HOSTPORT-SNAT", "-s", "10.0.0.0/8", "-j", sn)
    runner.run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path).ok()
    nat = iptables_nat(routed_host)
    assert dn not in nat and sn not in nat
    assert ":CNI-HOSTPORT-SNAT" in nat  # the shared legacy chain stays, as with Go
