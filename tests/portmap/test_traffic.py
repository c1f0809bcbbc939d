"""Real traffic through the host ports: both backends, IPv4 and IPv6, TCP and UDP.

Container A serves on 80; the host maps tcp 8080 and udp 8053 to it. It is reached from the
host (its own address: OUTPUT path), from 127.0.0.1 (snat + route_localnet), from container B
(PREROUTING path) and from A itself (hairpin: masqueraded). DEL removes every path again.
"""

from __future__ import annotations

import pytest

from .conftest import ask, iptables_nat, nft_ruleset, portmap_conf, tcp, udp

pytestmark = pytest.mark.kernel

BACKENDS = ["iptables", "nftables"]


def ruleset(host, backend: str) -> str:
    return iptables_nat(host) if backend == "iptables" else nft_ruleset(host)


@pytest.mark.parametrize("backend", BACKENDS)
def test_forwarding_v4_and_v6_tcp_and_udp(backend, runner, routed_host, containers):
    a, b = containers(), containers()
    a.serve(80)
    conf = portmap_conf(a, [tcp(8080, 80), udp(8053, 80)], backend=backend)
    run = runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    assert run.json["ips"][0]["address"] == f"{a.ip4}/24"  # prevResult passed through

    for proto, port in (("tcp", 8080), ("udp", 8053)):
        # From the host to its own addresses (OUTPUT path): the host's address is the source.
        assert ask(routed_host, proto, a.host_ip4, port) == f"{a.id} {a.host_ip4}"
        assert ask(routed_host, proto, a.host_ip6, port) == f"{a.id} {a.host_ip6}"
        # From another container (PREROUTING path), not masqueraded.
        assert ask(b.ns, proto, a.host_ip4, port) == f"{a.id} {b.ip4}"
        assert ask(b.ns, proto, b.host_ip6, port) == f"{a.id} {b.ip6}"
        # Hairpin: the container reaches itself through the host port, masqueraded.
        assert ask(a.ns, proto, a.host_ip4, port) == f"{a.id} {a.host_ip4}"
        assert ask(a.ns, proto, a.host_ip6, port) == f"{a.id} {a.host_ip6}"
    # Localhost (v4 only): needs masquerading and route_localnet on the host veth.
    assert ask(routed_host, "tcp", "127.0.0.1", 8080) == f"{a.id} {a.host_ip4}"
    assert routed_host.sysctl(f"net/ipv4/conf/{a.host_veth}/route_localnet") == "1"

    runner.run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path).ok()
    assert ask(routed_host, "tcp", a.host_ip4, 8080) is None
    assert ask(b.ns, "tcp", a.host_ip4, 8080) is None
    assert ask(routed_host, "tcp", a.host_ip6, 8080) is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_del_restores_the_ruleset(backend, runner, routed_host, containers):
    """Before the first ADD only Go's skeleton is new after DEL; a second container's DEL leaves
    the first container's rules, and DEL twice is fine."""
    a, b = containers(), containers()
    conf_a = portmap_conf(a, [tcp(8080, 80), udp(8053, 53)], backend=backend)
    conf_b = portmap_conf(b, [tcp(9090, 90, hostIP=b.host_ip4)], backend=backend)
    runner.run("portmap", "ADD", conf_a, container_id=a.id, netns=a.ns.path).ok()
    with_a = ruleset(routed_host, backend)
    runner.run("portmap", "ADD", conf_b, container_id=b.id, netns=b.ns.path).ok()
    assert ruleset(routed_host, backend) != with_a
    runner.run("portmap", "DEL", conf_b, container_id=b.id, netns=b.ns.path).ok()
    assert ruleset(routed_host, backend) == with_a
    runner.run("portmap", "DEL", conf_b, container_id=b.id, netns=b.ns.path).ok()
    assert ruleset(routed_host, backend) == with_a


