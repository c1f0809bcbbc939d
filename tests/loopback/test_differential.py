"""Side by side with Go's loopback (Debian containernetworking-plugins 1.1.1, /usr/lib/cni).

Two fresh container netns, the same call: the result JSON (sandbox path normalised), the error
(code and text where ours keeps Go's; ours names the field where Go says 999) and `lo` as `ip`
shows it afterwards must be the same. Named differences: 1.1.1 prints `"dns": {}` in results of
the 1.0.0 shape, current libcni (and ours) drops it; 1.1.1 stops at spec 1.0.0."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.loopback.conftest import VERSIONS, conf

pytestmark = pytest.mark.kernel

SANDBOX = "/run/netns/SANDBOX"


def shape_100(result: dict) -> bool:
    """Printed from libcni's 1.0.0 result type (whatever its label says)."""
    return (
        "ip4" not in result
        and "ip6" not in result
        and all("version" not in ip for ip in result.get("ips", []))
    )


def normalise(text: str, sandbox_path: str, go: bool) -> Any:
    if sandbox_path:
        text = text.replace(sandbox_path, SANDBOX)
    value = json.loads(text) if text.strip() else None
    if go and isinstance(value, dict) and "code" not in value and shape_100(value) and value.get("dns") == {}:
        del value["dns"]
    if isinstance(value, dict) and "code" in value:
        value.pop("cniVersion", None)  # 1.1.1's errors carry no cniVersion
    return value


def side_by_side(sandbox_factory, runner, go_runner, config, prepare=None, command="ADD", **kw):
    outcome = {}
    for name, plugin_runner in (("ours", runner), ("go", go_runner)):
        box = sandbox_factory()
        if prepare is not None:
            prepare(box)
        run = box.run(plugin_runner, command, config, **kw)
        outcome[name] = (run.code, normalise(run.stdout, box.path, name == "go"), box.lo())
    return outcome["ours"], outcome["go"]


