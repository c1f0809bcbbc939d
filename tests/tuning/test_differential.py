"""Side by side with Go's tuning (Debian containernetworking-plugins 1.1.1, /usr/lib/cni).

Two identical container netns, the same config: ADD, CHECK and DEL must give the same result JSON,
the same kernel state (link attributes, sysctls) and the same backup file, byte for byte. Only the
keys that build knows are compared (sysctl, mac, mtu, promisc, allmulti; cniVersion up to 1.0.0).
Known differences are normalised and named: 1.1.1 prints `"dns": {}` in 1.0.0 results (newer
libcni drops it), and its CHECK does not substitute IFNAME (so CHECK scenarios avoid IFNAME)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.tuning.conftest import DATA_DIR, Pod, prev_result

pytestmark = pytest.mark.kernel

START_MAC = "02:00:00:00:00:aa"
SANDBOX = "/run/netns/sandbox-as-reported"


def normalise(result: Any) -> Any:
    if isinstance(result, dict) and result.get("cniVersion", "").startswith("1.") and result.get("dns") == {}:
        result = {k: v for k, v in result.items() if k != "dns"}
    return result


def identical_pods(pod_factory, allmulti: bool = False) -> tuple[Pod, Pod]:
    pods = pod_factory(), pod_factory()
    for pod in pods:
        pod.ns.run("ip", "link", "set", "eth0", "address", START_MAC)
        if allmulti:
            pod.ns.run("ip", "link", "set", "eth0", "allmulticast", "on")
    return pods


def read_backup(pod: Pod) -> bytes | None:
    try:
        with open(os.path.join(DATA_DIR, f"{pod.container_id}_eth0.json"), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def state(pod: Pod, sysctl_files: list[str]) -> dict[str, Any]:
    return {
        "link": pod.link().__dict__,
        "sysctls": {name: pod.ns.run("cat", f"/proc/sys/{name}").strip() for name in sysctl_files},
        "backup": read_backup(pod),
    }


def make_conf(version: str, **keys: Any) -> dict[str, Any]:
    conf = {"cniVersion": version, "name": "tuning-diff", "type": "tuning", **keys}
    conf["prevResult"] = prev_result(SANDBOX, version)
    return conf


def compare_add_check_del(ours_pod, go_pod, runner, go_runner, conf, sysctl_files, cni_args="", check=True):
    runs = {}
    for name, pod, plugin_runner in (("ours", ours_pod, runner), ("go", go_pod, go_runner)):
        add = pod.run(plugin_runner, "ADD", conf, args=cni_args)
        runs[name] = {"code": add.code, "result": normalise(add.json)}
    assert runs["ours"] == runs["go"]
    assert state(ours_pod, sysctl_files) == state(go_pod, sysctl_files)

    if check and conf["cniVersion"] >= "0.4.0":
        ours = ours_pod.run(runner, "CHECK", conf, args=cni_args)
        go = go_pod.run(go_runner, "CHECK", conf, args=cni_args)
        assert (ours.code, ours.stdout) == (go.code, go.stdout) == (0, "")

    for pod, plugin_runner in ((ours_pod, runner), (go_pod, go_runner)):
        pod.run(plugin_runner, "DEL", conf, args=cni_args).ok()
    after = state(ours_pod, sysctl_files)
    assert after == state(go_pod, sysctl_files)
    assert after["backup"] is None
    assert after["link"]["mac"] == START_MAC
    return runs["ours"]["result"]


SCENARIOS = {
    "sysctl": ({"sysctl": {"net.core.somaxconn": "601", "net.ipv4.conf.all.log_martians": "1"}}, ""),
    "mac": ({"mac": "02:11:22:33:44:55"}, ""),
    "mtu": ({"mtu": 1450}, ""),
    "promisc": ({"promisc": True}, ""),
    "allmulti": ({"allmulti": True}, ""),
    "all-at-once": (
        {
            "mac": "02:11:22:33:44:66",
            "mtu": 1300,
            "promisc": True,
            "allmulti": True,
            "sysctl": {"net.core.somaxconn": "602"},
        },
        "",
    ),
    "args-cni": (
        {
            "mtu": 1400,
            "promisc": False,
            "args": {
                "cni": {
                    "mtu": 1350,
                    "promisc": True,
                    "mac": "02:11:22:33:44:77",
                    "sysctl": {"net.core.somaxconn": "603"},
                }
            },
            "sysctl": {},
        },
        "",
    ),
    "cni-args-mac": ({"mac": "02:11:22:33:44:88"}, "IgnoreUnknown=1;MAC=02:11:22:33:44:99"),
    "runtime-config-mac": (
        {"mac": "02:11:22:33:44:88", "runtimeConfig": {"mac": "02:11:22:33:44:aa"}},
        "MAC=02:11:22:33:44:99",
    ),
}
SYSCTL_FILES = ["net/core/somaxconn", "net/ipv4/conf/all/log_martians", "net/ipv4/conf/eth0/rp_filter"]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_same_as_go(pod_factory, runner, go_runner, scenario):
    keys, cni_args = SCENARIOS[scenario]
    ours, go = identical_pods(pod_factory)
    compare_add_check_del(ours, go, runner, go_runner, make_conf("1.0.0", **keys), SYSCTL_FILES, cni_args)


def test_allmulti_off_restores_on_like_go(pod_factory, runner, go_runner):
    ours, go = identical_pods(pod_factory, allmulti=True)
    compare_add_check_del(ours, go, runner, go_runner, make_conf("1.0.0", allmulti=False), SYSCTL_FILES)
    assert ours.link().allmulti is True


def test_ifname_sysctl_add_like_go(pod_factory, runner, go_runner):
    ours, go = identical_pods(pod_factory)
    conf = make_conf("1.0.0", sysctl={"net.ipv4.conf.IFNAME.rp_filter": "2"}, mtu=1280)
    compare_add_check_del(ours, go, runner, go_runner, conf, SYSCTL_FILES, check=False)
    assert ours.sysctl("net/ipv4/conf/eth0/rp_filter") == "2"


@pytest.mark.parametrize("version", ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"])
def test_each_version_like_go(pod_factory, runner, go_runner, version):
    ours, go = identical_pods(pod_factory)
    conf = make_conf(version, mac="02:11:22:33:44:bb", mtu=1420, sysctl={"net.core.somaxconn": "604"})
    result = compare_add_check_del(ours, go, runner, go_runner, conf, SYSCTL_FILES)
    assert result["cniVersion"] == version


@pytest.mark.parametrize(
    ("keys", "prev"),
    [
        ({"mtu": 1400}, False),  # prevResult required
        ({"sysctl": {"kernel.cni_tuning_test_nonexistent": "1"}}, True),  # outside /proc/sys/net
        ({"mac": "not-a-mac", "sysctl": {"net.core.somaxconn": "605"}}, True),
    ],
    ids=["no-prev-result", "kernel-key", "bad-mac"],
)
def test_refusals_like_go(pod_factory, runner, go_runner, keys, prev):
    """Both refuse. Go may have changed sysctls or left a backup before failing; we never do."""
    ours, go = identical_pods(pod_factory)
    conf = make_conf("1.0.0", **keys)
    if not prev:
        del conf["prevResult"]
    before = state(ours, SYSCTL_FILES)
    ours_run = ours.run(runner, "ADD", conf)
    go_run = go.run(go_runner, "ADD", conf)
    assert ours_run.code == go_run.code == 1
    assert ours_run.json["msg"].split(":")[0] == go_run.json["msg"].split(":")[0]
    assert state(ours, SYSCTL_FILES) == before


def test_result_json_is_printed_like_go(pod_factory, runner, go_runner):
    """Byte-level: 4-space indent, key order (1.0.0's empty dns aside)."""
    ours, go = identical_pods(pod_factory)
    conf = make_conf("0.4.0", mac="02:11:22:33:44:cc")
    ours_out = ours.run(runner, "ADD", conf).ok().stdout
    go_out = go.run(go_runner, "ADD", conf).ok().stdout
    assert ours_out.strip() == go_out.strip()
    assert json.loads(ours_out)["interfaces"][1]["mac"] == "02:11:22:33:44:cc"
