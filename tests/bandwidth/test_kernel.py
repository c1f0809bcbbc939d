"""bandwidth on real veths, side by side with Go's (Debian containernetworking-plugins 1.1.1).

Each implementation gets its own pod (a host netns and a container netns) with identical names, the
same container ID and the same config, so results and kernel state (read with `tc -j` and `ip -j`)
must be equal once MACs and sandbox paths are set aside."""

from __future__ import annotations

from typing import Any

import pytest

from plugins.bandwidth.shaping import ifb_name
from tests.bandwidth.conftest import HOST_VETH, NETWORK, Pod, bw_conf, without_empty_dns

pytestmark = pytest.mark.kernel

BOTH = {"ingressRate": 8_000_000, "ingressBurst": 80_000, "egressRate": 16_000_000, "egressBurst": 160_000}
# what containerd's CRI passes for the pod annotations: the burst is math.MaxInt32 bits, whose
# transmit time in ticks overflows 32 bits (Go truncates; so must we)
CRI = {"ingressRate": 1_000_000, "ingressBurst": 2**31 - 1, "egressRate": 2_000_000, "egressBurst": 2**31 - 1}
GO_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0")  # what 1.1.1 supports


def normal(result: Any, pod: Pod) -> Any:
    """The result with this pod's own MACs and sandbox path replaced by placeholders."""
    ifb = {link["ifname"]: link["address"] for link in pod.ifbs()}
    for iface in result.get("interfaces", []):
        if iface.get("name") in ifb:
            assert iface["mac"] == ifb[iface["name"]], "the result reports the ifb's real MAC"
            iface["mac"] = "IFB-MAC"
        elif "mac" in iface:
            iface["mac"] = "MAC"
        if iface.get("sandbox") == pod.container.path:
            iface["sandbox"] = "SANDBOX"
    return without_empty_dns(result)


def twin_pods(pod_factory) -> tuple[Pod, Pod]:
    return pod_factory("twin"), pod_factory("twin")


@pytest.mark.parametrize("version", GO_VERSIONS)
def test_add_check_del_like_go(pod_factory, cni_bin, go_dir, version):
    ours, go = twin_pods(pod_factory)
    results = {}
    for name, pod, directory in (("ours", ours, cni_bin), ("go", go, go_dir)):
        add = pod.run(directory, "ADD", bw_conf(pod, version, **BOTH)).ok()
        results[name] = normal(add.json, pod)
    assert results["ours"] == results["go"]
    assert results["ours"]["interfaces"][-1]["name"] == ifb_name(NETWORK, ours.container_id)
    assert ours.state() == go.state()
    state = ours.state()
    kinds = sorted((q["dev"], q["kind"]) for q in state["qdiscs"] if q["dev"] != "lo")
    assert kinds == sorted(
        [(HOST_VETH, "tbf"), (HOST_VETH, "ingress"), (ifb_name(NETWORK, ours.container_id), "tbf")]
    )

    if version >= "0.4.0":
        for pod, directory in ((ours, cni_bin), (go, go_dir)):
            check = pod.run(directory, "CHECK", bw_conf(pod, version, **BOTH))
            assert (check.code, check.stdout) == (0, ""), check.stdout

    for pod, directory in ((ours, cni_bin), (go, go_dir)):
        pod.run(directory, "DEL", bw_conf(pod, version, **BOTH)).ok()
        assert pod.ifbs() == []
    # Go leaves the qdiscs on the host veth (they go with the veth); we remove them
    assert [q["kind"] for q in ours.qdiscs() if q["dev"] == HOST_VETH] == ["noqueue"]
    assert ours.filters() == []


