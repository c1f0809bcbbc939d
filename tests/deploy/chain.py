"""The demo's chain (bridge + host-local, tuning, portmap) through cnitool, from an installed directory.

ADD, CHECK and DEL with the cnitool found in `bin_dir`, CNI_PATH=bin_dir, in the test's host netns;
checks the address, the veth, the portmap DNAT rule and that DEL removes them.
"""

from __future__ import annotations

import json
import os
import subprocess

PORT_MAPPING = {"portMappings": [{"hostPort": 18282, "containerPort": 80, "protocol": "tcp"}]}


def write_conflist(directory: str, name: str, bridge: str, subnet: str, data_dir: str) -> str:
    conf = {
        "cniVersion": "1.0.0",
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "ipam": {"type": "host-local", "dataDir": data_dir, "ranges": [[{"subnet": subnet}]]},
            },
            {"type": "tuning", "sysctl": {"net.core.somaxconn": "777"}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"10-{name}.conflist"), "w") as f:
        json.dump(conf, f)
    return directory


def run_chain(bin_dir: str, netconf_dir: str, network: str, host_ns, container_ns, cache_dir: str) -> dict:
    """ADD/CHECK/DEL of `network`; returns the ADD result. Asserts along the way."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "NETCONFPATH": netconf_dir,
        "CNI_PATH": bin_dir,
        "CNI_CACHE_DIR": cache_dir,
        "CAP_ARGS": json.dumps(PORT_MAPPING),
        "CNI_PY_WARM": "0",
    }

    def cnitool(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["nsenter", f"--net={host_ns.path}", "--", os.path.join(bin_dir, "cnitool"), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    add = cnitool("add", network, container_ns.path)
    assert add.returncode == 0, add.stderr + add.stdout
    result = json.loads(add.stdout)
    try:
        address = result["ips"][0]["address"]
        assert address in container_ns.addrs("eth0")
        container_ip = address.split("/")[0]
        nat = host_ns.run("iptables-save", "-t", "nat")
        assert f"--to-destination {container_ip}:80" in nat
        check = cnitool("check", network, container_ns.path)
        assert check.returncode == 0, check.stderr + check.stdout
    finally:
        delete = cnitool("del", network, container_ns.path)
    assert delete.returncode == 0, delete.stderr + delete.stdout
    assert container_ns.link("eth0") is None
    assert container_ip not in host_ns.run("iptables-save", "-t", "nat")
    return result
