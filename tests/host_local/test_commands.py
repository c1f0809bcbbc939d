"""The verbs through the skeleton, in-process (Go's host_local_test.go scenarios and more)."""

from __future__ import annotations

import os
import stat

import pytest

from libcni.types.version import SUPPORTED_VERSIONS

from .conftest import HostLocal

MULTI_IPS = [v for v in SUPPORTED_VERSIONS if v >= "0.3.0"]


def result_addresses(reply, version: str) -> list[tuple[str, str]]:
    """(address, gateway) pairs from a result of any version."""
    body = reply.ok().json
    assert body["cniVersion"] == version
    if version in ("0.1.0", "0.2.0"):
        return [(body[k]["ip"], body[k].get("gateway", "")) for k in ("ip4", "ip6") if k in body]
    if version in ("0.3.0", "0.3.1", "0.4.0"):
        assert all("version" in i for i in body["ips"])
    else:
        assert all("version" not in i for i in body["ips"])
    return [(i["address"], i.get("gateway", "")) for i in body["ips"]]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
@pytest.mark.parametrize("ifname", ["eth0", "eth1"])
def test_allocates_and_releases_with_add_and_del(hl: HostLocal, tmp_path, version, ifname):
    (tmp_path / "resolv.conf").write_text("nameserver 192.0.2.3")
    conf = hl.conf(
        version,
        resolvConf=str(tmp_path / "resolv.conf"),
        ranges=[[{"subnet": "10.1.2.0/24"}, {"subnet": "10.2.2.0/24"}], [{"subnet": "2001:db8:1::0/64"}]],
        routes=[
            {"dst": "0.0.0.0/0"},
            {"dst": "::/0"},
            {"dst": "192.168.0.0/16", "gw": "1.1.1.1"},
            {"dst": "2001:db8:2::0/64", "gw": "2001:db8:3::1"},
        ],
    )
    reply = hl.add(conf, ifname=ifname)
    assert reply.stderr == ""  # no "Error retrieving last reserved ip" on first use
    assert result_addresses(reply, version) == [
        ("10.1.2.2/24", "10.1.2.1"),
        ("2001:db8:1::2/64", "2001:db8:1::1"),
    ]
    body = reply.json
    if version >= "0.3.0":
        assert body["routes"] == [
            {"dst": "0.0.0.0/0"},
            {"dst": "::/0"},
            {"dst": "192.168.0.0/16", "gw": "1.1.1.1"},
            {"dst": "2001:db8:2::/64", "gw": "2001:db8:3::1"},
        ]
        assert body["dns"] == {"nameservers": ["192.0.2.3"]}
    else:
        assert body["ip4"]["routes"] == [{"dst": "0.0.0.0/0"}, {"dst": "192.168.0.0/16", "gw": "1.1.1.1"}]
    files = hl.files()
    assert files["10.1.2.2"] == f"dummy\r\n{ifname}".encode()
    assert files["2001:db8:1::2"] == f"dummy\r\n{ifname}".encode()
    assert files["last_reserved_ip.0"] == b"10.1.2.2"
    assert files["last_reserved_ip.1"] == b"2001:db8:1::2"
    if version >= "0.4.0":
        hl.run("CHECK", conf, ifname=ifname).ok()

    hl.delete(conf, ifname=ifname).ok()
    assert set(hl.files()) == {"lock", "last_reserved_ip.0", "last_reserved_ip.1"}


def test_store_file_modes_and_layout(hl: HostLocal):
    hl.add(hl.conf(subnet="10.1.2.0/24")).ok()
    modes = {name: stat.S_IMODE(os.stat(os.path.join(hl.net_dir, name)).st_mode) for name in hl.files()}
    assert modes == {"10.1.2.2": 0o600, "last_reserved_ip.0": 0o600, "lock": 0o750 & ~current_umask()}
    assert stat.S_IMODE(os.stat(hl.net_dir).st_mode) == 0o755 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_repeated_add_for_the_same_attachment_fails(hl: HostLocal, version):
    conf = hl.conf(version, ranges=[[{"subnet": "10.1.2.0/24"}]])
    assert result_addresses(hl.add(conf), version) == [("10.1.2.2/24", "10.1.2.1")]
    err = hl.add(conf).error()
    assert (
        err["msg"] == "failed to allocate for range 0: 10.1.2.2 has been allocated to dummy, "
        "duplicate allocation is not allowed"
    )
    assert result_addresses(hl.add(conf, "dummy1"), version) == [("10.1.2.3/24", "10.1.2.1")]
    hl.add(conf).error()
    hl.delete(conf).ok()
    assert "10.1.2.2" not in hl.files()
    hl.delete(conf, "dummy1").ok()
    assert hl.allocations() == {}