@pytest.mark.parametrize("backend", BACKENDS)
def test_host_ip_and_conditions(backend, runner, routed_host, containers):
    """A mapping bound to one host address answers only there; conditionsV4 exclude sources."""
    a, b, c = containers(), containers(), containers()
    a.serve(80)
    conditions = ["!", "-s", f"{c.ip4}/32"] if backend == "iptables" else ["ip", "saddr", "!=", c.ip4]
    mappings = [tcp(8080, 80, hostIP=a.host_ip4), tcp(8081, 80)]
    conf = portmap_conf(a, mappings, backend=backend, conditionsV4=conditions)
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    assert ask(b.ns, "tcp", a.host_ip4, 8080) == f"{a.id} {b.ip4}"
    assert ask(b.ns, "tcp", b.host_ip4, 8080) is None  # another host address: not mapped
    assert ask(b.ns, "tcp", b.host_ip4, 8081) == f"{a.id} {b.ip4}"
    assert ask(c.ns, "tcp", c.host_ip4, 8081) is None  # excluded by the conditions
    assert ask(c.ns, "tcp", c.host_ip6, 8081) == f"{a.id} {c.ip6}"  # v4 conditions only
    runner.run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path).ok()


@pytest.mark.parametrize("backend", BACKENDS)
def test_del_without_prev_result_and_snat_off(backend, runner, routed_host, containers):
    a, b = containers(), containers()
    a.serve(80)
    conf = portmap_conf(a, [tcp(8080, 80)], backend=backend, snat=False)
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path).ok()
    assert ask(b.ns, "tcp", a.host_ip4, 8080) == f"{a.id} {b.ip4}"
    assert ask(a.ns, "tcp", a.host_ip4, 8080) is None  # hairpin needs snat
    bare = portmap_conf(None, [tcp(8080, 80)], backend=backend, snat=False)
    runner.run("portmap", "DEL", bare, container_id=a.id).ok()
    assert ask(b.ns, "tcp", a.host_ip4, 8080) is None


@pytest.fixture
def legacy_path(tmp_path, routed_host):
    """A PATH whose iptables* are the legacy (x_tables) binaries; skipped where they do not work."""
    import os
    import shutil

    if shutil.which("iptables-legacy") is None:
        pytest.skip("iptables-legacy not installed")
    if routed_host.run("iptables-legacy", "-t", "nat", "-S", check=False) == "":
        pytest.skip("the kernel has no legacy x_tables nat")
    for tool in ("iptables", "ip6tables"):
        for suffix in ("", "-save", "-restore"):
            os.symlink(f"/usr/sbin/{tool}-legacy{suffix}", tmp_path / f"{tool}{suffix}")
    return f"{tmp_path}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"


def test_iptables_legacy_host(legacy_path, runner, routed_host, containers):
    """On an iptables-legacy host every rule goes in (ip6tables-legacy -C is unreliable: Go's
    append-if-absent skips IPv6 rules there) and DEL removes them."""
    a, b = containers(), containers()
    a.serve(80)
    conf = portmap_conf(a, [tcp(8080, 80), udp(8053, 80), udp(8054, 80)], backend="iptables")
    env = {"PATH": legacy_path}
    runner.run("portmap", "ADD", conf, container_id=a.id, netns=a.ns.path, env=env).ok()
    saved6 = routed_host.run("ip6tables-legacy-save", "-t", "nat")
    assert saved6.count(f"--to-destination [{a.ip6}]:80") == 3
    assert ask(b.ns, "udp", b.host_ip6, 8054) == f"{a.id} {b.ip6}"
    assert ask(b.ns, "tcp", a.host_ip4, 8080) == f"{a.id} {b.ip4}"
    runner.run("portmap", "CHECK", conf, container_id=a.id, netns=a.ns.path, env=env).ok()
    runner.run("portmap", "DEL", conf, container_id=a.id, netns=a.ns.path, env=env).ok()
    for tool in ("iptables-legacy-save", "ip6tables-legacy-save"):
        assert "CNI-DN-" not in routed_host.run(tool, "-t", "nat")
