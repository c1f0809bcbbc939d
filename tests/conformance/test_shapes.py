"""Result, error and VERSION-reply validation, and prevResult conversion (pure functions)."""

from __future__ import annotations

import pytest

from conformance.shapes import convert_result, error_problems, result_problems, version_reply_problems

RESULT_1X = {
    "interfaces": [{"name": "cni0", "mac": "0a:58:0a:0a:00:01"}, {"name": "eth0", "sandbox": "/run/netns/x"}],
    "ips": [
        {"interface": 1, "address": "10.10.0.2/24", "gateway": "10.10.0.1"},
        {"address": "2001:db8::2/64"},
    ],
    "routes": [{"dst": "0.0.0.0/0", "gw": "10.10.0.1"}, {"dst": "::/0"}],
    "dns": {"nameservers": ["192.0.2.1"]},
}


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0", "0.4.0", "0.3.1", "0.3.0", "0.2.0", "0.1.0"])
def test_converted_results_are_valid_for_their_version(version):
    converted = convert_result(RESULT_1X, version)
    assert result_problems(converted, version) == []
    assert converted["cniVersion"] == version


def test_040_result_needs_version_keys():
    data = convert_result(RESULT_1X, "0.4.0")
    assert data["ips"][0]["version"] == "4" and data["ips"][1]["version"] == "6"
    del data["ips"][0]["version"]
    assert any("version" in p for p in result_problems(data, "0.4.0"))


def test_1x_result_must_not_carry_version_key():
    data = {**RESULT_1X, "cniVersion": "1.0.0", "ips": [{"version": "4", "address": "10.0.0.2/24"}]}
    assert any("unexpected key 'version'" in p for p in result_problems(data, "1.0.0"))


def test_020_conversion_keeps_first_ip_per_family_and_routes_by_family():
    data = convert_result(RESULT_1X, "0.2.0")
    assert data["ip4"] == {
        "ip": "10.10.0.2/24",
        "gateway": "10.10.0.1",
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.10.0.1"}],
    }
    assert data["ip6"]["routes"] == [{"dst": "::/0"}]
    assert "interfaces" not in data


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.2"}]}, "not an address with prefix"),
        ({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.2/24", "interface": 3}]}, "not an index"),
        ({"cniVersion": "1.0.0", "interfaces": [{"mac": "aa"}]}, "name: missing"),
        ({"cniVersion": "1.0.0", "interfaces": [{"name": "x", "mac": "zz"}]}, "not a MAC"),
        ({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.2/24", "gateway": "::1"}]}, "family"),
        ({"cniVersion": "1.0.0", "routes": [{"gw": "10.0.0.1"}]}, "dst"),
        ({"cniVersion": "1.0.0", "dns": {"nameservers": "x"}}, "dns.nameservers"),
        ({"cniVersion": "0.2.0"}, "neither ip4 nor ip6"),
        ({"cniVersion": "0.2.0", "ip4": {"ip": "2001:db8::1/64"}}, "not IPv4"),
        ({"cniVersion": "0.4.0", "ips": []}, "expected the config's '1.0.0'"),
    ],
)
def test_result_problems_are_found(data, needle):
    problems = result_problems(data, "0.2.0" if data.get("cniVersion") == "0.2.0" else "1.0.0")
    assert any(needle in p for p in problems), problems


def test_error_object_shape():
    assert error_problems({"code": 7, "msg": "bad", "details": "x", "cniVersion": "1.0.0"}) == []
    assert error_problems({"code": "7", "msg": "bad"})
    assert error_problems({"code": 7})
    assert error_problems([])


def test_version_reply_shape():
    assert version_reply_problems({"cniVersion": "1.0.0", "supportedVersions": ["0.1.0", "1.0.0"]}) == []
    assert version_reply_problems({"cniVersion": "0.2.0", "supportedVersions": []}) == []
    assert version_reply_problems({"cniVersion": "1.0.0", "supportedVersions": []})
    assert version_reply_problems({"supportedVersions": ["1.0.0"]})
