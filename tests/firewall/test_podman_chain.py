"""podman's own conflist (what podman 4.3's CNI backend writes for `podman network create` and its
default network: bridge + portmap + firewall with `"backend": ""` + tuning), driven by our
cnitool with only our plugins on CNI_PATH and no firewalld on the (nonexistent) system bus:
ADD, CHECK and DEL work, firewall passes the bridge's result on and writes its iptables rules,
and real TCP flows between two containers of the network."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.harness import unique

from .conftest import ECHO_CLIENT, ECHO_SERVER, NO_BUS, tables

pytestmark = pytest.mark.kernel


def podman_conflist(tmp_path, bridge: str, isolate: bool) -> str:
    firewall = {"type": "firewall", "backend": ""}
    if isolate:  # podman network create --opt isolate=true
        firewall["ingressPolicy"] = "same-bridge"
    conf = {
        "cniVersion": "1.0.0",
        "name": "podnet",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(tmp_path / "ipam"),
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "ranges": [[{"subnet": "10.89.4.0/24", "gateway": "10.89.4.1"}]],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
            firewall,
            {"type": "tuning"},
        ],
    }
    directory = tmp_path / "net.d"
    directory.mkdir()
    (directory / "87-podnet.conflist").write_text(json.dumps(conf))
    return str(directory)


@pytest.mark.parametrize("isolate", [False, True], ids=["default", "isolate"])
def test_podman_conflist(isolate, cni_bin, tmp_path, host_ns, netns_factory):
    bridge = unique("cnipod")[:15]
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "NETCONFPATH": podman_conflist(tmp_path, bridge, isolate),
        "CNI_PATH": cni_bin,
        "CNI_CACHE_DIR": str(tmp_path / "cache"),
        "CNI_PY_WARM": "0",
        **NO_BUS,
    }
    host_ns.run("sysctl", "-qw", "net.ipv4.ip_forward=1")

    def cnitool(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["nsenter", f"--net={host_ns.path}", "--", os.path.join(cni_bin, "cnitool"), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    a, b = netns_factory(), netns_factory()
    added = []
    try:
        for ns in (a, b):
            out = cnitool("add", "podnet", ns.path)
            assert out.returncode == 0, out.stderr + out.stdout
            added.append(ns)
            result = json.loads(out.stdout)
            assert result["interfaces"][0]["name"] == bridge  # firewall passed bridge's result on
        ip_a = a.addrs("eth0")[0].split("/")[0]
        saved = "\n".join(tables(host_ns)[4])
        assert f"-A CNI-FORWARD -s {ip_a}/32 -j ACCEPT" in saved
        assert (f"-i {bridge} ! -o {bridge}" in saved) == isolate
        for ns in (a, b):
            out = cnitool("check", "podnet", ns.path)
            assert out.returncode == 0, out.stderr + out.stdout
        server = subprocess.Popen(
            ["nsenter", f"--net={a.path}", "--", "python3", ECHO_SERVER, "pod-a", "8080"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout.readline().strip() == "ready"
            reply = b.run("python3", ECHO_CLIENT, "tcp", ip_a, "8080", check=False)
            assert reply.split()[:1] == ["pod-a"], reply
        finally:
            server.kill()
            server.wait()
    finally:
        for ns in added:
            out = cnitool("del", "podnet", ns.path)
            assert out.returncode == 0, out.stderr + out.stdout
    saved = "\n".join(tables(host_ns)[4])
    assert "10.89.4." not in saved, "DEL leaves no rule of the containers"
