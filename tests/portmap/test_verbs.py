"""ADD / DEL / CHECK / GC behaviour on real rulesets, for both backends."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import ask, iptables_nat, nft_ruleset, portmap_conf, tcp, udp

pytestmark = pytest.mark.kernel

BACKENDS = ["iptables", "nftables"]


def everything(host) -> str:
    """The whole netfilter state (iptables-nft rules show up in it too)."""
    return nft_ruleset(host)


def our_rules(host, backend: str, container_id: str) -> list[str]:
    """The lines of the ruleset that belong to the container."""
    if backend == "nftables":
        return [
            line.strip() for line in nft_ruleset(host).splitlines() if f'comment "{container_id}"' in line
        ]
    return [line for line in iptables_nat(host).splitlines() if container_id in line or "CNI-DN-" in line]


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_mappings_touches_nothing(backend, runner, routed_host, containers):
    a = containers()
    before = everything(routed_host)
    conf = portmap_conf(a, [], backend=backend)
    run = runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    assert run.json == json.loads(json.dumps(a.prev_result()))
    runner.run("portmap", "CHECK", conf, container_id=a.id, netns=a.ns.path).ok()
    runner.run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path).ok()
    assert everything(routed_host) == before


def test_add_needs_a_prev_result(runner, containers):
    a = containers()
    run = runner.run(
        "portmap", "ADD", portmap_conf(None, [tcp(8080, 80)]), container_id=a.id, netns=a.ns.path
    )
    assert run.code == 1 and run.json["msg"] == "must be called as chained plugin"
    run = runner.run(
        "portmap", "CHECK", portmap_conf(None, [tcp(8080, 80)]), container_id=a.id, netns=a.ns.path
    )
    assert run.json["msg"] == "Required prevResult missing"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "mappings,message",
    [
        ([tcp(8080, 80), tcp(0, 80)], "failed to parse config: Invalid host port number: 0"),
        ([tcp(8080, 80), tcp(8081, 70000)], "failed to parse config: Invalid container port number: 70000"),
        ([tcp(8080, 80), {"hostPort": 1, "containerPort": 1, "protocol": "icmp"}], 'Invalid protocol "icmp"'),
        ([tcp(8080, 80, hostIP="300.1.1.1")], 'Invalid hostIP "300.1.1.1"'),
        ([tcp(8080, 80), tcp(8080, 81)], "Conflicting port mappings"),
    ],
)
def test_bad_mappings_apply_nothing(backend, mappings, message, runner, routed_host, containers):
    a = containers()
    before = everything(routed_host)
    run = runner.run(
        "portmap", "ADD", portmap_conf(a, mappings, backend=backend), container_id=a.id, netns=a.ns.path
    )
    assert run.code == 1 and run.json["code"] == 7 and message in run.json["msg"]
    assert "portMappings[" in run.json["details"]
    assert everything(routed_host) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_rules_the_firewall_rejects_leave_nothing_behind(backend, runner, routed_host, containers):
    """A batch that fails applies nothing (iptables may keep the empty shared chains, as Go does)."""
    a = containers()
    before = everything(routed_host)
    bad = ["-s", "nonsense/99"] if backend == "iptables" else ["ip", "saddr", "nonsense/99"]
    conf = portmap_conf(a, [tcp(8080, 80), udp(8053, 53)], backend=backend, conditionsV4=bad)
    run = runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path)
    assert run.code == 1 and "nonsense/99" in run.json["msg"], run.stdout
    if backend == "nftables":
        assert everything(routed_host) == before
    else:
        # The v6 batch went in beside the failing v4 one and was rolled back; only the shared
        # skeleton (which Go never removes either) may stay.
        nat = iptables_nat(routed_host)
        assert "CNI-DN-" not in nat and a.id not in nat, nat


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_add_does_not_duplicate(backend, runner, routed_host, containers):
    a = containers()
    conf = portmap_conf(a, [tcp(8080, 80), udp(8053, 53)], backend=backend)
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    once = everything(routed_host)
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    assert everything(routed_host) == once


@pytest.mark.parametrize("backend", BACKENDS)
def test_check(backend, runner, routed_host, containers):
    a = containers()
    conf = portmap_conf(a, [tcp(8080, 80), udp(8053, 53)], backend=backend)
    check = lambda c=conf: runner.run("portmap", "CHECK", c, container_id=a.id, netns=a.ns.path)  # noqa: E731
    assert check().code == 1  # nothing there yet
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    check().ok()
    # Remove one of the container's rules behind the plugin's back.
    if backend == "nftables":
        listing = json.loads(
            routed_host.run("nft", "-j", "list", "chain", "ip", "cni_hostport", "masquerading")
        )
        handle = next(r["rule"]["handle"] for r in listing["nftables"] if "rule" in r)
        routed_host.run("nft", "delete", "rule", "ip", "cni_hostport", "masquerading", "handle", str(handle))
        expected = 'missing hostport rules in "masquerading" chain'
    else:
        chain = next(
            line.split()[1]
            for line in iptables_nat(routed_host).splitlines()
            if line.startswith("-A CNI-DN-")
        )
        routed_host.run("iptables", "-t", "nat", "-D", chain, "1")
        expected = "could not check ipv4 dnat: rule [-p tcp --dport 8080 -s"
    failed = check()
    assert failed.code == 1 and expected in failed.json["msg"], failed.stdout
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    check().ok()
    runner.run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path).ok()
    assert check().code == 1


def test_check_iptables_missing_chain_message(runner, routed_host, containers):
    a = containers()
    conf = portmap_conf(a, [tcp(8080, 80)], backend="iptables")
    run = runner.run("portmap", "CHECK", conf, container_id=a.id, netns=a.ns.path)
    assert re.fullmatch(
        r"could not check ipv4 dnat: chain CNI-DN-\w+ not found in iptables table nat", run.json["msg"]
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_gc_removes_only_invalid_attachments(backend, runner, routed_host, containers):
    a, b = containers(), containers()
    for c, port in ((a, 8080), (b, 9090)):
        conf = portmap_conf(c, [tcp(port, 80)], backend=backend, cniVersion="1.1.0")
        runner.run("portmap", "ADD", conf, container_id=c.id, netns=c.ns.path).ok()
    if backend == "iptables":  # another network's chain must survive this network's GC
        other = portmap_conf(b, [tcp(7070, 70)], name="othernet", backend=backend)
        runner.run("portmap", "ADD", other, container_id=b.id, netns=b.ns.path).ok()
        othernet_rules = [line for line in iptables_nat(routed_host).splitlines() if "othernet" in line]
    with_a = our_rules(routed_host, backend, a.id)
    gc = {
        "cniVersion": "1.1.0",
        "name": "pmtest",
        "type": "portmap",
        "backend": backend,
        "cni.dev/valid-attachments": [{"containerID": a.id, "ifname": "eth0"}],
    }
    runner.run("portmap", "GC", gc).ok()
    if backend == "nftables":
        assert our_rules(routed_host, backend, a.id) == with_a
        assert our_rules(routed_host, backend, b.id) == []
    else:
        nat = iptables_nat(routed_host)
        assert f'id: \\"{a.id}\\"' in nat and f'name: \\"pmtest\\" id: \\"{b.id}\\"' not in nat
        assert [line for line in nat.splitlines() if "othernet" in line] == othernet_rules
    # The kept container still works end to end.
    a.serve(80)
    assert ask(routed_host, "tcp", a.host_ip4, 8080) == f"{a.id} {a.host_ip4}"


def test_backend_defaults_to_iptables_here(runner, routed_host, containers):
    a = containers()
    conf = portmap_conf(a, [tcp(8080, 80)])
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    assert "CNI-DN-" in iptables_nat(routed_host) and "cni_hostport" not in nft_ruleset(routed_host)
    runner.run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path).ok()
    assert "CNI-DN-" not in iptables_nat(routed_host)


@pytest.mark.parametrize("backend", BACKENDS)
def test_udp_conntrack_is_flushed_when_a_new_container_takes_the_port(
    backend, runner, routed_host, containers
):
    """Go's integration scenario: a UDP client keeps its source port; after the port moves to
    another container, the stale conntrack entry must not keep sending it to the old one."""
    a, b, client = containers(), containers(), containers()
    a.serve(80)
    b.serve(80)
    conf_a = portmap_conf(a, [udp(8053, 80)], backend=backend)
    conf_b = portmap_conf(b, [udp(8053, 80)], backend=backend)
    runner.run("portmap", "ADD", conf_a, container_id=a.id, netns=a.ns.path).ok()
    assert ask(client.ns, "udp", client.host_ip4, 8053, source_port=40000) == f"{a.id} {client.ip4}"
    assert ask(client.ns, "udp", client.host_ip6, 8053, source_port=40000) == f"{a.id} {client.ip6}"
    runner.run("portmap", "DEL", conf_a, container_id=a.id, netns=a.ns.path).ok()
    runner.run("portmap", "ADD", conf_b, container_id=b.id, netns=b.ns.path).ok()
    assert ask(client.ns, "udp", client.host_ip4, 8053, source_port=40000) == f"{b.id} {client.ip4}"
    assert ask(client.ns, "udp", client.host_ip6, 8053, source_port=40000) == f"{b.id} {client.ip6}"


def test_concurrent_adds_from_scratch_all_work(runner, routed_host, containers):
    """Shared iptables chains are created outside the batches, so racing first ADDs lose nothing."""
    made = [containers() for _ in range(6)]
    confs = [portmap_conf(c, [tcp(8000 + i, 80)], backend="iptables") for i, c in enumerate(made)]

    def add(i: int):
        return runner.run("portmap", "ADD", confs[i], container_id=made[i].id, netns=made[i].ns.path)

    with ThreadPoolExecutor(len(made)) as pool:
        runs = list(pool.map(add, range(len(made))))
    assert [r.code for r in runs] == [0] * len(made), [r.stdout for r in runs]
    for i, c in enumerate(made):
        runner.run("portmap", "CHECK", confs[i], container_id=c.id, netns=c.ns.path).ok()


@pytest.mark.parametrize("backend", BACKENDS)
def test_add_again_with_other_mappings_replaces_them(backend, runner, routed_host, containers):
    a, b = containers(), containers()
    a.serve(80)
    first = portmap_conf(a, [tcp(8080, 80)], backend=backend)
    runner.run("portmap", "ADD", first, container_id=a.id, netns=a.ns.path).ok()
    second = portmap_conf(a, [tcp(8081, 80)], backend=backend)
    runner.run("portmap", "ADD", second, container_id=a.id, netns=a.ns.path).ok()
    assert ask(b.ns, "tcp", a.host_ip4, 8081) == f"{a.id} {b.ip4}"
    assert ask(b.ns, "tcp", a.host_ip4, 8080) is None
    runner.run("portmap", "CHECK", second, container_id=a.id, netns=a.ns.path).ok()
    runner.run("portmap", "DEL", second, container_id=a.id, netns=a.ns.path).ok()
    assert our_rules(routed_host, backend, a.id) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_ipv6_only_container(backend, runner, routed_host, containers):
    a, b = containers(), containers()
    a.serve(80)
    conf = portmap_conf(a, [tcp(8080, 80), udp(8053, 80)], backend=backend, v4=False)
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    assert ask(b.ns, "tcp", b.host_ip6, 8080) == f"{a.id} {b.ip6}"
    assert ask(b.ns, "udp", b.host_ip6, 8053) == f"{a.id} {b.ip6}"
    assert ask(b.ns, "tcp", b.host_ip4, 8080) is None
    runner.run("portmap", "CHECK", conf, container_id=a.id, netns=a.ns.path).ok()
    runner.run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path).ok()
    assert ask(b.ns, "tcp", b.host_ip6, 8080) is None
