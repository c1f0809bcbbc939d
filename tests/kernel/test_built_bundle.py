"""The frozen executables (dist/bin, `make build`) through ADD/CHECK/DEL of the chain
bridge(+host-local) + tuning + portmap, driven by the built cnitool, cold and through the warm
server. Skipped with a reason when nothing was built (CI builds first)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.harness import unique

pytestmark = pytest.mark.kernel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILT = os.environ.get("CNI_BUILT_DIR", os.path.join(ROOT, "dist", "bin"))
SUBNET_PREFIX = "10.93.7."


@pytest.fixture
def built():
    if not os.access(os.path.join(BUILT, "cnitool"), os.X_OK):
        pytest.skip(f"no built executables in {BUILT} (run `make build`)")
    return BUILT


def conflist(tmp_path, bridge: str) -> str:
    conf = {
        "cniVersion": "1.1.0",
        "name": "built",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(tmp_path / "ipam"),
                    "ranges": [[{"subnet": SUBNET_PREFIX + "0/24"}]],
                },
            },
            {"type": "tuning", "sysctl": {"net.core.somaxconn": "777"}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    directory = tmp_path / "net.d"
    directory.mkdir()
    (directory / "10-built.conflist").write_text(json.dumps(conf))
    return str(directory)


@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_chain_add_check_del_with_the_built_executables(built, tmp_path, host_ns, container_ns, mode):
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "NETCONFPATH": conflist(tmp_path, unique("brb")),
        "CNI_PATH": built,
        "CNI_CACHE_DIR": str(tmp_path / "cache"),
        "CAP_ARGS": json.dumps(
            {"portMappings": [{"hostPort": 18181, "containerPort": 80, "protocol": "tcp"}]}
        ),
        "CNI_PY_WARM": "0" if mode == "cold" else "1",
    }

    def cnitool(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["nsenter", f"--net={host_ns.path}", "--", os.path.join(built, "cnitool"), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    try:
        add = cnitool("add", "built", container_ns.path)
        assert add.returncode == 0, add.stderr + add.stdout
        result = json.loads(add.stdout)
        address = result["ips"][0]["address"]
        assert address.startswith(SUBNET_PREFIX) and result["ips"][0]["interface"] == 2
        assert [i["name"] for i in result["interfaces"]][2] == "eth0"
        assert address in container_ns.addrs("eth0")
        assert container_ns.sysctl("net.core.somaxconn") == "777"
        container_ip = address.split("/")[0]
        nat = host_ns.run("iptables-save", "-t", "nat")
        assert f"--to-destination {container_ip}:80" in nat and "CNI-HOSTPORT-DNAT" in nat

        check = cnitool("check", "built", container_ns.path)
        assert check.returncode == 0, check.stderr + check.stdout

        delete = cnitool("del", "built", container_ns.path)
        assert delete.returncode == 0, delete.stderr + delete.stdout
        assert container_ns.link("eth0") is None
        assert container_ip not in host_ns.run("iptables-save", "-t", "nat")
        assert not [n for n in os.listdir(tmp_path / "ipam" / "built") if n.startswith(SUBNET_PREFIX)]
    finally:
        # the warm server lives in this test's host netns: stop it so nothing outlives the test
        subprocess.run(
            ["nsenter", f"--net={host_ns.path}", "--", os.path.join(built, "bridge"), "--warm-stop"],
            env=env,
            capture_output=True,
            check=False,
        )
