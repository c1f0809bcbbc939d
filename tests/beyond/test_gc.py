"""Item 4: a GC that cannot hurt. Without `cni.dev/valid-attachments` GC removes nothing (a live
hostPort mapping and a live container's masquerade keep working); a present list, even empty, is
authoritative. tuning GC removes the backups of attachments that are gone, bridge GC the
spoof-check chains of attachments that are gone, and portmap answers STATUS."""

from __future__ import annotations

import json
import os

import pytest

from tests.portmap.conftest import ask

from .conftest import HOST_OUT, OUTSIDE_IP, probe_once, wait_ready

pytestmark = pytest.mark.kernel

VALID = "cni.dev/valid-attachments"


def gc(pod, plugin: str, conf: dict, valid: list | None):
    conf = {k: v for k, v in conf.items() if k != "prevResult"}
    if valid is not None:
        conf[VALID] = [{"containerID": p.id, "ifname": "eth0"} for p in valid]
    return pod.topo.runner.run(plugin, "GC", conf)


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_portmap_gc_without_a_list_keeps_live_mappings(backend, topo):
    a = topo.attach([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}], {"backend": backend})
    topo.serve(a.ns, 80, "container")
    conf = a.portmap_conf(a.result)
    assert ask(topo.outside.ns, "tcp", HOST_OUT, 8080) == f"container {OUTSIDE_IP}"
    gc(a, "portmap", conf, None).ok()
    assert ask(topo.outside.ns, "tcp", HOST_OUT, 8080) == f"container {OUTSIDE_IP}"
    gc(a, "portmap", conf, [a]).ok()
    assert ask(topo.outside.ns, "tcp", HOST_OUT, 8080) == f"container {OUTSIDE_IP}"
    gc(a, "portmap", conf, []).ok()  # authoritative: nothing is valid any more
    assert ask(topo.outside.ns, "tcp", HOST_OUT, 8080) is None


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_bridge_gc_without_a_list_keeps_the_masquerade(backend, topo):
    a = topo.attach(ipMasqBackend=backend)
    server = topo.start(topo.outside.ns, "tcpserver", "9000")
    wait_ready(server)
    out_mac = topo.outside.ns.link("eth0")["address"]

    def reaches_outside() -> bool:
        # The outside has no route back to the container subnet: only masquerade lets it answer.
        gateway_mac = topo.host.link(topo.bridge)["address"]
        return probe_once(a.ns, "syn", "eth0", gateway_mac, a.ip, OUTSIDE_IP, "9000") == "synack"

    assert out_mac and reaches_outside()
    gc(a, "bridge", a.conf, None).ok()
    assert reaches_outside()
    ipam_dir = os.path.join(topo.data_dir, "beyond")
    assert a.ip in os.listdir(ipam_dir)  # host-local follows the same rule
    gc(a, "bridge", a.conf, [a]).ok()
    assert reaches_outside()
    gc(a, "bridge", a.conf, []).ok()
    assert not reaches_outside()
    listing = topo.host.run("iptables-save") + topo.host.run("nft", "list", "ruleset")
    assert a.ip not in listing  # masquerade and INVALID drop both gone
    assert a.ip not in os.listdir(ipam_dir)


def test_tuning_gc_removes_backups_of_gone_attachments(topo, tmp_path):
    data_dir = str(tmp_path / "tuning")
    pods = [topo.attach(), topo.attach(), topo.attach()]
    confs = []
    for index, pod in enumerate(pods):
        conf = {
            "cniVersion": "1.1.0",
            "name": "other" if index == 2 else "beyond",
            "type": "tuning",
            "mtu": 1400,
            "dataDir": data_dir,
            "prevResult": pod.result,
        }
        pod.run("tuning", "ADD", conf).ok()
        confs.append(conf)
    go_made = os.path.join(data_dir, "go-ctr_eth0.json")  # no record of its network: never touched
    with open(go_made, "w") as f:
        json.dump({"mtu": 1500}, f)

    def backups() -> set[str]:
        return {name for name in os.listdir(data_dir) if name.endswith(".json")}

    every = {f"{p.id}_eth0.json" for p in pods} | {"go-ctr_eth0.json"}
    assert backups() == every
    gc(pods[0], "tuning", confs[0], None).ok()
    assert backups() == every
    gc(pods[0], "tuning", confs[0], [pods[0]]).ok()
    assert backups() == every - {f"{pods[1].id}_eth0.json"}  # the other network's stays
    gc(pods[2], "tuning", confs[2], []).ok()
    assert backups() == {f"{pods[0].id}_eth0.json", "go-ctr_eth0.json"}
    pods[0].run("tuning", "DEL", confs[0]).ok()
    assert backups() == {"go-ctr_eth0.json"}
    assert topo.host.run("ls", "-A", os.path.join(data_dir, "networks", "beyond")).strip() == ""


def spoof_chains(topo) -> set[str]:
    listing = topo.host.run("nft", "list", "table", "bridge", "nat", check=False)
    return {
        line.split()[1] for line in listing.splitlines() if line.strip().startswith("chain cni-br-iface-")
    }


def test_bridge_gc_removes_spoofcheck_chains_of_gone_attachments(topo, tmp_path):
    a, b = topo.attach(macspoofchk=True), topo.attach(macspoofchk=True)
    ipam = {"type": "host-local", "ranges": [[{"subnet": "10.152.0.0/24"}]], "dataDir": str(tmp_path / "o")}
    other = topo.attach(macspoofchk=True, name="other", bridge="cbrother", ipam=ipam)  # another network

    def chains(*pods) -> set[str]:
        return {name for p in pods for name in (f"cni-br-iface-{p.id}-eth0", f"cni-br-iface-{p.id}-eth0-mac")}

    assert spoof_chains(topo) == chains(a, b, other)
    gc(a, "bridge", a.conf, None).ok()
    assert spoof_chains(topo) == chains(a, b, other)
    gc(a, "bridge", a.conf, [a]).ok()
    assert spoof_chains(topo) == chains(a, other)  # the other network's port is on another bridge
    # A chain whose port is gone is stale for any network's GC.
    port = other.result["interfaces"][1]["name"]
    topo.host.run("ip", "link", "del", port)
    gc(a, "bridge", a.conf, [a]).ok()
    assert spoof_chains(topo) == chains(a)


def test_portmap_status_reports_an_unusable_firewall_tool(topo, tmp_path):
    a = topo.attach()
    conf = {"cniVersion": "1.1.0", "name": "beyond", "type": "portmap", "backend": "nftables"}
    a.topo.runner.run("portmap", "STATUS", conf).ok()
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "nft").write_text("#!/bin/sh\necho 'nft: broken' >&2\nexit 1\n")
    (broken / "nft").chmod(0o755)
    env = {"PATH": f"{broken}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"}
    run = a.topo.runner.run("portmap", "STATUS", conf, env=env)
    assert run.code != 0 and run.json["code"] == 50, run.stdout
    assert "nft" in run.json["msg"]
