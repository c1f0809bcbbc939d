"""nftables GC per network: the rules carry only the container ID, so our ADD records the network
under /var/lib/cni/portmap/<network>/<containerID>, and GC of a network removes only the rules of
containers it recorded (and no other network did)."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from pkg.owners import STATE_DIR
from tests.harness import unique

from .conftest import ask, nft_ruleset, portmap_conf, tcp

pytestmark = pytest.mark.kernel


def rules_of(host, container_id: str) -> list[str]:
    return [line.strip() for line in nft_ruleset(host).splitlines() if f'comment "{container_id}"' in line]


def marker(network: str, container_id: str) -> str:
    return os.path.join(STATE_DIR, network, container_id)


@pytest.fixture
def networks():
    """make() -> a unique network name; its state directory is removed at the end."""
    made: list[str] = []

    def make() -> str:
        made.append(unique("pmnet", 6))
        return made[-1]

    try:
        yield make
    finally:
        for name in made:
            path = os.path.join(STATE_DIR, name)
            if os.path.islink(path):
                os.unlink(path)
            else:
                shutil.rmtree(path, ignore_errors=True)


def add(runner, network: str, container, port: int) -> dict:
    conf = portmap_conf(container, [tcp(port, 80)], name=network, backend="nftables")
    runner.run("portmap", "ADD", conf, container_id=container.id, netns=container.ns.path).ok()
    return conf


def gc_run(runner, network: str, valid: list):
    conf = {
        "cniVersion": "1.1.0",
        "name": network,
        "type": "portmap",
        "backend": "nftables",
        "cni.dev/valid-attachments": [{"containerID": c.id, "ifname": "eth0"} for c in valid],
    }
    return runner.run("portmap", "GC", conf)


def gc(runner, network: str, valid: list) -> None:
    gc_run(runner, network, valid).ok()


def test_gc_of_another_network_keeps_the_rules(runner, routed_host, containers, networks):
    net_a, net_b = networks(), networks()
    x = containers()
    x.serve(80)
    add(runner, net_b, x, 9090)
    with_x = rules_of(routed_host, x.id)
    assert with_x and os.path.isfile(marker(net_b, x.id))

    gc(runner, net_a, [])  # x is not in network A at all: none of A's business
    assert rules_of(routed_host, x.id) == with_x
    assert ask(routed_host, "tcp", x.host_ip4, 9090) == f"{x.id} {x.host_ip4}"

    gc(runner, net_b, [x])  # still valid in B
    assert rules_of(routed_host, x.id) == with_x

    gc(runner, net_b, [])
    assert rules_of(routed_host, x.id) == []
    assert not os.path.exists(marker(net_b, x.id))
    assert ask(routed_host, "tcp", x.host_ip4, 9090) is None


def test_container_in_both_networks_keeps_its_rules_until_gone_from_both(
    runner, routed_host, containers, networks
):
    net_a, net_b = networks(), networks()
    x, other = containers(), containers()
    x.serve(80)
    add(runner, net_a, x, 8080)
    add(runner, net_a, other, 7070)
    add(runner, net_b, x, 9090)  # does not replace A's rules of x: they share the comment
    for port in (8080, 9090):
        assert ask(routed_host, "tcp", x.host_ip4, port) == f"{x.id} {x.host_ip4}"
    with_x = rules_of(routed_host, x.id)

    gc(runner, net_a, [])  # x is still in B: its rules stay; `other` was only in A
    assert rules_of(routed_host, x.id) == with_x
    assert rules_of(routed_host, other.id) == []
    assert not os.path.exists(marker(net_a, x.id)) and os.path.isfile(marker(net_b, x.id))
    assert ask(routed_host, "tcp", x.host_ip4, 9090) == f"{x.id} {x.host_ip4}"

    gc(runner, net_b, [])
    assert rules_of(routed_host, x.id) == []
    assert not os.path.exists(marker(net_b, x.id))
    assert ask(routed_host, "tcp", x.host_ip4, 9090) is None


def test_marker_is_private_and_del_removes_it(runner, routed_host, containers, networks):
    net = networks()
    x = containers()
    conf = add(runner, net, x, 8080)
    path = marker(net, x.id)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.lstat(os.path.dirname(path)).st_mode) == 0o700
    with open(path) as f:
        assert f.read() == "eth0\n"
    assert os.listdir(os.path.dirname(path)) == [x.id]  # no temporary file left
    for _ in range(2):  # idempotent: a missing marker is fine
        runner.run("portmap", "DEL", conf, container_id=x.id, netns=x.ns.path).ok()
        assert not os.path.exists(path) and rules_of(routed_host, x.id) == []


def test_planted_symlinks_are_not_followed(runner, routed_host, containers, networks, tmp_path):
    net, other_net = networks(), networks()
    x, y = containers(), containers()
    # The network directory is a symlink: ADD refuses it and leaves no rules.
    os.makedirs(STATE_DIR, exist_ok=True)
    os.symlink(tmp_path, os.path.join(STATE_DIR, net))
    conf = portmap_conf(x, [tcp(8080, 80)], name=net, backend="nftables")
    run = runner.run("portmap", "ADD", conf, container_id=x.id, netns=x.ns.path)
    assert run.json["code"] == 999 and marker(net, x.id) in run.json["msg"]
    assert os.listdir(tmp_path) == [] and rules_of(routed_host, x.id) == []
    # GC does not read markers through it either.
    add(runner, other_net, y, 9090)
    (tmp_path / y.id).write_text("")
    run = gc_run(runner, net, [])
    assert run.json["code"] == 999 and "failed to read port mapping owners" in run.json["msg"]
    assert rules_of(routed_host, y.id)

    # A marker that is a symlink is replaced, its target untouched.
    target = tmp_path / "target"
    target.write_text("keep\n")
    os.unlink(marker(other_net, y.id))
    os.symlink(target, marker(other_net, y.id))
    add(runner, other_net, y, 9090)
    assert target.read_text() == "keep\n"
    assert stat.S_ISREG(os.lstat(marker(other_net, y.id)).st_mode)


def test_rules_without_a_marker_survive_gc(runner, routed_host, containers, networks):
    """Rules of Go's portmap (comment = container ID, no marker) are never GC's to remove."""
    net = networks()
    x, ours = containers(), containers()
    add(runner, net, ours, 7070)
    go_id = unique("goctr", 12)
    routed_host.run(
        "nft", "add", "rule", "ip", "cni_hostport", "hostports", "tcp", "dport", "8080",
        "dnat", "to", f"{x.ip4}:80", "comment", f'"{go_id}"',
    )  # fmt: skip
    x.serve(80)
    gc(runner, net, [])
    assert rules_of(routed_host, ours.id) == []
    assert len(rules_of(routed_host, go_id)) == 1
    assert ask(routed_host, "tcp", x.host_ip4, 8080) == f"{x.id} {x.host_ip4}"
