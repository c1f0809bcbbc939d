"""Stdin decoded as Go's encoding/json decodes it, checked through the real executables side by side
with the Go plugins (tuning passes prevResult through, so its output shows what it decoded)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.kernel

PREV = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "eth0", "sandbox": "/x"}],
    "ips": [{"address": "10.9.0.2/24", "interface": 0}],
}


def _both(runner, go_runner, container_ns, stdin: bytes):
    kw = dict(container_id="dec1", netns=container_ns.path, ifname="eth0")
    return runner.run("tuning", "ADD", stdin, **kw), go_runner.run("tuning", "ADD", stdin, **kw)


def test_invalid_utf8_inside_a_string_is_accepted_like_go(runner, go_runner, container_ns):
    conf = {"cniVersion": "1.0.0", "name": "dec", "type": "tuning", "prevResult": PREV, "note": "@@"}
    stdin = json.dumps(conf).encode().replace(b"@@", b"\xff\xfe bad \xed\xa0\x80")
    ours, go = _both(runner, go_runner, container_ns, stdin)
    assert go.code == 0, go.stdout
    assert ours.code == 0, ours.stdout
    assert ours.json == go.json


def test_last_case_variant_of_a_key_wins_like_go(runner, go_runner, container_ns):
    body = json.dumps({"name": "dec", "type": "tuning", "prevResult": PREV})[1:-1]
    stdin = ('{"cniVersion":"1.0.0",' + body + ',"CNIVersion":"0.4.0"}').encode()
    ours, go = _both(runner, go_runner, container_ns, stdin)
    assert go.code == 0 and go.json["cniVersion"] == "0.4.0", go.stdout
    assert ours.code == 0, ours.stdout
    assert ours.json == go.json
