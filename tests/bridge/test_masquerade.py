"""ipMasq with both backends: real iptables / nftables rules, DEL without a netns, GC."""

from __future__ import annotations

import sys

import pytest

from pkg.hashing import format_chain_name, format_comment
from pkg.ipmasq import comment_for_instance
from tests.bridge.conftest import ROOT, attach, nat_rules, needs_version, netconf, nft_masq_rules

pytestmark = pytest.mark.kernel

DUAL = ("10.1.0.0/24", "fd00:1::/64")


def iptables_lines(network: str, container_id: str, address: str, subnet: str, ipv6: bool) -> list[str]:
    chain = format_chain_name(network, container_id)
    q = '"' + format_comment(network, container_id).replace('"', '\\"') + '"'
    multicast = "ff00::/8" if ipv6 else "224.0.0.0/4"
    return [
        f":{chain} - [0:0]",
        f"-A POSTROUTING -s {address} -m comment --comment {q} -j {chain}",
        f"-A {chain} -d {subnet} -m comment --comment {q} -j ACCEPT",
        f"-A {chain} ! -d {multicast} -m comment --comment {q} -j MASQUERADE",
    ]


@pytest.mark.parametrize("backend", [None, "iptables"])
def test_iptables_backend(backend, br, host_ns, container_ns, data_dir):
    keys = {"ipMasq": True} | ({"ipMasqBackend": backend} if backend else {})
    pod = attach(br, netconf(data_dir=data_dir, subnets=DUAL, isGateway=True, **keys), container_ns)
    pod.add.ok()
    cid = pod.container_id
    assert sorted(nat_rules(host_ns)) == sorted(
        iptables_lines("brnet", cid, "10.1.0.2/32", "10.1.0.0/24", False)
    )
    assert sorted(nat_rules(host_ns, ipv6=True)) == sorted(
        iptables_lines("brnet", cid, "fd00:1::2/128", "fd00:1::/64", True)
    )
    assert nft_masq_rules(host_ns) == []
    # setting up the same attachment again appends nothing twice (Go's AppendUnique)
    before = nat_rules(host_ns) + nat_rules(host_ns, ipv6=True)
    in_netns(host_ns, f"ipmasq.setup({backend!r}, ['10.1.0.2/24', 'fd00:1::2/64'], 'brnet', 'eth0', {cid!r})")
    assert nat_rules(host_ns) + nat_rules(host_ns, ipv6=True) == before
    pod.call("DEL").ok()
    assert nat_rules(host_ns) == [] and nat_rules(host_ns, ipv6=True) == []


def in_netns(ns, statement: str) -> None:
    """Run one pkg.ipmasq call inside `ns` (the test process itself stays where it is)."""
    ns.run(
        sys.executable, "-c", f"import sys; sys.path.insert(0, {ROOT!r}); from pkg import ipmasq; {statement}"
    )


def test_nftables_backend(br, host_ns, container_ns, data_dir):
    conf = netconf(data_dir=data_dir, subnets=DUAL, isGateway=True, ipMasq=True, ipMasqBackend="nftables")
    pod = attach(br, conf, container_ns)
    pod.add.ok()
    comment = comment_for_instance("brnet", "eth0", pod.container_id)
    rules = nft_masq_rules(host_ns)
    assert [r["comment"] for r in rules] == [comment, comment]
    in_netns(
        host_ns,
        f"ipmasq.setup('nftables', ['10.1.0.2/24', 'fd00:1::2/64'], 'brnet', 'eth0', {pod.container_id!r})",
    )
    assert len(nft_masq_rules(host_ns)) == 2  # stale rules of the same attachment are replaced, not doubled
    listing = host_ns.run("nft", "list", "table", "inet", "cni_plugins_masquerade")
    assert "ip saddr 10.1.0.2 ip daddr != 10.1.0.0/24 masquerade" in listing
    assert "ip6 saddr fd00:1::2 ip6 daddr != fd00:1::/64 masquerade" in listing
    assert "type nat hook postrouting priority srcnat; policy accept;" in listing
    assert "goto masq_checks" in listing
    assert nat_rules(host_ns) == []
    pod.call("DEL").ok()
    assert nft_masq_rules(host_ns) == []


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
@pytest.mark.parametrize("how", ["empty CNI_NETNS", "netns gone"])
def test_del_without_netns_still_removes_masquerade(backend, how, br, host_ns, netns_factory, data_dir):
    """Go leaks the rules here (containernetworking/plugins#810); we remove them."""
    container = netns_factory()
    conf = netconf(
        data_dir=data_dir, isGateway=True, ipMasq=True, ipMasqBackend=backend, macspoofchk=True, subnets=DUAL
    )
    pod = attach(br, conf, container)
    pod.add.ok()
    assert nat_rules(host_ns) or nft_masq_rules(host_ns)
    if how == "netns gone":
        container.delete()
        pod.call("DEL").ok()
    else:
        pod.call("DEL", netns="").ok()
    assert nat_rules(host_ns) == [] and nat_rules(host_ns, ipv6=True) == []
    assert nft_masq_rules(host_ns) == []
    assert pod.container_id not in host_ns.run("nft", "list", "table", "bridge", "nat")
    assert [n for n in data_dir_entries(data_dir) if n[0].isdigit()] == []  # IPs released