def test_del_releases_a_legacy_id_only_file(hl: HostLocal):
    conf = hl.conf(ranges=[[{"subnet": "10.1.2.0/24"}]])
    hl.add(conf).ok()
    with open(os.path.join(hl.net_dir, "10.1.2.2"), "w") as f:
        f.write("dummy")  # what very old plugin versions wrote
    hl.run("CHECK", conf).ok()
    hl.delete(conf).ok()
    assert hl.allocations() == {}


def test_del_of_an_unknown_container_succeeds(hl: HostLocal):
    conf = hl.conf(subnet="10.1.2.0/24")
    hl.delete(conf).ok()
    assert not os.path.exists(hl.data_dir)  # nothing allocated, nothing created
    hl.add(conf, "other").ok()
    hl.delete(conf).ok()
    hl.delete(conf).ok()
    assert hl.allocations() == {"10.1.2.2": "other\r\neth0"}


def test_container_id_with_whitespace_is_refused_by_the_skeleton(hl: HostLocal):
    err = hl.add(hl.conf(subnet="10.1.2.0/24"), "   dummy\n ").error()
    assert err["code"] == 4 and err["msg"] == "invalid characters in containerID"


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_custom_ip_from_config_args(hl: HostLocal, version):
    conf = hl.conf(
        version, top={"args": {"cni": {"ips": ["10.1.2.88"]}}}, ranges=[[{"subnet": "10.1.2.0/24"}]]
    )
    assert result_addresses(hl.add(conf), version) == [("10.1.2.88/24", "10.1.2.1")]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_custom_ips_from_two_ranges(hl: HostLocal, version):
    conf = hl.conf(
        version,
        top={"args": {"cni": {"ips": ["10.1.2.88", "10.1.3.77"]}}},
        ranges=[[{"subnet": "10.1.2.0/24"}], [{"subnet": "10.1.3.0/24"}]],
    )
    reply = hl.add(conf)
    if version not in MULTI_IPS:
        assert (
            reply.error()["msg"] == f"CNI version {version} does not support more than 1 address per family"
        )
        return
    assert [a for a, _ in result_addresses(reply, version)] == ["10.1.2.88/24", "10.1.3.77/24"]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_custom_ips_of_both_families(hl: HostLocal, version):
    conf = hl.conf(
        version,
        top={"args": {"cni": {"ips": ["10.1.2.88", "2001:db8:1::999"]}}},
        ranges=[[{"subnet": "172.16.1.0/24"}, {"subnet": "10.1.2.0/24"}], [{"subnet": "2001:db8:1::/48"}]],
    )
    assert [a for a, _ in result_addresses(hl.add(conf), version)] == ["10.1.2.88/24", "2001:db8:1::999/48"]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_unused_requested_ip_fails_and_releases(hl: HostLocal, version):
    conf = hl.conf(
        version,
        top={"args": {"cni": {"ips": ["10.1.2.88", "10.1.2.77"]}}},
        ranges=[[{"subnet": "10.1.2.0/24"}], [{"subnet": "10.1.3.0/24"}]],
    )
    err = hl.add(conf).error()
    if version not in MULTI_IPS:
        assert err["msg"] == f"CNI version {version} does not support more than 1 address per family"
        return
    assert err["msg"] == "failed to allocate all requested IPs: 10.1.2.77"
    assert (err["code"], err["details"]) == (7, "args.cni.ips[1]")
    assert hl.allocations() == {}


def test_requested_ip_sources_and_runtime_ip_ranges(hl: HostLocal):
    conf = hl.conf(
        top={
            "capabilities": {"ips": True, "ipRanges": True},
            "runtimeConfig": {"ips": ["10.9.0.50/24"], "ipRanges": [[{"subnet": "10.9.0.0/24"}]]},
        },
        ranges=[[{"subnet": "10.1.2.0/24"}]],
    )
    assert hl.add(conf, args="IgnoreUnknown=1;IP=10.1.2.40;K8S_POD_NAME=x").addresses() == [
        "10.9.0.50/24",
        "10.1.2.40/24",
    ]
    assert hl.files()["last_reserved_ip.0"] == b"10.9.0.50"


