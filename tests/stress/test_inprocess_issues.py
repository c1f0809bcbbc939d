"""Issues the fuzzer found, most of them reachable only through the in-process API (a real
process's environment cannot hold them). All fixed; the tests keep them fixed."""

from __future__ import annotations

import json

from libcni.skel import dispatch


def test_nul_in_netns_is_an_environment_error(tmp_path):
    from ipam.host_local import PLUGIN

    env = {
        "CNI_COMMAND": "DEL",
        "CNI_CONTAINERID": "c",
        "CNI_NETNS": "/run/netns/a\0b",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/nonexistent",
        "CNI_PY_TRACEBACK": "1",
    }
    ipam = {"type": "host-local", "subnet": "10.71.9.0/24", "dataDir": str(tmp_path / "data")}
    stdin = json.dumps({"cniVersion": "1.0.0", "name": "n", "ipam": ipam}).encode()
    outcome = dispatch(PLUGIN, env, lambda: stdin)
    assert b"Traceback" not in outcome.stderr
    # host-local never opens the netns: DEL succeeds; anything else must be a typed error
    assert outcome.exit_code == 0 or json.loads(outcome.stdout)["code"] != 999


def test_portmap_forget_tolerates_long_container_ids(tmp_path):
    from pkg import owners

    owners.record("net", "short", "eth0", state_dir=str(tmp_path))
    owners.forget("net", ["c" * 300], state_dir=str(tmp_path))  # DEL must not fail on this


def test_surrogate_escape_in_config_field(tmp_path):
    from ipam.host_local import PLUGIN

    env = {
        "CNI_COMMAND": "DEL",
        "CNI_CONTAINERID": "c",
        "CNI_NETNS": "",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/nonexistent",
        "CNI_PY_TRACEBACK": "1",
    }
    stdin = b'{"cniVersion": "1.0.0", "name": "n", "ipam": {"type": "host-local", "subnet": "\\ud800"}}'
    outcome = dispatch(PLUGIN, env, lambda: stdin)
    assert b"Traceback" not in outcome.stderr
    assert json.loads(outcome.stdout)["code"] in (6, 7)


def test_lone_surrogate_env_in_process():
    from plugins.bridge import PLUGIN

    env = {
        "CNI_COMMAND": "DEL",
        "CNI_CONTAINERID": "c",
        "CNI_NETNS": "",
        "CNI_IFNAME": "e\ud800",
        "CNI_PATH": "/nonexistent",
        "CNI_PY_TRACEBACK": "1",
    }
    outcome = dispatch(PLUGIN, env, lambda: b'{"cniVersion": "1.0.0", "name": "n", "type": "bridge"}')
    assert b"Traceback" not in outcome.stderr