def data_dir_entries(data_dir: str) -> list[str]:
    import os

    path = os.path.join(data_dir, "brnet")
    return os.listdir(path) if os.path.isdir(path) else []


def test_two_containers_with_the_same_ip_history_keep_their_own_rules(br, host_ns, netns_factory, data_dir):
    conf = netconf(data_dir=data_dir, isGateway=True, ipMasq=True, ipMasqBackend="nftables")
    first = attach(br, conf, netns_factory())
    second = attach(br, conf, netns_factory())
    first.add.ok()
    second.add.ok()
    first.call("DEL").ok()
    assert [r["comment"] for r in nft_masq_rules(host_ns)] == [
        comment_for_instance("brnet", "eth0", second.container_id)
    ]


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_gc_removes_rules_of_stale_attachments(backend, br, host_ns, netns_factory, data_dir):
    needs_version("1.1.0")
    conf = netconf("1.1.0", data_dir=data_dir, isGateway=True, ipMasq=True, ipMasqBackend=backend)
    keep = attach(br, conf, netns_factory())
    drop = attach(br, conf, netns_factory())
    keep.add.ok()
    drop.add.ok()
    other = attach(
        br, dict(conf, name="othernet", ipam=dict(conf["ipam"], dataDir=data_dir + "-o")), netns_factory()
    )
    other.add.ok()
    gc_conf = dict(
        conf, **{"cni.dev/valid-attachments": [{"containerID": keep.container_id, "ifname": "eth0"}]}
    )
    gc = br.run("bridge", "GC", gc_conf)
    gc.ok()
    if backend == "iptables":
        chains = {line[1:].split()[0] for line in nat_rules(host_ns) if line.startswith(":")}
        assert format_chain_name("brnet", keep.container_id) in chains
        assert format_chain_name("othernet", other.container_id) in chains  # another network: untouched
        assert format_chain_name("brnet", drop.container_id) not in chains
        assert not [
            line for line in nat_rules(host_ns) if format_chain_name("brnet", drop.container_id) in line
        ]
    else:
        comments = [r["comment"] for r in nft_masq_rules(host_ns)]
        assert comments == [
            comment_for_instance("brnet", "eth0", keep.container_id),
            comment_for_instance("othernet", "eth0", other.container_id),
        ]


def test_iptables_concurrent_setups_and_teardowns_lose_nothing(host_ns):
    """Each call lists only its chain and POSTROUTING and applies one `iptables-restore --noflush`
    batch: racing calls of different attachments keep each other's rules, and rules of others in
    the nat table are left alone."""
    from concurrent.futures import ThreadPoolExecutor

    host_ns.run(
        "iptables-restore",
        "--noflush",
        input="*nat\n:KUBE-POSTROUTING - [0:0]\n"
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING\n'
        "-A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE\nCOMMIT\n",
    )
    unrelated = [line for line in nat_rules(host_ns) if "KUBE-" in line]

    def setup(i: int) -> None:
        in_netns(host_ns, f"ipmasq.setup('iptables', ['10.1.0.{i + 2}/24'], 'brnet', 'eth0', 'race-{i}')")

    def teardown(i: int) -> None:
        in_netns(host_ns, f"ipmasq.teardown('brnet', 'eth0', 'race-{i}')")

    for i in range(8, 12):
        setup(i)
    with ThreadPoolExecutor(12) as pool:
        jobs = [pool.submit(setup, i) for i in range(8)] + [pool.submit(teardown, i) for i in range(8, 12)]
        for job in jobs:
            job.result()
    expected = [
        line
        for i in range(8)
        for line in iptables_lines("brnet", f"race-{i}", f"10.1.0.{i + 2}/32", "10.1.0.0/24", False)
    ]
    assert sorted(line for line in nat_rules(host_ns) if "KUBE-" not in line) == sorted(expected)
    assert [line for line in nat_rules(host_ns) if "KUBE-" in line] == unrelated
    for i in range(8):
        teardown(i)
    assert nat_rules(host_ns) == unrelated