def test_round_robin_resumes_after_the_last_reserved_address(hl: HostLocal):
    conf = hl.conf(subnet="10.1.2.0/29")
    assert [hl.add(conf, f"c{i}").addresses()[0] for i in range(3)] == [
        "10.1.2.2/29",
        "10.1.2.3/29",
        "10.1.2.4/29",
    ]
    hl.delete(conf, "c0").ok()
    assert hl.add(conf, "c3").addresses() == ["10.1.2.5/29"]
    assert hl.add(conf, "c4").addresses() == ["10.1.2.6/29"]
    assert hl.add(conf, "c5").addresses() == ["10.1.2.2/29"]  # wraps to the freed address
    err = hl.add(conf, "c6").error()
    assert err == {
        "cniVersion": "1.0.0",
        "code": 11,
        "msg": "failed to allocate for range 0: no IP addresses available in range set: 10.1.2.1-10.1.2.6",
        "details": "ipam",
    }


def test_failure_in_a_later_range_set_releases_the_earlier_ones(hl: HostLocal):
    conf = hl.conf(ranges=[[{"subnet": "10.1.2.0/24"}], [{"subnet": "10.1.3.0/30"}]])
    hl.add(conf, "first").ok()
    err = hl.add(conf, "second").error()
    assert err["code"] == 11 and err["msg"].startswith(
        "failed to allocate for range 1: no IP addresses available"
    )
    assert sorted(hl.allocations()) == ["10.1.2.2", "10.1.3.2"]


def test_requested_ip_errors(hl: HostLocal):
    conf = hl.conf(ranges=[[{"subnet": "10.1.2.0/24"}]])
    err = hl.add(conf, args="IP=10.1.2.1").error()
    assert (err["code"], err["details"]) == (7, "CNI_ARGS IP")
    assert err["msg"] == "failed to allocate for range 0: requested ip 10.1.2.1 is subnet's gateway"
    err = hl.add(conf, args="IP=10.1.9.1").error()
    assert (err["code"], err["msg"], err["details"]) == (
        7,
        "failed to allocate all requested IPs: 10.1.9.1",
        "CNI_ARGS IP",
    )
    hl.add(conf, "holder", args="IP=10.1.2.9").ok()
    err = hl.add(conf, args="IP=10.1.2.9").error()
    assert (err["code"], err["details"]) == (11, "CNI_ARGS IP")
    assert err["msg"] == (
        "failed to allocate for range 0: requested IP address 10.1.2.9 is not available "
        "in range set 10.1.2.1-10.1.2.254"
    )
    assert hl.allocations() == {"10.1.2.9": "holder\r\neth0"}


def test_check_verb(hl: HostLocal):
    conf = hl.conf("0.4.0", subnet="10.1.2.0/24")
    err = hl.run("CHECK", conf).error()
    assert (err["code"], err["msg"]) == (3, "host-local: Failed to find address added by container dummy")
    hl.add(conf).ok()
    hl.run("CHECK", conf).ok()
    assert hl.run("CHECK", conf, ifname="eth1").error()["code"] == 3
    err = hl.run("CHECK", hl.conf("0.3.1", subnet="10.1.2.0/24")).error()
    assert err["code"] == 1


def test_unreadable_resolv_conf_fails_before_allocating(hl: HostLocal, tmp_path):
    err = hl.add(hl.conf(subnet="10.1.2.0/24", resolvConf=str(tmp_path / "missing"))).error()
    assert (err["code"], err["details"]) == (5, "ipam.resolvConf")
    assert "No such file" in err["msg"]
    assert not os.path.exists(hl.net_dir)


