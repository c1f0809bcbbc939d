"""tuning against the real kernel: every key, ADD/CHECK/DEL round trips, drift, rollback, versions.

Each test has its own host netns (where the plugin runs) and a container netns holding eth0."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.tuning.conftest import DATA_DIR, LinkView, load_backup

pytestmark = pytest.mark.kernel

RP = "net/ipv4/conf/eth0/rp_filter"


def ok_json(run):
    return run.ok().json


def own_sysctl(name: str) -> str:
    """A sysctl of the test process's own netns (tests/isolated's private one)."""
    with open(f"/proc/sys/{name}") as f:
        return f.read().strip()


# --- sysctls ----------------------------------------------------------------------------------


def test_sysctls_are_written_in_the_container_only(pod, host_ns, runner):
    host_ns.run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "hpeer0")
    host_before = (host_ns.sysctl(RP), host_ns.sysctl("net/core/somaxconn"))
    mine_before = own_sysctl("net/core/somaxconn")
    conf = pod.conf(sysctl={"net.ipv4.conf.IFNAME.rp_filter": "2", "net.core.somaxconn": "777"})

    result = ok_json(pod.run(runner, "ADD", conf))

    assert (pod.sysctl(RP), pod.sysctl("net/core/somaxconn")) == ("2", "777")
    assert (host_ns.sysctl(RP), host_ns.sysctl("net/core/somaxconn")) == host_before
    assert own_sysctl("net/core/somaxconn") == mine_before
    assert result == conf["prevResult"]  # passed through unchanged
    assert not os.path.exists(pod.backup_file)  # sysctls alone need no backup
    pod.run(runner, "CHECK", conf).ok()
    pod.run(runner, "DEL", conf).ok()
    assert pod.sysctl("net/core/somaxconn") == "777"  # Go never reverts sysctls


def test_sysctl_on_an_interface_name_with_dots(pod_factory, runner):
    pod = pod_factory("eth0.100")
    conf = pod.conf(sysctl={"net.ipv4.conf.IFNAME.arp_notify": "1"})
    ok_json(pod.run(runner, "ADD", conf))
    assert pod.ns.run("cat", "/proc/sys/net/ipv4/conf/eth0.100/arp_notify").strip() == "1"
    pod.run(runner, "CHECK", conf).ok()


def test_a_bad_sysctl_value_fails_and_puts_earlier_ones_back(pod, runner):
    before = pod.sysctl("net/core/somaxconn")
    conf = pod.conf(sysctl={"net.core.somaxconn": "901", "net.ipv4.conf.IFNAME.rp_filter": "banana"})
    run = pod.run(runner, "ADD", conf)
    assert run.code == 1
    assert run.json["msg"] == "write /proc/sys/net/ipv4/conf/eth0/rp_filter: invalid argument"
    assert pod.sysctl("net/core/somaxconn") == before


def test_a_missing_sysctl_file_is_reported_like_go(pod, runner):
    run = pod.run(runner, "ADD", pod.conf(sysctl={"net.ipv4.no_such_knob": "1"}))
    assert run.code == 1
    assert run.json["msg"] == "open /proc/sys/net/ipv4/no_such_knob: no such file or directory"


# --- link attributes: one key at a time ---------------------------------------------------------

LINK_CASES = [
    # (keys, attribute, new value, backup content)
    ({"mac": "02:12:34:56:78:9a"}, "mac", "02:12:34:56:78:9a", lambda b: {"mac": b.mac}),
    ({"mtu": 1280}, "mtu", 1280, lambda b: {"mtu": b.mtu}),
    ({"promisc": True}, "promisc", True, lambda b: {"promisc": b.promisc}),
    ({"allmulti": True}, "allmulti", True, lambda b: {"allmulti": b.allmulti}),
    ({"txQLen": 42}, "txqlen", 42, lambda b: {"txQLen": b.txqlen}),
]


@pytest.mark.parametrize(("keys", "attr", "value", "saved"), LINK_CASES, ids=[c[1] for c in LINK_CASES])
def test_each_link_key_add_check_del(pod, runner, keys, attr, value, saved):
    before = pod.link()
    conf = pod.conf(**keys)

    ok_json(pod.run(runner, "ADD", conf))
    after = pod.link()
    assert getattr(after, attr) == value
    assert load_backup(pod) == saved(before)  # exactly the attributes being changed, old values
    assert oct(os.stat(pod.backup_file).st_mode & 0o777) == "0o600"
    pod.run(runner, "CHECK", conf).ok()

    pod.run(runner, "DEL", conf).ok()
    assert pod.link() == before
    assert not os.path.exists(pod.backup_file)
    pod.run(runner, "DEL", conf).ok()  # idempotent


def test_allmulti_false_turns_it_off_and_del_turns_it_back_on(pod, runner):
    pod.ns.run("ip", "link", "set", "eth0", "allmulticast", "on")
    conf = pod.conf(allmulti=False)
    pod.run(runner, "ADD", conf).ok()
    assert pod.link().allmulti is False
    assert load_backup(pod) == {"allmulti": True}
    pod.run(runner, "CHECK", conf).ok()
    pod.run(runner, "DEL", conf).ok()
    assert pod.link().allmulti is True


def test_everything_at_once_with_a_custom_data_dir(pod, runner, tmp_path):
    data_dir = str(tmp_path / "tuning-data")
    before = pod.link()
    conf = pod.conf(
        mac="02:aa:bb:cc:dd:ee",
        mtu=1400,
        promisc=True,
        allmulti=True,
        txQLen=77,
        dataDir=data_dir,
        sysctl={"net.ipv4.conf.IFNAME.rp_filter": "1"},
    )
    pod.run(runner, "ADD", conf).ok()
    assert pod.link() == LinkView(mac="02:aa:bb:cc:dd:ee", mtu=1400, promisc=True, allmulti=True, txqlen=77)
    path = os.path.join(data_dir, f"{pod.container_id}_eth0.json")
    with open(path, "rb") as f:
        assert f.read() == (
            b'{\n "mac": "%s",\n "promisc": false,\n "mtu": %d,\n "allmulti": false,\n "txQLen": %d\n}'
            % (before.mac.encode(), before.mtu, before.txqlen)
        )
    assert not os.path.exists(pod.backup_file)
    pod.run(runner, "CHECK", conf).ok()
    pod.run(runner, "DEL", conf).ok()
    assert pod.link() == before
    assert not os.path.exists(path)


def test_promisc_false_changes_nothing_on_add(pod, runner):
    pod.ns.run("ip", "link", "set", "eth0", "promisc", "on")
    conf = pod.conf(promisc=False, mtu=1300)
    pod.run(runner, "ADD", conf).ok()
    assert pod.link().promisc is True
    assert "promisc" not in load_backup(pod)
    # ...but CHECK wants it off, exactly as Go does
    run = pod.run(runner, "CHECK", conf)
    assert run.code == 1 and "configured promisc is false, current value is 1" in run.json["msg"]
    pod.run(runner, "DEL", conf).ok()


# --- MAC: result and precedence ---------------------------------------------------------------


def test_the_new_mac_is_reported_in_the_result(pod, runner):
    conf = pod.conf(mac="02:AB:CD:EF:00:01")
    result = ok_json(pod.run(runner, "ADD", conf))
    by_name = {i["name"]: i for i in result["interfaces"]}
    assert by_name["eth0"]["mac"] == "02:ab:cd:ef:00:01"  # the kernel's form
    assert by_name["veth-host"]["mac"] == "aa:bb:cc:00:00:01"  # other interfaces untouched
    assert result["ips"] == conf["prevResult"]["ips"]
    assert pod.link().mac == "02:ab:cd:ef:00:01"
    pod.run(runner, "CHECK", conf).ok()  # Go's CHECK compares strings and would fail here
    pod.run(runner, "DEL", conf).ok()


@pytest.mark.parametrize(
    ("extra", "cni_args", "expected"),
    [
        ({}, "MAC=02:00:00:00:00:02", "02:00:00:00:00:02"),
        ({"runtimeConfig": {"mac": "02:00:00:00:00:03"}}, "MAC=02:00:00:00:00:02", "02:00:00:00:00:03"),
        (
            {"runtimeConfig": {"mac": "02:00:00:00:00:03"}, "args": {"cni": {"mac": "02:00:00:00:00:04"}}},
            "MAC=02:00:00:00:00:02",
            "02:00:00:00:00:04",
        ),
    ],
    ids=["cni-args-over-config", "runtime-config-over-cni-args", "args-cni-over-all"],
)
def test_mac_precedence(pod, runner, extra, cni_args, expected):
    before = pod.link().mac
    conf = pod.conf(mac="02:00:00:00:00:01", **extra)
    result = ok_json(pod.run(runner, "ADD", conf, args=cni_args))
    assert pod.link().mac == expected
    assert [i["mac"] for i in result["interfaces"] if i["name"] == "eth0"] == [expected]
    pod.run(runner, "CHECK", conf, args=cni_args).ok()
    pod.run(runner, "DEL", conf, args=cni_args).ok()
    assert pod.link().mac == before


def test_args_cni_overrides_config_keys(pod, runner):
    conf = pod.conf(
        mtu=1400,
        promisc=False,
        sysctl={"net.core.somaxconn": "600"},
        args={"cni": {"mtu": 1300, "promisc": True, "sysctl": {"net.ipv4.conf.IFNAME.rp_filter": "2"}}},
    )
    pod.run(runner, "ADD", conf).ok()
    link = pod.link()
    assert (link.mtu, link.promisc) == (1300, True)
    assert (pod.sysctl("net/core/somaxconn"), pod.sysctl(RP)) == ("600", "2")
    pod.run(runner, "CHECK", conf).ok()
    pod.run(runner, "DEL", conf).ok()
    assert (pod.link().mtu, pod.link().promisc) == (1500, False)


def test_invalid_mac_is_refused_before_anything_changes(pod, runner):
    before = pod.sysctl("net/core/somaxconn")
    run = pod.run(runner, "ADD", pod.conf(mac="02:zz:00:00:00:01", sysctl={"net.core.somaxconn": "1234"}))
    assert (run.code, run.json["code"]) == (1, 7)
    bad = "02:zz:00:00:00:01"
    assert run.json["msg"] == f"invalid args {bad} for MAC addr: address {bad}: invalid MAC address"
    assert pod.sysctl("net/core/somaxconn") == before
    assert not os.path.exists(pod.backup_file)


# --- failure rollback -------------------------------------------------------------------------


def test_a_failed_add_puts_everything_back(pod, runner):
    before = pod.link()
    sysctl_before = pod.sysctl("net/core/somaxconn")
    # a veth cannot take MTU 70000: mac and promisc are already set by then
    conf = pod.conf(mac="02:00:00:00:00:77", promisc=True, mtu=70000, sysctl={"net.core.somaxconn": "321"})
    run = pod.run(runner, "ADD", conf)
    assert run.code == 1
    assert run.json["msg"] == 'failed to set MTU of "eth0" to 70000: invalid argument'
    assert pod.link() == before
    assert pod.sysctl("net/core/somaxconn") == sysctl_before
    assert not os.path.exists(pod.backup_file)


def test_add_on_a_missing_interface_fails_cleanly(pod, runner):
    run = pod.run(runner, "ADD", pod.conf(mtu=1400, sysctl={"net.core.somaxconn": "432"}), ifname="eth9")
    assert run.code == 1
    assert run.json["msg"] == 'failed to get "eth9": Link not found'
    assert pod.sysctl("net/core/somaxconn") != "432"


# --- CHECK drift -------------------------------------------------------------------------------

DRIFT_CASES = [
    (
        {"sysctl": {"net.ipv4.conf.IFNAME.rp_filter": "2"}},
        ["sh", "-c", "echo 0 > /proc/sys/net/ipv4/conf/eth0/rp_filter"],
        "Error: Tuning configured value of /proc/sys/net/ipv4/conf/eth0/rp_filter is 2, current value is 0",
    ),
    (
        {"mac": "02:00:00:00:00:31"},
        ["ip", "link", "set", "eth0", "address", "02:00:00:00:00:32"],
        "Error: Tuning configured Ethernet of eth0 is 02:00:00:00:00:31, current value is 02:00:00:00:00:32",
    ),
    (
        {"mtu": 1400},
        ["ip", "link", "set", "eth0", "mtu", "1401"],
        "Error: Tuning configured MTU of eth0 is 1400, current value is 1401",
    ),
    (
        {"promisc": True},
        ["ip", "link", "set", "eth0", "promisc", "off"],
        "Error: Tuning link eth0 configured promisc is true, current value is 0",
    ),
    (
        {"sysctl": {"net.core.somaxconn": "900"}},
        ["ip", "link", "set", "eth0", "promisc", "on"],
        "Error: Tuning link eth0 configured promisc is false, current value is 1",
    ),
    (
        {"allmulti": True},
        ["ip", "link", "set", "eth0", "allmulticast", "off"],
        "Error: Tuning configured all-multicast mode of eth0 is true, current value is false",
    ),
    (
        {"txQLen": 500},
        ["ip", "link", "set", "eth0", "txqueuelen", "501"],
        "Error: Tuning configured Transmit Queue Length of eth0 is 500, current value is 501",
    ),
    (
        {"mtu": 1400},
        ["ip", "link", "del", "eth0"],
        "Cannot find container link eth0",
    ),
    (
        {"sysctl": {"net.core.somaxconn": "900"}},
        ["ip", "link", "set", "eth0", "name", "eth5"],
        "Cannot find container link eth0",
    ),
]


@pytest.mark.parametrize(
    ("keys", "drift", "message"),
    DRIFT_CASES,
    ids=["sysctl", "mac", "mtu", "promisc-off", "promisc-on", "allmulti", "txqlen", "gone", "gone-light"],
)
def test_check_detects_drift(pod, runner, keys, drift, message):
    conf = pod.conf(**keys)
    pod.run(runner, "ADD", conf).ok()
    pod.run(runner, "CHECK", conf).ok()
    pod.ns.run(*drift)
    run = pod.run(runner, "CHECK", conf)
    assert run.code == 1, run.stdout
    assert run.json["msg"] == message
    pod.run(runner, "DEL", conf).ok()


def test_check_needs_prev_result_and_add_too(pod, runner):
    for command in ("ADD", "CHECK"):
        run = pod.run(runner, command, pod.conf(prev=False, mtu=1400))
        assert (run.code, run.json["msg"]) == (1, "Required prevResult missing")
    assert pod.link().mtu == 1500
    pod.run(runner, "DEL", pod.conf(prev=False, mtu=1400)).ok()


# --- DEL always succeeds -------------------------------------------------------------------------


def test_del_without_anything_to_restore(pod, runner):
    pod.run(runner, "DEL", pod.conf(mtu=1400)).ok()
    pod.run(runner, "DEL", pod.conf(mtu=1400), netns="").ok()


def test_del_after_the_netns_is_gone_succeeds_and_drops_the_backup(pod, runner):
    conf = pod.conf(mtu=1400)
    pod.run(runner, "ADD", conf).ok()
    pod.ns.delete()
    pod.run(runner, "DEL", conf).ok()
    assert not os.path.exists(pod.backup_file)


def test_del_after_the_interface_is_gone_succeeds(pod, runner):
    conf = pod.conf(mtu=1400)
    pod.run(runner, "ADD", conf).ok()
    pod.ns.run("ip", "link", "del", "eth0")
    pod.run(runner, "DEL", conf).ok()
    assert not os.path.exists(pod.backup_file)


def test_del_with_a_corrupt_backup_succeeds_and_changes_nothing(pod, runner):
    conf = pod.conf(mtu=1400)
    pod.run(runner, "ADD", conf).ok()
    with open(pod.backup_file, "w") as f:
        f.write("{not json")
    pod.run(runner, "DEL", conf).ok()
    assert pod.link().mtu == 1400
    assert os.path.exists(pod.backup_file)  # as Go: left for a human
    os.unlink(pod.backup_file)


def test_del_with_a_failing_restore_keeps_the_backup(pod, runner):
    conf = pod.conf(mtu=1400)
    pod.run(runner, "ADD", conf).ok()
    with open(pod.backup_file, "w") as f:
        f.write('{"mtu": 70000}')  # the kernel refuses this
    pod.run(runner, "DEL", conf).ok()
    assert os.path.exists(pod.backup_file)
    os.unlink(pod.backup_file)


def test_del_still_reports_config_errors(pod, runner):
    run = pod.run(runner, "DEL", pod.conf(mtu="big"))
    assert (run.code, run.json["code"]) == (1, 6) and "mtu" in run.json["msg"]


# --- backup file safety -------------------------------------------------------------------------


def test_a_symlink_planted_at_the_backup_path_is_never_followed(pod, runner, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.makedirs(DATA_DIR, exist_ok=True)
    os.symlink(victim, pod.backup_file)
    conf = pod.conf(mtu=1400)
    pod.run(runner, "DEL", conf).ok()  # reading does not follow it either
    pod.run(runner, "ADD", conf).ok()
    assert victim.read_text() == "precious"
    assert not os.path.islink(pod.backup_file)
    assert load_backup(pod) == {"mtu": 1500}
    pod.run(runner, "DEL", conf).ok()
    assert pod.link().mtu == 1500


@pytest.mark.parametrize(("cid", "ifname"), [("../../etc/x", "eth0"), ("ctr", "../../x"), ("ctr", "a/b")])
def test_ids_that_would_escape_the_data_dir_are_refused(pod, runner, cid, ifname):
    run = pod.run(runner, "ADD", pod.conf(mtu=1400), container_id=cid, ifname=ifname)
    assert (run.code, run.json["code"]) == (1, 4)
    assert pod.link().mtu == 1500
    assert not os.path.exists("/run/cni/x") and not os.path.exists("/etc/x_eth0.json")


# --- spec versions --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])
def test_each_chaining_version(pod, runner, version):
    before = pod.link()
    conf = pod.conf(version, mac="02:00:00:00:00:44", sysctl={"net.core.somaxconn": "555"})
    result = ok_json(pod.run(runner, "ADD", conf))
    assert result["cniVersion"] == version
    expected = json.loads(json.dumps(conf["prevResult"]))
    expected["interfaces"][1]["mac"] = "02:00:00:00:00:44"
    assert result == expected
    assert pod.link().mac == "02:00:00:00:00:44"
    check = pod.run(runner, "CHECK", conf)
    if version in ("0.3.0", "0.3.1"):
        assert (check.code, check.json["msg"]) == (1, "config version does not allow CHECK")
    else:
        check.ok()
    pod.run(runner, "DEL", conf).ok()
    assert pod.link() == before


@pytest.mark.parametrize("version", ["0.1.0", "0.2.0"])
def test_pre_chaining_versions_pass_an_ip4_result_through(pod, runner, version):
    conf = pod.conf(version, sysctl={"net.core.somaxconn": "556"})
    result = ok_json(pod.run(runner, "ADD", conf))
    assert result == {"cniVersion": version, "ip4": {"ip": "10.9.0.2/24", "gateway": "10.9.0.1"}, "dns": {}}
    assert pod.sysctl("net/core/somaxconn") == "556"
    conf = pod.conf(version, mac="02:00:00:00:00:45")
    assert ok_json(pod.run(runner, "ADD", conf))["ip4"]["ip"] == "10.9.0.2/24"  # no interfaces to update
    assert pod.link().mac == "02:00:00:00:00:45"
    pod.run(runner, "DEL", conf).ok()
    run = pod.run(runner, "CHECK", conf)
    assert (run.code, run.json["msg"]) == (1, "config version does not allow CHECK")


# --- speed: no verb loads pyroute2; sysctls alone ADD and DEL without netlink at all ---------------

PROBE = """
import json, sys
from libcni.skel import dispatch
from plugins.tuning import PLUGIN
env = dict(CNI_COMMAND=sys.argv[1], CNI_CONTAINERID="probe", CNI_NETNS=sys.argv[2], CNI_IFNAME="eth0",
           CNI_PATH="/nonexistent")
out = dispatch(PLUGIN, env, lambda: sys.stdin.buffer.read())
print(json.dumps({"code": out.exit_code, "pyroute2": any(m.startswith("pyroute2") for m in sys.modules),
                  "netlink": "pkg.netlink" in sys.modules}))
"""


@pytest.mark.parametrize(
    ("keys", "netlink_in"),
    [({"sysctl": {"net.core.somaxconn": "300"}}, {"CHECK"}), ({"mtu": 1400}, {"ADD", "CHECK", "DEL"})],
    ids=["sysctl-only", "mtu"],
)
def test_no_verb_loads_pyroute2_and_sysctls_need_no_netlink(pod, host_ns, keys, netlink_in):
    conf = json.dumps(pod.conf(**keys))
    for command in ("ADD", "CHECK", "DEL"):
        proc = subprocess.run(
            ["nsenter", f"--net={host_ns.path}", "--", sys.executable, "-c", PROBE, command, pod.path],
            input=conf.encode(),
            capture_output=True,
            check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        )
        outcome = json.loads(proc.stdout)
        expected = {"code": 0, "pyroute2": False, "netlink": command in netlink_in}
        assert outcome == expected, (command, proc.stderr)
