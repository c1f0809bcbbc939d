"""The plugin through the skeleton, in process, where no kernel work is involved (no mappings)."""

from __future__ import annotations

import json

import pytest

from libcni.skel import dispatch
from plugins.portmap import PLUGIN

PREV = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "eth0", "sandbox": "/var/run/netns/x"}],
    "ips": [{"address": "10.0.0.2/24", "gateway": "10.0.0.1", "interface": 0}],
}


def call(command: str, conf: dict) -> tuple[int, dict | None]:
    env = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "c1",
        "CNI_NETNS": "/proc/1/ns/net",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/nonexistent",
        "CNI_NETNS_OVERRIDE": "1",
    }
    out = dispatch(PLUGIN, env, lambda: json.dumps(conf).encode())
    return out.exit_code, json.loads(out.stdout) if out.stdout else None


@pytest.mark.parametrize("version", ["0.3.1", "0.4.0", "1.0.0", "1.1.0"])
def test_without_mappings_add_prints_prev_result_in_the_config_version(version):
    conf = {"cniVersion": version, "name": "n", "type": "portmap", "prevResult": PREV}
    code, result = call("ADD", conf)
    assert code == 0 and result["cniVersion"] == version
    assert result["ips"][0]["address"] == "10.0.0.2/24"
    assert ("version" in result["ips"][0]) == (version in ("0.3.1", "0.4.0"))


def test_without_mappings_del_and_check_succeed():
    conf = {"cniVersion": "1.0.0", "name": "n", "type": "portmap", "prevResult": PREV}
    assert call("DEL", conf) == (0, None)
    assert call("CHECK", conf) == (0, None)


def test_errors_are_prefixed_like_go():
    bad = {
        "cniVersion": "1.0.0",
        "name": "n",
        "type": "portmap",
        "backend": "bogus",
        "prevResult": PREV,
    }
    assert call("ADD", bad)[1]["msg"] == 'failed to parse config: unrecognized backend "bogus"'
    assert call("DEL", bad)[1]["msg"] == 'failed to parse config: unrecognized backend "bogus"'
    assert call("CHECK", bad)[1]["msg"] == 'unrecognized backend "bogus"'