@pytest.mark.parametrize("version", VERSIONS)
def test_add_reports_and_sets_up_lo_like_go(sandbox_factory, runner, go_runner, version):
    ours, go = side_by_side(sandbox_factory, runner, go_runner, conf(version), ifname="eth0")
    assert ours == go
    code, result, lo = ours
    assert code == 0 and lo.up
    assert result["cniVersion"] == version
    assert result["interfaces"] == [{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": SANDBOX}]
    assert result["ips"] == [
        {"interface": 0, "address": "127.0.0.1/8"},
        {"interface": 0, "address": "::1/128"},
    ]
    assert ("inet", "127.0.0.1", 8, "host") in lo.addresses and ("inet6", "::1", 128, "host") in lo.addresses


def test_add_without_cni_version_converts_to_0_1_0_like_go(sandbox_factory, runner, go_runner):
    ours, go = side_by_side(sandbox_factory, runner, go_runner, conf(None))
    assert ours == go
    assert ours[1] == {
        "cniVersion": "0.1.0",
        "ip4": {"ip": "127.0.0.1/8"},
        "ip6": {"ip": "::1/128"},
        "dns": {},
    }


@pytest.mark.parametrize("version", ["0.2.0", "1.0.0"])
def test_add_with_ipv6_disabled_reports_ipv4_only(sandbox_factory, runner, go_runner, version):
    ours, go = side_by_side(
        sandbox_factory, runner, go_runner, conf(version), prepare=lambda b: b.disable_ipv6()
    )
    assert ours == go
    assert ours[1]["ips"] == [{"interface": 0, "address": "127.0.0.1/8"}]
    assert all(family == "inet" for family, *_ in ours[2].addresses)


def test_add_reports_the_first_loopback_address_of_each_family(sandbox_factory, runner, go_runner):
    def other_loopback(box):
        box.ns.run("ip", "addr", "add", "127.0.0.5/16", "dev", "lo")
        box.ns.run("ip", "addr", "add", "127.0.0.1/8", "dev", "lo")

    ours, go = side_by_side(sandbox_factory, runner, go_runner, conf("1.0.0"), prepare=other_loopback)
    assert ours == go
    assert ours[1]["ips"][0] == {"interface": 0, "address": "127.0.0.5/16"}


@pytest.mark.parametrize("address", ["10.99.0.1/32", "fd00:99::1/128"])
def test_add_refuses_a_non_loopback_address_on_lo(sandbox_factory, runner, go_runner, address):
    def plant(box):
        box.ns.run("ip", "link", "set", "lo", "up")
        box.ns.run("ip", "addr", "add", address, "dev", "lo")

    ours, go = side_by_side(sandbox_factory, runner, go_runner, conf("1.0.0"), prepare=plant)
    assert ours == go
    ip = address.split("/")[0]
    assert ours[:2] == (1, {"code": 999, "msg": f'loopback interface found with non-loopback address "{ip}"'})


def prev_result(version: str) -> dict:
    if version in ("0.1.0", "0.2.0"):
        return {"cniVersion": version, "ip4": {"ip": "10.9.0.2/24", "gateway": "10.9.0.1"}, "dns": {}}
    ip: dict[str, Any] = {"address": "10.9.0.2/24", "gateway": "10.9.0.1", "interface": 0}
    if version.startswith("0."):
        ip["version"] = "4"
    return {
        "cniVersion": version,
        "interfaces": [{"name": "eth0", "mac": "aa:bb:cc:00:00:02", "sandbox": "/var/run/netns/x"}],
        "ips": [ip],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.9.0.1"}],
        "dns": {"nameservers": ["10.9.0.53"]},
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_add_passes_prev_result_through_like_go(sandbox_factory, runner, go_runner, version):
    prev = prev_result(version)
    ours, go = side_by_side(sandbox_factory, runner, go_runner, conf(version, prevResult=prev))
    assert ours == go
    assert ours[0] == 0 and ours[2].up
    assert ours[1]["cniVersion"] == version
    assert "interfaces" not in ours[1] or ours[1]["interfaces"][0]["name"] == "eth0"


@pytest.mark.parametrize("version", ["0.3.1", "1.0.0"])
def test_del_sets_lo_down_like_go(sandbox_factory, runner, go_runner, version):
    def added(box):
        box.run(runner, "ADD", conf(version)).ok()

    ours, go = side_by_side(sandbox_factory, runner, go_runner, conf(version), prepare=added, command="DEL")
    assert ours == go
    assert ours[0] == 0 and ours[1] is None and not ours[2].up


def test_del_ignores_the_config_like_go(sandbox_factory, runner, go_runner):
    bad = conf("1.0.0", capabilities=5, prevResult={"ips": [{"address": "nonsense"}]})
    ours, go = side_by_side(sandbox_factory, runner, go_runner, bad, command="DEL")
    assert ours == go
    assert ours[0] == 0


@pytest.mark.parametrize("up", [True, False], ids=["lo-up", "lo-down"])
def test_check_like_go(sandbox_factory, runner, go_runner, up):
    def state(box):
        box.ns.run("ip", "link", "set", "lo", "up" if up else "down")

    ours, go = side_by_side(sandbox_factory, runner, go_runner, conf("1.0.0"), prepare=state, command="CHECK")
    assert ours == go
    assert ours[:2] == ((0, None) if up else (1, {"code": 999, "msg": "loopback interface is down"}))


@pytest.mark.parametrize("command", ["ADD", "CHECK"])
def test_vanished_netns_fails_add_and_check_like_go(runner, go_runner, command):
    path = "/run/netns/cnilo-never-made"
    runs = [
        r.run("loopback", command, conf("1.0.0"), container_id="c1", netns=path, ifname="lo")
        for r in (runner, go_runner)
    ]
    ours, go = (normalise(run.stdout, "", False) for run in runs)
    assert (
        (runs[0].code, ours)
        == (runs[1].code, go)
        == (
            1,
            {"code": 999, "msg": f'failed to Statfs "{path}": no such file or directory'},
        )
    )


@pytest.mark.parametrize("netns", ["", "/run/netns/cnilo-gone"], ids=["empty", "vanished"])
def test_del_tolerates_a_missing_netns_like_go(runner, go_runner, netns):
    for plugin_runner in (runner, go_runner):
        run = plugin_runner.run("loopback", "DEL", conf("1.0.0"), container_id="c1", netns=netns, ifname="lo")
        assert (run.code, run.stdout) == (0, "")


def test_del_of_a_path_that_is_no_netns_fails_like_go(runner, go_runner, tmp_path):
    runs = [
        r.run("loopback", "DEL", conf("1.0.0"), container_id="c1", netns=str(tmp_path), ifname="lo")
        for r in (runner, go_runner)
    ]
    assert runs[0].code == runs[1].code == 1
    assert normalise(runs[0].stdout, "", False) == normalise(runs[1].stdout, "", False)
    assert "unknown FS magic" in runs[0].json["msg"]


def test_each_deletes_and_checks_what_the_other_added(sandbox_factory, runner, go_runner):
    for adder, other in ((runner, go_runner), (go_runner, runner)):
        box = sandbox_factory()
        box.run(adder, "ADD", conf("1.0.0")).ok()
        box.run(other, "CHECK", conf("1.0.0")).ok()
        box.run(other, "DEL", conf("1.0.0")).ok()
        assert not box.lo().up
