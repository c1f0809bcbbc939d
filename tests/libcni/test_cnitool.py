"""cnitool as a real process (cni-spec.md 6, T-01..T-06) against fake plugins; no root needed.

Live and dead namespaces for GC come from /proc/<pid>/ns/net of a child that we keep or end.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest


def cnitool(cni_bin, fake, *args, env=None, netconf=None):
    environ = fake.env(
        NETCONFPATH=netconf or fake.conf_dir,
        CNI_PATH=fake.bin_dir,
        CNI_CACHE_DIR=fake.cache_dir,
        **(env or {}),
    )
    return subprocess.run(
        [os.path.join(cni_bin, "cnitool"), *args], env=environ, capture_output=True, timeout=60, check=False
    )


@pytest.fixture
def net(fake):
    fake.write_conf(
        "10-net.conflist",
        {
            "cniVersion": "1.1.0",
            "name": "net",
            "plugins": [{"type": "alpha"}, {"type": "beta", "capabilities": {"portMappings": True}}],
        },
    )
    return "net"


@pytest.fixture
def process_netns():
    """netns paths of child processes: alive until the test ends or `end(path)` is called."""
    procs: dict[str, subprocess.Popen] = {}

    def make() -> str:
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        path = f"/proc/{proc.pid}/ns/net"
        procs[path] = proc
        return path

    def end(path: str) -> None:
        procs[path].kill()
        procs[path].wait()

    make.end = end
    yield make
    for proc in procs.values():
        proc.kill()
        proc.wait()


def test_T01_help_for_every_subcommand(cni_bin, fake):
    top = cnitool(cni_bin, fake, "--help")
    assert top.returncode == 0 and b"add,check,del,gc,status" in top.stdout
    for command in ("add", "check", "del", "gc", "status"):
        proc = cnitool(cni_bin, fake, command, "--help")
        assert proc.returncode == 0, proc.stderr
        assert f"usage: cnitool {command}".encode() in proc.stdout
    assert b"--valid-attachments" in cnitool(cni_bin, fake, "help", "gc").stdout
    bare = cnitool(cni_bin, fake)
    assert bare.returncode == 1 and b"a command is required" in bare.stderr


def test_T04_T05_add_prints_go_result_and_derives_the_container_id(cni_bin, fake, net):
    proc = cnitool(
        cni_bin, fake, "add", net, "/run/netns//x/../ctr", env={"CAP_ARGS": '{"portMappings":[1]}'}
    )
    assert proc.returncode == 0, proc.stderr
    expected_id = "cnitool-" + hashlib.sha512(b"/run/netns/ctr").hexdigest()[:20]
    result = json.loads(proc.stdout)
    assert result["interfaces"][0] == {"name": "alpha", "sandbox": "/run/netns/ctr"}
    assert proc.stdout.startswith(b'{\n    "cniVersion": "1.1.0",\n    "interfaces": [\n')
    assert not proc.stdout.endswith(b"\n")  # Go prints no trailing newline
    (_, add_a), (_, add_b) = [(r["plugin"], r) for r in fake.records()]
    assert add_a["env"]["CNI_CONTAINERID"] == expected_id and add_a["env"]["CNI_IFNAME"] == "eth0"
    assert json.loads(add_b["stdin"])["runtimeConfig"] == {"portMappings": [1]}
    assert os.listdir(os.path.join(fake.cache_dir, "results")) == [f"net-{expected_id}-eth0"]
    fake.clear()
    for command in ("check", "del"):
        proc = cnitool(cni_bin, fake, command, net, "/run/netns/ctr")
        assert proc.returncode == 0 and proc.stdout == b"", proc.stderr
    assert [(p, c) for p, c, _ in fake.requests()] == [
        ("alpha", "CHECK"),
        ("beta", "CHECK"),
        ("beta", "DEL"),
        ("alpha", "DEL"),
    ]
    assert os.listdir(os.path.join(fake.cache_dir, "results")) == []


def test_T02_ifname_and_cni_args(cni_bin, fake, net):
    env = {"CNI_IFNAME": "net5", "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAME=p"}
    assert cnitool(cni_bin, fake, "add", net, "/n", env=env).returncode == 0
    assert cnitool(cni_bin, fake, "del", "-i", "net7", net, "/n", env=env).returncode == 0
    add_env, del_env = fake.records()[0]["env"], fake.records()[-1]["env"]
    assert add_env["CNI_IFNAME"] == "net5" and del_env["CNI_IFNAME"] == "net7"
    assert add_env["CNI_ARGS"] == "IgnoreUnknown=1;K8S_POD_NAME=p"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CNI_ARGS": "A=1;B"}, 'invalid CNI_ARGS pair "B"'),
        ({"CNI_ARGS": "A=1;"}, 'invalid CNI_ARGS pair ""'),
        ({"CAP_ARGS": "{bad"}, "invalid CAP_ARGS"),
    ],
)
def test_T02_bad_environment(cni_bin, fake, net, env, message):
    proc = cnitool(cni_bin, fake, "add", net, "/n", env=env)
    assert proc.returncode == 1 and message.encode() in proc.stderr
    assert fake.records() == []


def test_T03_T06_errors_go_to_stderr_with_exit_1(cni_bin, fake, net):
    proc = cnitool(cni_bin, fake, "add", "nope", "/n")
    assert proc.returncode == 1
    assert proc.stderr == f'no net configuration with name "nope" in {fake.conf_dir}\n'.encode()
    fake.write_conf(
        "20-fail.conflist",
        {
            "cniVersion": "1.0.0",
            "name": "fail",
            "plugins": [
                {"type": "alpha", "fake": {"ADD": {"error": {"code": 7, "msg": "bad", "details": "d"}}}}
            ],
        },
    )
    proc = cnitool(cni_bin, fake, "add", "fail", "/n")
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr == b'plugin type="alpha" failed (add): bad; d\n'
    missing = cnitool(cni_bin, fake, "add", net)
    assert missing.returncode == 1 and b"the following arguments are required: netns" in missing.stderr


def test_T06_status_reports_the_plugin_error(cni_bin, fake):
    fake.write_conf(
        "10-s.conflist",
        {
            "cniVersion": "1.1.0",
            "name": "s",
            "plugins": [{"type": "alpha", "fake": {"STATUS": {"error": {"code": 50, "msg": "no daemon"}}}}],
        },
    )
    proc = cnitool(cni_bin, fake, "status", "s")
    assert proc.returncode == 1 and proc.stderr == b"no daemon\n"


def test_timeout_kills_a_hung_plugin(cni_bin, fake):
    fake.write_conf(
        "10-h.conflist",
        {"cniVersion": "1.0.0", "name": "h", "plugins": [{"type": "alpha", "fake": {"ADD": {"sleep": 30}}}]},
    )
    proc = cnitool(cni_bin, fake, "add", "--timeout", "0.5", "h", "/n")
    assert proc.returncode == 1 and b"timed out after 0.5 s and was killed; sleeping" in proc.stderr


def test_gc_keeps_live_attachments_unlike_go(cni_bin, fake, net, process_netns):
    live, dead = process_netns(), process_netns()
    for ns in (live, dead):
        assert cnitool(cni_bin, fake, "add", net, ns).returncode == 0
    process_netns.end(dead)
    fake.clear()
    proc = cnitool(cni_bin, fake, "gc", net)
    assert proc.returncode == 0, proc.stderr
    calls = fake.records()
    dead_id = "cnitool-" + hashlib.sha512(dead.encode()).hexdigest()[:20]
    live_id = "cnitool-" + hashlib.sha512(live.encode()).hexdigest()[:20]
    assert [(r["plugin"], r["env"]["CNI_COMMAND"], r["env"]["CNI_CONTAINERID"]) for r in calls] == [
        ("beta", "DEL", dead_id),
        ("alpha", "DEL", dead_id),
        ("alpha", "GC", ""),
        ("beta", "GC", ""),
    ]
    gc_conf = json.loads(calls[2]["stdin"])
    assert gc_conf["cni.dev/valid-attachments"] == [{"containerID": live_id, "ifname": "eth0"}]
    assert os.listdir(os.path.join(fake.cache_dir, "results")) == [f"net-{live_id}-eth0"]


def test_gc_with_explicit_valid_attachments(cni_bin, fake, net, process_netns):
    a, b = process_netns(), process_netns()
    for ns in (a, b):
        assert cnitool(cni_bin, fake, "add", net, ns).returncode == 0
    a_id = "cnitool-" + hashlib.sha512(a.encode()).hexdigest()[:20]
    fake.clear()
    proc = cnitool(cni_bin, fake, "gc", net, "--valid-attachments", f"{a_id}:eth0")
    assert proc.returncode == 0, proc.stderr
    assert [c for _, c, _ in fake.requests()] == ["DEL", "DEL", "GC", "GC"]  # b is live, but not listed
    assert os.listdir(os.path.join(fake.cache_dir, "results")) == [f"net-{a_id}-eth0"]
    fake.clear()
    proc = cnitool(cni_bin, fake, "gc", net, "ignored-netns", "--valid-attachments", "[]")
    assert proc.returncode == 0 and os.listdir(os.path.join(fake.cache_dir, "results")) == []
    assert json.loads(fake.records()[-1]["stdin"])["cni.dev/valid-attachments"] == []
