"""Our loopback on its own: spec 1.1.0, DEL idempotence and vanished netns, CHECK, GC/STATUS, the
errors for bad input, and what each verb imports (the cold-start budget)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.loopback.conftest import ALL_VERSIONS, conf

pytestmark = pytest.mark.kernel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_add_1_1_0_reports_lo(sandbox, runner):
    run = sandbox.run(runner, "ADD", conf("1.1.0")).ok()
    assert json.loads(run.stdout) == {
        "cniVersion": "1.1.0",
        "interfaces": [{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": sandbox.path}],
        "ips": [{"interface": 0, "address": "127.0.0.1/8"}, {"interface": 0, "address": "::1/128"}],
    }
    assert sandbox.lo().up


def test_ifname_is_ignored(sandbox, runner):
    run = sandbox.run(runner, "ADD", conf("1.0.0"), ifname="eth0").ok()
    assert run.json["interfaces"][0]["name"] == "lo"
    assert sandbox.lo().up
    assert [link["ifname"] for link in sandbox.ns.links()] == ["lo"]
    sandbox.run(runner, "CHECK", conf("1.0.0"), ifname="eth0").ok()
    sandbox.run(runner, "DEL", conf("1.0.0"), ifname="eth0").ok()
    assert not sandbox.lo().up


def test_add_is_repeatable(sandbox, runner):
    first = sandbox.run(runner, "ADD", conf("1.0.0")).ok()
    again = sandbox.run(runner, "ADD", conf("1.0.0")).ok()
    assert first.stdout == again.stdout
    assert sandbox.lo().up


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_add_check_del_cycle(sandbox, runner, version):
    sandbox.run(runner, "ADD", conf(version)).ok()
    assert sandbox.lo().up
    if version >= "0.4.0":
        sandbox.run(runner, "CHECK", conf(version)).ok()
    sandbox.run(runner, "DEL", conf(version)).ok()
    lo = sandbox.lo()
    assert not lo.up
    assert ("inet6", "::1", 128, "host") not in lo.addresses  # the kernel drops ::1 with the link


def test_del_is_idempotent(sandbox, runner):
    sandbox.run(runner, "ADD", conf("1.0.0")).ok()
    for _ in range(2):
        run = sandbox.run(runner, "DEL", conf("1.0.0")).ok()
        assert run.stdout == ""
        assert not sandbox.lo().up


def test_del_after_the_netns_vanished(sandbox, runner):
    sandbox.run(runner, "ADD", conf("1.0.0")).ok()
    path = sandbox.path
    sandbox.ns.delete()
    assert not os.path.exists(path)
    for _ in range(2):
        assert sandbox.run(runner, "DEL", conf("1.0.0")).ok().stdout == ""


def test_check_fails_when_lo_is_down_and_passes_once_up(sandbox, runner):
    down = sandbox.run(runner, "CHECK", conf("1.0.0"))
    assert (down.code, down.json) == (
        1,
        {"cniVersion": "1.0.0", "code": 999, "msg": "loopback interface is down"},
    )
    sandbox.run(runner, "ADD", conf("1.0.0")).ok()
    sandbox.run(runner, "CHECK", conf("1.0.0")).ok()
    sandbox.ns.run("ip", "link", "set", "lo", "down")
    assert sandbox.run(runner, "CHECK", conf("1.0.0")).json["msg"] == "loopback interface is down"


@pytest.mark.parametrize("command", ["GC", "STATUS"])
def test_gc_and_status_succeed_without_touching_anything(sandbox, runner, command):
    before = sandbox.lo()
    run = runner.run("loopback", command, conf("1.1.0"), container_id="", netns="", ifname="")
    assert (run.code, run.stdout) == (0, "")
    assert sandbox.lo() == before
    old = runner.run("loopback", command, conf("1.0.0"), container_id="", netns="", ifname="")
    assert (old.code, old.json["code"], old.json["msg"]) == (1, 1, f"config version does not allow {command}")


BAD_INPUT = {
    "capabilities-not-object": (conf("1.0.0", capabilities=5), 6, "capabilities"),
    "dns-not-object": (conf("1.0.0", dns=[]), 6, "dns"),
    "prevresult-not-object": (conf("1.0.0", prevResult=5), 6, "prevResult"),
    "prev-bad-address": (
        conf("1.0.0", prevResult={"cniVersion": "1.0.0", "ips": [{"address": "10.1.0.2"}]}),
        7,
        "ips[0].address",
    ),
    "prev-unknown-version": (conf("1.0.0", prevResult={"cniVersion": "7.0.0"}), 1, ""),
    "config-version-unknown": (conf("9.9.9"), 1, ""),
    "missing-name": ({"cniVersion": "1.0.0", "type": "loopback"}, 7, ""),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_a_cni_error_naming_the_field(sandbox, runner, case):
    config, code, field = BAD_INPUT[case]
    run = sandbox.run(runner, "ADD", config)
    assert run.code == 1
    assert run.json["code"] == code, run.stdout
    if field:
        assert run.json["details"] == field
        assert field.split("[")[0].split(".")[0] in run.json["msg"]
    if case.startswith("prev-"):
        assert run.json["msg"].startswith("failed to parse prevResult: "), run.stdout
    elif field:
        assert run.json["msg"].startswith("failed to parse network config: "), run.stdout
    assert "Traceback" not in run.stderr
    assert not sandbox.lo().up  # refused before touching the netns


def test_undecodable_stdin(sandbox, runner):
    run = sandbox.run(runner, "ADD", b"{not json")
    assert (run.code, run.json["code"]) == (1, 6)
    assert run.json["msg"].startswith("error unmarshall network config: ")


def test_a_failed_add_leaves_lo_as_go_does(sandbox, runner):
    sandbox.ns.run("ip", "addr", "add", "192.0.2.7/32", "dev", "lo")
    run = sandbox.run(runner, "ADD", conf("1.0.0"))
    assert (run.code, run.json["msg"]) == (
        1,
        'loopback interface found with non-loopback address "192.0.2.7"',
    )
    assert ("inet", "192.0.2.7", 32, "global") in sandbox.lo().addresses  # nothing of ours to remove


PROBE = """
import json, sys
from libcni.skel import dispatch
from plugins.loopback import PLUGIN
env = dict(CNI_COMMAND=sys.argv[1], CNI_CONTAINERID="probe", CNI_NETNS=sys.argv[2], CNI_IFNAME="lo",
           CNI_PATH="/nonexistent")
out = dispatch(PLUGIN, env, lambda: sys.stdin.buffer.read())
print(json.dumps({"code": out.exit_code, "modules": sorted(m for m in sys.modules
      if m.split(".")[0] in ("pyroute2", "pydantic", "pydantic_core"))}))
"""


@pytest.mark.parametrize("command", ["ADD", "CHECK", "DEL"])
def test_verbs_import_neither_pyroute2_nor_pydantic(sandbox, command):
    if command == "CHECK":
        sandbox.ns.run("ip", "link", "set", "lo", "up")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, command, sandbox.path],
        input=json.dumps(conf("1.0.0")).encode(),
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == {"code": 0, "modules": []}