@pytest.mark.parametrize(
    "keys, veth_kinds, has_ifb",
    [
        ({"ingressRate": 8_000_000, "ingressBurst": 80_000}, ["tbf"], False),
        ({"egressRate": 8_000_000, "egressBurst": 80_000}, ["noqueue", "ingress"], True),
        ({"runtimeConfig": {"bandwidth": BOTH}}, ["tbf", "ingress"], True),
        ({"ingressRate": 0, "runtimeConfig": {"bandwidth": BOTH}}, ["noqueue"], False),
        ({}, ["noqueue"], False),
        ({"runtimeConfig": {"bandwidth": CRI}}, ["tbf", "ingress"], True),
    ],
    ids=["ingress-only", "egress-only", "runtimeConfig", "config-entry-wins", "nothing", "cri-max-burst"],
)
def test_directions_like_go(pod_factory, cni_bin, go_dir, keys, veth_kinds, has_ifb):
    ours, go = twin_pods(pod_factory)
    results = {}
    for name, pod, directory in (("ours", ours, cni_bin), ("go", go, go_dir)):
        results[name] = normal(pod.run(directory, "ADD", bw_conf(pod, **keys)).ok().json, pod)
    assert results["ours"] == results["go"]
    assert ours.state() == go.state()
    assert [q["kind"] for q in ours.qdiscs() if q["dev"] == HOST_VETH] == veth_kinds
    assert bool(ours.ifbs()) is has_ifb
    for pod, directory in ((ours, cni_bin), (go, go_dir)):
        pod.run(directory, "DEL", bw_conf(pod, **keys)).ok()
        assert pod.ifbs() == []


@pytest.mark.parametrize("rates", [BOTH, CRI], ids=["rates", "cri-max-burst"])
@pytest.mark.parametrize("first, second", [("ours", "go"), ("go", "ours")])
def test_one_deletes_and_checks_what_the_other_made(pod, cni_bin, go_dir, first, second, rates):
    dirs = {"ours": cni_bin, "go": go_dir}
    conf = bw_conf(pod, **rates)
    pod.run(dirs[first], "ADD", conf).ok()
    check = pod.run(dirs[second], "CHECK", conf)
    assert (check.code, check.stdout) == (0, ""), check.stdout
    pod.run(dirs[second], "DEL", conf).ok()
    assert pod.ifbs() == []
    pod.run(dirs[second], "DEL", conf).ok()  # idempotent


def test_del_is_idempotent_and_tolerates_a_vanished_netns(pod, cni_bin):
    conf = bw_conf(pod, **BOTH)
    pod.run(cni_bin, "ADD", conf).ok()
    assert len(pod.ifbs()) == 1
    pod.container.delete()  # the container is gone before DEL; so is its veth
    pod.run(cni_bin, "DEL", conf).ok()
    assert pod.ifbs() == []
    pod.run(cni_bin, "DEL", conf).ok()
    pod.run(cni_bin, "DEL", conf, netns="").ok()
    pod.run(cni_bin, "DEL", bw_conf(None, **BOTH), netns="").ok()


def test_del_without_prev_result_removes_the_ifb(pod, cni_bin):
    pod.run(cni_bin, "ADD", bw_conf(pod, **BOTH)).ok()
    pod.run(cni_bin, "DEL", bw_conf(None, **BOTH)).ok()
    assert pod.ifbs() == []


def test_del_leaves_foreign_qdiscs(pod, cni_bin):
    """Only the tbf with this config's numbers and an ingress qdisc redirecting to this pod's ifb
    are ours to remove."""
    pod.host.run(
        "tc",
        "qdisc",
        "add",
        "dev",
        HOST_VETH,
        "root",
        "tbf",
        "rate",
        "1mbit",
        "burst",
        "10k",
        "latency",
        "50ms",
    )
    pod.run(cni_bin, "DEL", bw_conf(pod, **BOTH)).ok()
    assert [q["kind"] for q in pod.qdiscs() if q["dev"] == HOST_VETH] == ["tbf"]


def test_failed_add_rolls_back(pod, cni_bin, go_dir):
    """A link already named like the ifb makes ADD fail after the ingress tbf was made: ours removes
    that tbf again (Go leaves it behind)."""
    name = ifb_name(NETWORK, pod.container_id)
    pod.host.run("ip", "link", "add", name, "type", "veth", "peer", "name", "blocker0")
    before = pod.state()
    add = pod.run(cni_bin, "ADD", bw_conf(pod, **BOTH))
    assert add.code == 1 and add.json["msg"] == "adding link: file exists"
    assert pod.state() == before
    go_add = pod.run(go_dir, "ADD", bw_conf(pod, **BOTH))
    assert go_add.json["msg"] == add.json["msg"]
    # DEL leaves a device of that name alone when it is not an ifb
    pod.host.run("tc", "qdisc", "del", "dev", HOST_VETH, "root")
    pod.run(cni_bin, "DEL", bw_conf(pod, **BOTH)).ok()
    assert pod.host.link(name) is not None


