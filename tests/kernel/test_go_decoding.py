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


def _without_empty_dns(result: dict) -> dict:
    """Go 1.1.1 prints `"dns": {}` in 1.x results; current libcni (and ours) omit it (README)."""
    return {k: v for k, v in result.items() if not (k == "dns" and v == {})}


def test_invalid_utf8_inside_a_string_is_accepted_like_go(runner, go_runner, container_ns):
    conf = {"cniVersion": "1.0.0", "name": "dec", "type": "tuning", "prevResult": PREV, "note": "@@"}
    stdin = json.dumps(conf).encode().replace(b"@@", b"\xff\xfe bad \xed\xa0\x80")
    ours, go = _both(runner, go_runner, container_ns, stdin)
    assert go.code == 0, go.stdout
    assert ours.code == 0, ours.stdout
    assert ours.json == _without_empty_dns(go.json)


def test_last_case_variant_of_a_key_wins_like_go(runner, go_runner, container_ns):
    # Go parses prevResult with the config's version: 0.4.0, whose IPs carry "version"
    prev = dict(PREV, cniVersion="0.4.0", ips=[dict(PREV["ips"][0], version="4")])
    body = json.dumps({"name": "dec", "type": "tuning", "prevResult": prev})[1:-1]
    stdin = ('{"cniVersion":"1.0.0",' + body + ',"CNIVersion":"0.4.0"}').encode()
    ours, go = _both(runner, go_runner, container_ns, stdin)
    assert go.code == 0 and go.json["cniVersion"] == "0.4.0", go.stdout
    assert ours.code == 0, ours.stdout
    assert ours.json == go.json


@pytest.mark.parametrize("address", ["::ffff:10.88.1.2/120", "::ffff:10.88.1.2/64", "fd00::2/64"])
def test_ipv4_mapped_addresses_print_like_go(runner, go_runner, container_ns, address):
    prev = dict(PREV, ips=[{"address": address, "gateway": "::ffff:10.88.1.1", "interface": 0}])
    conf = {"cniVersion": "1.0.0", "name": "dec", "type": "tuning", "prevResult": prev}
    ours, go = _both(runner, go_runner, container_ns, json.dumps(conf).encode())
    assert go.code == 0, go.stdout
    assert ours.code == 0, ours.stdout
    assert ours.json == _without_empty_dns(go.json)
