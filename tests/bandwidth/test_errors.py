"""Bad input: every refusal is a CNI error naming the field, with Go's text where Go has one, and
nothing is left in the kernel."""

from __future__ import annotations

import pytest

from tests.bandwidth.conftest import bw_conf, without_empty_dns

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize(
    "keys, code, msg, details",
    [
        (
            {"ingressRate": 8000},
            7,
            "if rate is set, burst must also be set",
            "ingressRate=8000, ingressBurst=0",
        ),
        (
            {"egressBurst": 8000},
            7,
            "if burst is set, rate must also be set",
            "egressRate=0, egressBurst=8000",
        ),
        (
            {"egressRate": 1, "egressBurst": 8 * 2**32},
            7,
            "burst cannot be more than 4GB",
            "egressRate=1, egressBurst=34359738368",
        ),
        (
            {"runtimeConfig": {"bandwidth": {"ingressBurst": 80}}},
            7,
            "if burst is set, rate must also be set",
            "runtimeConfig.bandwidth.ingressRate=0, runtimeConfig.bandwidth.ingressBurst=80",
        ),
    ],
)
def test_rate_and_burst_like_go(pod, cni_bin, go_dir, keys, code, msg, details):
    for verb in ("ADD", "CHECK", "DEL"):
        ours = pod.run(cni_bin, verb, bw_conf(pod, **keys))
        go = pod.run(go_dir, verb, bw_conf(pod, **keys))
        assert ours.code == go.code == 1
        assert (ours.json["code"], ours.json["msg"], ours.json.get("details")) == (code, msg, details)
        assert go.json["msg"] == msg  # Go: the same text, code 999
    assert pod.ifbs() == []


@pytest.mark.parametrize(
    "keys, code, field",
    [
        ({"ingressRate": -8, "ingressBurst": 8}, 7, "ingressRate"),
        ({"ingressRate": "8", "ingressBurst": 8}, 6, "ingressRate"),
        ({"egressRate": 8, "egressBurst": 1.5}, 6, "egressBurst"),
        ({"egressRate": 2**64, "egressBurst": 8}, 7, "egressRate"),
        ({"runtimeConfig": {"bandwidth": {"egressRate": True}}}, 6, "runtimeConfig.bandwidth.egressRate"),
        ({"runtimeConfig": {"bandwidth": [1]}}, 6, "runtimeConfig.bandwidth"),
        ({"runtimeConfig": "fast"}, 6, "runtimeConfig"),
    ],
)
def test_bad_types_name_the_field(pod, cni_bin, go_dir, keys, code, field):
    ours = pod.run(cni_bin, "ADD", bw_conf(pod, **keys))
    assert ours.code == 1
    assert ours.json["code"] == code
    assert ours.json["msg"].startswith(f'failed to parse network configuration: invalid "{field}"')
    assert ours.json["details"] == field
    go = pod.run(go_dir, "ADD", bw_conf(pod, **keys))
    assert go.code == 1 and go.json["msg"].startswith("failed to parse network configuration: ")
    assert pod.ifbs() == []


def test_rate_below_one_byte_per_second(pod, cni_bin):
    """Go divides by zero for rates of 1 to 7 bit/s; we refuse them."""
    run = pod.run(cni_bin, "ADD", bw_conf(pod, egressRate=7, egressBurst=8000))
    assert (run.json["code"], run.json["details"]) == (7, "egressRate")
    assert "egressRate" in run.json["msg"] and "7" in run.json["msg"]
    assert pod.ifbs() == []


def test_host_interface_errors_like_go(pod_factory, cni_bin, go_dir):
    pod = pod_factory()
    both = {"ingressRate": 8000, "ingressBurst": 800}
    cases = [
        (bw_conf(None, **both), "eth0", "must be called as chained plugin"),
        ({**bw_conf(None, **both), "prevResult": {"cniVersion": "1.0.0"}}, "eth0", "no interfaces provided"),
        (
            bw_conf(pod, **both),
            "eth9",
            'container interface eth9 has no veth peer: could not look up "eth9": Link not found',
        ),
        (
            {
                **bw_conf(pod, **both),
                "prevResult": {"cniVersion": "1.0.0", "interfaces": [{"name": "other"}]},
            },
            "eth0",
            "no veth peer of container interface found in host ns",
        ),
    ]
    for conf, ifname, msg in cases:
        ours = pod.run(cni_bin, "ADD", conf, ifname=ifname)
        go = pod.run(go_dir, "ADD", conf, ifname=ifname)
        assert (ours.code, ours.json["code"], ours.json["msg"]) == (1, 999, msg)
        assert go.json["msg"] == msg
    pod.container.run("ip", "link", "add", "br9", "type", "bridge")
    ours = pod.run(cni_bin, "ADD", bw_conf(pod, **both), ifname="br9")
    go = pod.run(go_dir, "ADD", bw_conf(pod, **both), ifname="br9")
    assert (
        ours.json["msg"]
        == go.json["msg"]
        == ('container interface br9 has no veth peer: interface "br9" was not a veth interface')
    )
    check = pod.run(cni_bin, "CHECK", bw_conf(None, **both))
    assert check.json["msg"] == "must be called as a chained plugin"
    bad_prev = {**bw_conf(None), "prevResult": {"cniVersion": "1.0.0", "ips": [{"address": "zz"}]}}
    for verb in ("ADD", "DEL"):
        ours = pod.run(cni_bin, verb, bad_prev)
        assert ours.code == 1 and ours.json["msg"].startswith("could not parse prevResult: ")
    assert pod.ifbs() == []
    assert [q["kind"] for q in pod.qdiscs() if q["dev"] == "vethbw0"] == ["noqueue"]


def test_no_bandwidth_passes_the_result_through(pod, cni_bin, go_dir):
    for version in ("0.3.1", "1.0.0"):
        ours = pod.run(cni_bin, "ADD", bw_conf(pod, version)).ok().json
        go = pod.run(go_dir, "ADD", bw_conf(pod, version)).ok().json
        assert without_empty_dns(ours) == without_empty_dns(go)
    # without a prevResult Go crashes (nil result); we print an empty result
    ours = pod.run(cni_bin, "ADD", bw_conf(None)).ok().json
    assert ours == {"cniVersion": "1.0.0"}