def test_check_finds_what_changed(pod, cni_bin):
    conf = bw_conf(pod, **BOTH)
    pod.run(cni_bin, "ADD", conf).ok()
    ifb = ifb_name(NETWORK, pod.container_id)

    def check_msg() -> str:
        run = pod.run(cni_bin, "CHECK", conf)
        return "" if run.code == 0 else run.json["msg"]

    assert check_msg() == ""
    pod.host.run(
        "tc",
        "qdisc",
        "change",
        "dev",
        ifb,
        "root",
        "tbf",
        "rate",
        "9mbit",
        "burst",
        "20000",
        "latency",
        "25ms",
    )
    assert check_msg() == "Rate doesn't match"
    pod.host.run("tc", "filter", "del", "dev", HOST_VETH, "ingress")
    pod.host.run("tc", "qdisc", "del", "dev", ifb, "root")
    assert check_msg() == "Failed to find qdisc"
    pod.host.run("ip", "link", "del", ifb)
    assert check_msg() == "get ifb device: Link not found"
    pod.host.run("tc", "qdisc", "del", "dev", HOST_VETH, "root")
    assert check_msg() == "Failed to find qdisc"


def test_check_of_the_redirect(pod, cni_bin):
    conf = bw_conf(pod, egressRate=8_000_000, egressBurst=80_000)
    pod.run(cni_bin, "ADD", conf).ok()
    pod.host.run("tc", "filter", "del", "dev", HOST_VETH, "ingress")
    run = pod.run(cni_bin, "CHECK", conf)
    assert (
        run.json["msg"] == f"Failed to find the filter redirecting to {ifb_name(NETWORK, pod.container_id)}"
    )
    pod.host.run("tc", "qdisc", "del", "dev", HOST_VETH, "ingress")
    assert pod.run(cni_bin, "CHECK", conf).json["msg"] == "Failed to find the ingress qdisc"


def test_gc_status_version(pod, cni_bin):
    for verb in ("GC", "STATUS"):
        run = pod.run(cni_bin, verb, bw_conf(None, "1.1.0"))
        assert (run.code, run.stdout) == (0, "")
    version = pod.run(cni_bin, "VERSION", "")
    assert version.json["supportedVersions"] == ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    old = pod.run(cni_bin, "ADD", bw_conf(None, "0.2.0"))
    assert old.json["code"] == 1


def test_mtu_follows_the_host_veth(pod, cni_bin):
    pod.host.run("ip", "link", "set", HOST_VETH, "mtu", "1400")
    pod.run(cni_bin, "ADD", bw_conf(pod, **BOTH)).ok()
    assert [link["mtu"] for link in pod.ifbs()] == [1400]


def test_served_by_the_warm_server(pod, cni_bin):
    """bandwidth is one of the programs the warm server serves: ADD, CHECK and DEL through it give
    the same kernel state as cold calls."""
    from tests.harness import PluginRunner
    from tests.kernel.test_warm import WARM, served, start_server, stop_servers

    conf = bw_conf(pod, **BOTH)
    try:
        start_server(PluginRunner(cni_bin, pod.host))
        before = served(pod.host)
        result = pod.run(cni_bin, "ADD", conf, env=WARM).ok().json
        assert result["interfaces"][-1]["name"] == ifb_name(NETWORK, pod.container_id)
        assert len(pod.ifbs()) == 1
        assert pod.run(cni_bin, "CHECK", conf, env=WARM).ok().stdout == ""
        pod.run(cni_bin, "DEL", conf, env=WARM).ok()
        assert pod.ifbs() == []
        assert served(pod.host) >= before + 3
    finally:
        stop_servers(pod.host)