def test_unwritable_data_dir(hl: HostLocal, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    conf = hl.conf(subnet="10.1.2.0/24", dataDir=str(blocker / "sub"))
    err = hl.add(conf).error()
    assert (err["code"], err["details"]) == (5, "ipam.dataDir")
    assert str(blocker / "sub") in err["msg"]
    err = hl.run("STATUS", {**conf, "cniVersion": "1.1.0"}).error()
    assert (err["code"], err["details"]) == (50, "ipam.dataDir")


@pytest.mark.parametrize(
    ("name", "code"),
    [("..", 7), ("../etc", 7), ("a/b", 7), (".hidden", 7), ("", 7)],
)
def test_network_names_that_would_escape_the_data_dir(hl: HostLocal, name, code):
    conf = hl.conf(subnet="10.1.2.0/24")
    conf["name"] = name
    err = hl.add(conf).error()
    assert err["code"] == code
    assert not os.path.exists(hl.data_dir)


@pytest.mark.parametrize("container_id", ["..", "../x", "a/b", "/etc"])
def test_container_ids_that_would_escape_are_refused(hl: HostLocal, container_id):
    err = hl.add(hl.conf(subnet="10.1.2.0/24"), container_id).error()
    assert err["code"] == 4 and err["msg"] == "invalid characters in containerID"


def test_data_dir_with_dot_dot_is_refused(hl: HostLocal):
    err = hl.add(hl.conf(subnet="10.1.2.0/24", dataDir=hl.data_dir + "/../elsewhere")).error()
    assert (err["code"], err["details"]) == (7, "ipam.dataDir")
    assert not os.path.exists(hl.data_dir)


def test_gc_releases_what_is_not_valid(hl: HostLocal):
    conf = hl.conf("1.1.0", ranges=[[{"subnet": "10.1.2.0/24"}], [{"subnet": "2001:db8::/64"}]])
    for cid, ifname in (("keep", "eth0"), ("keep", "eth1"), ("drop", "eth0")):
        hl.add(conf, cid, ifname).ok()
    with open(os.path.join(hl.net_dir, "10.1.2.200"), "w") as f:
        f.write("legacykeep")
    with open(os.path.join(hl.net_dir, "10.1.2.201"), "w") as f:
        f.write("legacydrop")
    open(os.path.join(hl.net_dir, "10.1.2.202"), "w").close()  # empty: a Go ADD killed mid-write
    gc = {
        **conf,
        "cni.dev/valid-attachments": [
            {"containerID": "keep", "ifname": "eth0"},
            {"containerID": "legacykeep", "ifname": "eth0"},
        ],
    }
    hl.run("GC", gc).ok()
    assert hl.allocations() == {
        "10.1.2.2": "keep\r\neth0",
        "2001:db8::2": "keep\r\neth0",
        "10.1.2.200": "legacykeep",
    }
    assert {"lock", "last_reserved_ip.0", "last_reserved_ip.1"} <= set(hl.files())
    hl.run("GC", conf).ok()  # no list at all: nothing is known to be stale
    assert len(hl.allocations()) == 3
    hl.run("GC", {**conf, "cni.dev/valid-attachments": []}).ok()
    assert hl.allocations() == {}
    assert hl.run("GC", hl.conf("1.0.0", subnet="10.1.2.0/24")).error()["code"] == 1


def test_status_reports_an_exhausted_pool(hl: HostLocal):
    conf = hl.conf("1.1.0", ranges=[[{"subnet": "10.1.2.0/24"}], [{"subnet": "10.1.3.0/30"}]])
    hl.run("STATUS", conf).ok()
    hl.add(conf, "a").ok()
    err = hl.run("STATUS", conf).error()
    assert err == {
        "cniVersion": "1.1.0",
        "code": 50,
        "msg": "no IP addresses available in range set: 10.1.3.1-10.1.3.2",
        "details": "ipam.ranges[1]",
    }
    hl.delete(conf, "a").ok()
    hl.run("STATUS", conf).ok()
    assert hl.run("STATUS", hl.conf("1.0.0", subnet="10.1.2.0/24")).error()["code"] == 1


def test_status_with_a_bad_config_is_a_config_error(hl: HostLocal):
    err = hl.run("STATUS", hl.conf("1.1.0", subnet="10.1.2.0/33")).error()
    assert err["code"] == 7


def test_version_verb(hl: HostLocal):
    assert hl.run("VERSION", b"").ok().json["supportedVersions"] == list(SUPPORTED_VERSIONS)


def test_del_with_a_bad_config_fails_like_go(hl: HostLocal):
    assert hl.delete(hl.conf(subnet="10.1.2.1/24")).error()["code"] == 7
