"""The reference's bridge scenarios against the real kernel, per spec version (plugins.md 1.10)."""

from __future__ import annotations

import os

import pytest

from tests.bridge.conftest import (
    ALL_VERSIONS,
    attach,
    global_addrs,
    link_names,
    needs_version,
    netconf,
    port_info,
)

pytestmark = pytest.mark.kernel


def ip_entries(result: dict, version: str) -> list[tuple[str, str]]:
    """(address, gateway) of a result of any version."""
    if version in ("0.1.0", "0.2.0"):
        return [(result[k]["ip"], result[k].get("gateway", "")) for k in ("ip4", "ip6") if k in result]
    return [(ip["address"], ip.get("gateway", "")) for ip in result.get("ips", [])]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_ipv4_add_check_del(version, br, host_ns, container_ns, data_dir):
    needs_version(version)
    conf = netconf(version, data_dir=data_dir, isDefaultGateway=True)
    pod = attach(br, conf, container_ns)
    pod.add.ok()
    result = pod.result
    assert result["cniVersion"] == version
    assert ip_entries(result, version) == [("10.1.0.2/24", "10.1.0.1")]
    if version in ("0.1.0", "0.2.0"):
        assert result["ip4"]["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}]
    else:
        bridge, host, cont = result["interfaces"]
        assert bridge["name"] == "cni0" and host["name"].startswith("veth") and len(host["name"]) == 12
        assert cont == {"name": "eth0", "mac": cont["mac"], "sandbox": container_ns.path}
        assert all(len(i["mac"]) == 17 for i in result["interfaces"])
        assert [ip["interface"] for ip in result["ips"]] == [2]
        assert result["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}]
        if version.startswith("0.3") or version == "0.4.0":
            assert result["ips"][0]["version"] == "4"
        # kernel: the veth is a port of the bridge, the host has nothing else
        assert link_names(host_ns) == {"lo", "cni0", host["name"]}
        assert host_ns.link(host["name"])["master"] == "cni0"
        assert container_ns.link("eth0")["address"] == cont["mac"]
        assert host_ns.link("cni0")["address"] == bridge["mac"]
    assert "10.1.0.1/24" in host_ns.addrs("cni0")
    assert global_addrs(container_ns, "eth0") == ["10.1.0.2/24"]
    default = [r for r in container_ns.routes() if r["dst"] == "default"]
    assert [(r["gateway"], r["dev"]) for r in default] == [("10.1.0.1", "eth0")]
    assert host_ns.sysctl("net/ipv4/ip_forward") == "1"
    assert container_ns.sysctl("net/ipv4/conf/eth0/arp_notify") == "1"
    assert container_ns.sysctl("net/ipv6/conf/eth0/accept_dad") == "0"
    assert host_ns.sysctl("net/ipv6/conf/cni0/accept_ra") == "0"

    if version >= "0.4.0":
        pod.call("CHECK").ok()

    pod.call("DEL").ok()
    assert link_names(host_ns) == {"lo", "cni0"}
    assert "eth0" not in link_names(container_ns)
    assert not os.path.exists(os.path.join(data_dir, "brnet", "10.1.0.2"))
    pod.call("DEL").ok()  # idempotent


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0", "1.1.0"])
def test_dual_stack_add_check_del(version, br, host_ns, container_ns, data_dir):
    needs_version(version)
    conf = netconf(version, data_dir=data_dir, subnets=("10.1.0.0/24", "fd00:1::/64"), isDefaultGateway=True)
    pod = attach(br, conf, container_ns)
    pod.add.ok()
    assert ip_entries(pod.result, version) == [("10.1.0.2/24", "10.1.0.1"), ("fd00:1::2/64", "fd00:1::1")]
    assert pod.result["routes"] == [
        {"dst": "0.0.0.0/0", "gw": "10.1.0.1"},
        {"dst": "::/0", "gw": "fd00:1::1"},
    ]
    addrs = container_ns.json("ip", "-j", "-6", "addr", "show", "dev", "eth0")[0]["addr_info"]
    global_v6 = [a for a in addrs if a["scope"] == "global"]
    assert [a["local"] for a in global_v6] == ["fd00:1::2"] and not global_v6[0].get("tentative")
    assert {"10.1.0.1/24", "fd00:1::1/64"} <= set(host_ns.addrs("cni0"))
    default6 = [r for r in container_ns.routes("-6") if r["dst"] == "default"]
    assert [r["gateway"] for r in default6] == ["fd00:1::1"]
    assert host_ns.sysctl("net/ipv6/conf/all/forwarding") == "1"
    assert container_ns.sysctl("net/ipv6/conf/eth0/keep_addr_on_down") == "1"
    pod.call("CHECK").ok()
    pod.call("DEL").ok()
    assert os.listdir(os.path.join(data_dir, "brnet")) in ([], ["lock"]) or all(
        name.startswith(("last_reserved_ip", "lock")) for name in os.listdir(os.path.join(data_dir, "brnet"))
    )


def test_one_v4_two_v6(br, host_ns, container_ns, data_dir):
    subnets = ("10.1.0.0/24", "fd00:1::/64", "fd00:2::/64")
    pod = attach(
        br, netconf("1.0.0", data_dir=data_dir, subnets=subnets, isDefaultGateway=True), container_ns
    )
    pod.add.ok()
    assert [a for a, _ in ip_entries(pod.result, "1.0.0")] == ["10.1.0.2/24", "fd00:1::2/64", "fd00:2::2/64"]
    # non-overlapping IPv6 gateways accumulate on the bridge
    assert {"fd00:1::1/64", "fd00:2::1/64"} <= set(host_ns.addrs("cni0"))
    assert [r["dst"] for r in pod.result["routes"]] == ["0.0.0.0/0", "::/0"]
    pod.call("CHECK").ok()
    pod.call("DEL").ok()


def test_one_v4_two_v6_fails_below_0_3(br, host_ns, container_ns, data_dir):
    subnets = ("10.1.0.0/24", "fd00:1::/64", "fd00:2::/64")
    pod = attach(br, netconf("0.2.0", data_dir=data_dir, subnets=subnets, isGateway=True), container_ns)
    assert pod.add.code != 0
    assert "does not support more than 1 address per family" in pod.add.json["msg"]
    assert link_names(host_ns) <= {"lo", "cni0"} and "eth0" not in link_names(container_ns)


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0", "1.1.0"])
def test_layer2_add_check_del(version, br, host_ns, container_ns):
    pod = attach(br, netconf(version), container_ns)
    pod.add.ok()
    assert "ips" not in pod.result and len(pod.result["interfaces"]) == 3
    eth0 = container_ns.link("eth0")
    assert "UP" in eth0["flags"] and global_addrs(container_ns, "eth0") == []
    assert global_addrs(host_ns, "cni0") == []
    pod.call("CHECK").ok()  # Go fails here ("no plugin name provided"); L2 CHECK works for us
    pod.call("DEL").ok()
    assert link_names(host_ns) == {"lo", "cni0"}


def test_layer2_below_0_3_fails_before_touching_anything(br, host_ns, container_ns):
    pod = attach(br, netconf("0.2.0"), container_ns)
    assert pod.add.json["code"] == 999 and pod.add.json["msg"] == "cannot convert: no valid IP addresses"
    assert link_names(host_ns) == {"lo"} and link_names(container_ns) == {"lo"}


def test_dns_of_the_config_is_the_result_dns(br, host_ns, container_ns, data_dir):
    dns = {"nameservers": ["10.1.0.53"], "domain": "ex.test", "search": ["a.test"], "options": ["ndots:2"]}
    pod = attach(br, netconf(data_dir=data_dir, isGateway=True, dns=dns), container_ns)
    pod.add.ok()
    assert pod.result["dns"] == dns
    pod.call("DEL").ok()


def test_existing_bridge_is_reused_and_keeps_its_mtu(br, host_ns, container_ns, data_dir):
    host_ns.run("ip", "link", "add", "cni0", "type", "bridge")
    host_ns.run("ip", "link", "set", "cni0", "mtu", "1400")
    index = host_ns.link("cni0")["ifindex"]
    pod = attach(br, netconf(data_dir=data_dir, isGateway=True, mtu=1300), container_ns)
    pod.add.ok()
    assert host_ns.link("cni0")["ifindex"] == index and host_ns.link("cni0")["mtu"] == 1400
    assert container_ns.link("eth0")["mtu"] == 1300
    assert host_ns.link(pod.result["interfaces"][1]["name"])["mtu"] == 1300
    pod.call("DEL").ok()


def test_new_bridge_gets_the_configured_mtu(br, host_ns, container_ns, data_dir):
    pod = attach(br, netconf(data_dir=data_dir, bridge="br-mtu", mtu=1400), container_ns)
    pod.add.ok()
    assert host_ns.link("br-mtu")["mtu"] == 1400 and container_ns.link("eth0")["mtu"] == 1400
    pod.call("DEL").ok()


def test_name_taken_by_a_non_bridge(br, host_ns, container_ns, data_dir):
    host_ns.run("ip", "link", "add", "notbr0", "type", "veth", "peer", "name", "notbr1")
    pod = attach(br, netconf(data_dir=data_dir, bridge="notbr0"), container_ns)
    assert pod.add.json["code"] == 999
    assert (
        pod.add.json["msg"] == 'failed to create bridge "notbr0": "notbr0" already exists but is not a bridge'
    )
    assert "eth0" not in link_names(container_ns)


def test_container_interface_name_taken(br, host_ns, container_ns, data_dir):
    container_ns.run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
    pod = attach(br, netconf(data_dir=data_dir, isGateway=True), container_ns)
    assert pod.add.json["code"] == 999
    assert pod.add.json["msg"].startswith('container veth name ("eth0") peer provided ("veth')
    assert link_names(host_ns) == {"lo", "cni0"}
    assert os.listdir(data_dir) == []  # IPAM never ran


def test_ipv4_bridge_address_conflict_and_force_address(br, host_ns, netns_factory, data_dir, tmp_path):
    first = attach(br, netconf(data_dir=data_dir, isGateway=True), netns_factory())
    first.add.ok()
    other_dir = str(tmp_path / "other")
    conf = netconf(data_dir=other_dir, subnets=("10.2.0.0/24",), isGateway=True)
    clash = attach(br, conf, netns_factory())
    assert clash.add.json["code"] == 999
    assert (
        clash.add.json["msg"]
        == 'failed to set bridge addr: "cni0" already has an IP address different from 10.2.0.1/24'
    )
    # the failed ADD rolled back: its veth is gone and its IP was released
    assert len([n for n in link_names(host_ns) if n.startswith("veth")]) == 1
    assert not os.path.exists(os.path.join(other_dir, "brnet", "10.2.0.2"))
    forced = attach(br, dict(conf, forceAddress=True), netns_factory())
    forced.add.ok()
    v4 = [a for a in global_addrs(host_ns, "cni0") if ":" not in a]
    assert v4 == ["10.2.0.1/24"]


def test_ipv6_overlapping_gateway_conflicts(br, host_ns, netns_factory, data_dir, tmp_path):
    attach(br, netconf(data_dir=data_dir, subnets=("fd00:1::/64",), isGateway=True), netns_factory()).add.ok()
    conf = netconf(data_dir=str(tmp_path / "o"), subnets=("fd00:1::/48",), isGateway=True)
    clash = attach(br, conf, netns_factory())
    assert "already has an IP address different from fd00:1::1/48" in clash.add.json["msg"]
    attach(br, dict(conf, forceAddress=True), netns_factory()).add.ok()
    v6 = [a for a in global_addrs(host_ns, "cni0") if ":" in a]
    assert v6 == ["fd00:1::1/48"]


def test_promiscuous_mode(br, host_ns, container_ns):
    pod = attach(br, netconf(promiscMode=True), container_ns)
    pod.add.ok()
    assert host_ns.link("cni0")["promiscuity"] >= 1
    pod.call("CHECK").ok()
    bad = dict(pod.conf_with_prev(), promiscMode=False)
    check = pod.call("CHECK", bad)
    assert (
        check.json["code"] == 999
        and "configured Promisc Mode false doesn't match current state: true" in check.stdout
    )


def test_bridge_mac_is_stable_across_add_and_del(br, host_ns, netns_factory, data_dir):
    conf = netconf(data_dir=data_dir, subnets=("10.1.0.0/24", "fd00:1::/64"), isGateway=True)
    first = attach(br, conf, netns_factory())
    first.add.ok()
    mac = host_ns.link("cni0")["address"]
    assert first.result["interfaces"][0]["mac"] == mac
    second = attach(br, conf, netns_factory())
    second.add.ok()
    first.call("DEL").ok()
    assert second.result["interfaces"][0]["mac"] == mac == host_ns.link("cni0")["address"]
    second.call("DEL").ok()
    assert host_ns.link("cni0")["address"] == mac


@pytest.mark.parametrize(
    "where,keys,args",
    [
        ("CNI_ARGS", {}, "IgnoreUnknown=1;MAC=0a:58:0a:01:00:11"),
        ("args", {"args": {"cni": {"mac": "0a:58:0a:01:00:11"}}}, "IgnoreUnknown=1;MAC=0a:58:0a:01:00:99"),
        (
            "runtimeConfig",
            {"runtimeConfig": {"mac": "0a:58:0a:01:00:11"}, "args": {"cni": {"mac": "0a:58:0a:01:00:99"}}},
            "",
        ),
    ],
)
def test_explicit_container_mac(where, keys, args, br, container_ns, data_dir):
    pod = attach(br, netconf(data_dir=data_dir, **keys), container_ns, args=args or "IgnoreUnknown=1")
    pod.add.ok()
    assert container_ns.link("eth0")["address"] == "0a:58:0a:01:00:11"
    assert pod.result["interfaces"][2]["mac"] == "0a:58:0a:01:00:11"
    pod.call("CHECK", args=args or "IgnoreUnknown=1").ok()


def test_disable_container_interface(br, host_ns, container_ns, data_dir):
    pod = attach(br, netconf(disableContainerInterface=True), container_ns)
    pod.add.ok()
    assert "UP" not in container_ns.link("eth0")["flags"]
    pod.call("DEL").ok()
    rejected = attach(br, netconf(data_dir=data_dir, disableContainerInterface=True), container_ns)
    assert rejected.add.json["msg"] == "cannot use IPAM when DisableContainerInterface flag is set"


@pytest.mark.parametrize("isolated,hairpin", [(False, False), (True, True)])
def test_port_isolation_and_hairpin(isolated, hairpin, br, host_ns, container_ns):
    pod = attach(br, netconf(portIsolation=isolated, hairpinMode=hairpin), container_ns)
    pod.add.ok()
    info = port_info(host_ns, pod.result["interfaces"][1]["name"])
    assert info["isolated"] is isolated and info["hairpin"] is hairpin


def test_enabled_dad(br, container_ns, data_dir):
    pod = attach(br, netconf(data_dir=data_dir, enabledad=True), container_ns)
    pod.add.ok()
    assert container_ns.sysctl("net/ipv6/conf/eth0/accept_dad") == "1"
    assert container_ns.sysctl("net/ipv6/conf/eth0/enhanced_dad") == "1"


def test_macspoofchk_rules_follow_the_attachment(br, host_ns, container_ns, data_dir):
    pod = attach(br, netconf(data_dir=data_dir, macspoofchk=True), container_ns)
    pod.add.ok()
    ref = f"{pod.container_id}-eth0"
    table = host_ns.run("nft", "list", "table", "bridge", "nat")
    host_veth, mac = pod.result["interfaces"][1]["name"], pod.result["interfaces"][2]["mac"]
    assert f'iifname "{host_veth}" jump cni-br-iface-{ref} comment "macspoofchk-{ref}"' in table
    assert f'ether saddr {mac} return comment "macspoofchk-{ref}"' in table
    assert f'drop comment "macspoofchk-{ref}"' in table
    pod.call("DEL").ok()
    table = host_ns.run("nft", "list", "table", "bridge", "nat")
    assert ref not in table and "chain PREROUTING" in table


def test_check_reports_drift(br, host_ns, container_ns, data_dir):
    pod = attach(br, netconf(data_dir=data_dir, isDefaultGateway=True), container_ns)
    pod.add.ok()
    container_ns.run("ip", "route", "del", "default")
    check = pod.call("CHECK")
    assert (
        check.json["code"] == 999
        and "Expected Route {Dst:0.0.0.0/0 GW:10.1.0.1} not found in routing table" in check.stdout
    )
    container_ns.run("ip", "addr", "del", "10.1.0.2/24", "dev", "eth0")
    assert "Failed to match addr 10.1.0.2/24 on interface eth0" in pod.call("CHECK").stdout
    host_ns.run("ip", "link", "del", pod.result["interfaces"][1]["name"])
    assert "Interface name eth0 not found" in pod.call("CHECK").stdout
    missing = pod.call("CHECK", pod.conf)
    assert "Required prevResult missing" in missing.stdout


@pytest.mark.parametrize("keys", [{"vlan": 100}, {"vlanTrunk": [{"id": 101}, {"minID": 200, "maxID": 210}]}])
def test_vlan_needs_kernel_vlan_filtering(keys, br, host_ns, container_ns):
    pod = attach(br, netconf(**keys), container_ns)
    if pod.add.code != 0 and "operation not supported" in pod.add.stdout.lower():
        assert link_names(container_ns) == {"lo"}  # the failed ADD left nothing behind
        pytest.skip("this kernel has no bridge VLAN filtering (EOPNOTSUPP); VLAN programming untestable here")
    pod.add.ok()
    assert host_ns.link("cni0")["linkinfo"]["info_data"]["vlan_filtering"] == 1


def test_status_reports_an_unusable_bridge(br, host_ns, data_dir):
    conf = netconf("1.1.0", data_dir=data_dir, bridge="stbr0")
    br.run("bridge", "STATUS", conf).ok()  # absent: ADD will create it
    host_ns.run("ip", "link", "add", "stbr0", "type", "veth", "peer", "name", "stbr1")
    status = br.run("bridge", "STATUS", conf)
    assert status.json["code"] == 50 and status.json["msg"] == '"stbr0" already exists but is not a bridge'
    assert br.run("bridge", "STATUS", netconf("1.1.0", bridge="other0")).ok()


def test_status_and_gc_delegate_to_ipam(br, host_ns, netns_factory, data_dir):
    conf = netconf("1.1.0", data_dir=data_dir, isGateway=True)
    keep, drop = attach(br, conf, netns_factory()), attach(br, conf, netns_factory())
    keep.add.ok()
    drop.add.ok()
    br.run("bridge", "STATUS", conf).ok()
    valid = [{"containerID": keep.container_id, "ifname": "eth0"}]
    br.run("bridge", "GC", dict(conf, **{"cni.dev/valid-attachments": valid})).ok()
    allocated = sorted(n for n in os.listdir(os.path.join(data_dir, "brnet")) if n[0].isdigit())
    assert allocated == ["10.1.0.2"]  # host-local's GC released the stale attachment's address
