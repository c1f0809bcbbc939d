"""More cold chains than test_cold_imports.py's, through the paths of the plugins' options: tuning
changing link attributes (its backup written on ADD, read on DEL) and sysctls, portmap's nftables
backend with UDP (conntrack flush) and snat, bandwidth both ways, firewall, bridge without ipMasq
with spoof check (and removeEmptyBridge), host-local with two range sets. Every plugin process of
ADD, CHECK and DEL records its modules; none may be a costly one."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from .test_cold_imports import _assert_lean, _loaded, recording_bin  # noqa: F401 (a fixture)

pytestmark = pytest.mark.kernel

MAPPINGS = {
    "portMappings": [
        {"hostPort": 18383, "containerPort": 80, "protocol": "tcp"},
        {"hostPort": 18384, "containerPort": 53, "protocol": "udp"},
    ]
}


def _conflist(name: str, bridge: str, data_dir: str, portmap: dict, bridge_extra: dict) -> dict:
    return {
        "cniVersion": "1.0.0",
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "macspoofchk": True,
                **bridge_extra,
                "ipam": {
                    "type": "host-local",
                    "dataDir": data_dir,
                    "ranges": [[{"subnet": "10.223.9.0/24"}], [{"subnet": "fd00:223:9::/64"}]],
                },
            },
            {
                "type": "tuning",
                "mac": "0a:58:0a:df:09:63",
                "mtu": 1400,
                "promisc": True,
                "allmulti": True,
                "sysctl": {"net.ipv4.conf.IFNAME.rp_filter": "2"},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, **portmap},
            {"type": "firewall", "backend": "iptables"},
            {
                "type": "bandwidth",
                "ingressRate": 8_000_000,
                "ingressBurst": 80_000,
                "egressRate": 8_000_000,
                "egressBurst": 80_000,
            },
        ],
    }


@pytest.mark.parametrize(
    ("portmap", "bridge_extra"),
    [({"backend": "nftables"}, {}), ({"backend": "iptables", "snat": False}, {"removeEmptyBridge": True})],
)
def test_option_paths_load_no_costly_module(
    recording_bin,  # noqa: F811
    host_ns,
    container_ns,
    tmp_path,
    portmap,
    bridge_extra,
):
    bin_dir, modules = recording_bin
    name = f"leanv{os.getpid() % 10000}"
    conf_dir = tmp_path / "net.d"
    conf_dir.mkdir()
    bridge = f"brv{os.getpid() % 10000}"
    conf = _conflist(name, bridge, str(tmp_path / "ipam"), portmap, bridge_extra)
    (conf_dir / f"10-{name}.conflist").write_text(json.dumps(conf))
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "NETCONFPATH": str(conf_dir),
        "CNI_PATH": bin_dir,
        "CNI_CACHE_DIR": str(tmp_path / "cache"),
        "CAP_ARGS": json.dumps(MAPPINGS),
        "CNI_PY_WARM": "0",
    }

    def cnitool(verb: str) -> subprocess.CompletedProcess:
        argv = ["nsenter", f"--net={host_ns.path}", "--", os.path.join(bin_dir, "cnitool")]
        return subprocess.run(
            [*argv, verb, name, container_ns.path], env=env, capture_output=True, text=True, timeout=120
        )

    add = cnitool("add")
    try:
        assert add.returncode == 0, add.stderr + add.stdout
        assert container_ns.link("eth0") is not None
        check = cnitool("check")
        assert check.returncode == 0, check.stderr + check.stdout
    finally:
        delete = cnitool("del")
    assert delete.returncode == 0, delete.stderr + delete.stdout
    assert container_ns.link("eth0") is None
    if bridge_extra.get("removeEmptyBridge"):
        assert host_ns.link(bridge) is None  # the bridge it made went with its last port
    _assert_lean(_loaded(modules), {"bridge", "host-local", "tuning", "portmap", "firewall", "bandwidth"})
