"""The result cache: Go's cniCacheV1 format byte for byte (cni-spec.md 5.6, L-40..L-44).

The golden files were written by hand from the Go format (field order of libcni's cachedInfo,
[]byte as base64, the result as a Go map: keys sorted; omitempty fields left out);
test_go_libcni.py checks the same against files Go's libcni writes itself.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from libcni import cache
from libcni.api import CNIConfig, NetworkError, RuntimeConf
from libcni.conf import network_conf_from_file
from libcni.types.results import Result

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")

RESULT_100 = {
    # a plugin's own key order; the cache must store it sorted
    "cniVersion": "1.0.0",
    "interfaces": [
        {"name": "cni0", "mac": "0a:58:0a:01:00:01"},
        {"name": "eth0", "mac": "0a:58:0a:01:00:05", "sandbox": "/run/netns/x"},
    ],
    "ips": [{"interface": 1, "address": "10.1.0.5/16", "gateway": "10.1.0.1"}],
    "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}],
    "dns": {"nameservers": ["10.1.0.1"]},
}
RESULT_040 = {
    "cniVersion": "0.4.0",
    "interfaces": [{"name": "eth0", "sandbox": "/proc/1/ns/net"}],
    "ips": [{"version": "4", "interface": 0, "address": "10.2.0.5/24"}],
}


def golden(name: str) -> bytes:
    with open(os.path.join(GOLDEN, name), "rb") as f:
        return f.read()


def add(fake, conflist: str, result: dict, rt: RuntimeConf) -> CNIConfig:
    cni = CNIConfig([fake.bin_dir], fake.cache_dir, env=fake.env(FAKE_RESULT=json.dumps(result)))
    cni.add_network_list(network_conf_from_file(os.path.join(GOLDEN, conflist)), rt)
    return cni


RT_FULL = RuntimeConf(
    container_id="ctr1",
    netns="/run/netns/x",
    ifname="eth0",
    args=[("IgnoreUnknown", "1"), ("K8S_POD_NAME", "p")],
    capability_args={
        "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
        "mac": "c2:11:22:33:44:55",
    },
)


def test_L41_cache_file_matches_golden_full(fake):
    add(fake, "dbnet.conflist", RESULT_100, RT_FULL)
    path = os.path.join(fake.cache_dir, "results", "dbnet-ctr1-eth0")
    with open(path, "rb") as f:
        assert f.read() == golden("cache-1.0.0")


def test_L41_cache_file_matches_golden_minimal_040(fake):
    add(fake, "oldnet.conflist", RESULT_040, RuntimeConf(container_id="ctr2", ifname="net1"))
    with open(os.path.join(fake.cache_dir, "results", "oldnet-ctr2-net1"), "rb") as f:
        assert f.read() == golden("cache-0.4.0")


def test_L40_modes_and_path(fake):
    old = os.umask(0o022)
    try:
        add(fake, "dbnet.conflist", RESULT_100, RT_FULL)
    finally:
        os.umask(old)
    results = os.path.join(fake.cache_dir, "results")
    assert stat.S_IMODE(os.stat(fake.cache_dir).st_mode) == 0o700  # MkdirAll gives parents the mode too
    assert stat.S_IMODE(os.stat(results).st_mode) == 0o700
    assert os.listdir(results) == ["dbnet-ctr1-eth0"]
    assert stat.S_IMODE(os.stat(os.path.join(results, "dbnet-ctr1-eth0")).st_mode) == 0o600


def test_L40_path_needs_all_three_parts():
    with pytest.raises(cache.CacheError, match=r'requires network name \("n"\), container ID \(""\)'):
        cache.cache_file_path("/c", "n", "", "eth0")


def _seed(fake, name: str, data: bytes) -> None:
    os.makedirs(os.path.join(fake.cache_dir, "results"), exist_ok=True)
    with open(os.path.join(fake.cache_dir, "results", name), "wb") as f:
        f.write(data)


def test_L42_cached_result_is_converted_to_the_list_version(fake):
    _seed(fake, "dbnet-ctr1-eth0", golden("cache-1.0.0"))
    cni = CNIConfig([fake.bin_dir], fake.cache_dir)
    conf_list = network_conf_from_file(os.path.join(GOLDEN, "dbnet.conflist"))
    conf_list.cni_version = "0.4.0"
    result = cni.get_network_list_cached_result(conf_list, RuntimeConf(container_id="ctr1", ifname="eth0"))
    assert isinstance(result, Result) and result.cniVersion == "0.4.0"
    assert result.to_json_dict()["ips"] == [
        {"version": "4", "interface": 1, "address": "10.1.0.5/16", "gateway": "10.1.0.1"}
    ]
    assert (
        cni.get_network_list_cached_result(conf_list, RuntimeConf(container_id="none", ifname="eth0")) is None
    )


def test_L42_legacy_bare_result_file_and_failed_conversion(fake):
    _seed(fake, "dbnet-old-eth0", b'{"cniVersion":"0.2.0","ip4":{"ip":"10.3.0.2/24"}}')
    cni = CNIConfig([fake.bin_dir], fake.cache_dir)
    conf_list = network_conf_from_file(os.path.join(GOLDEN, "dbnet.conflist"))
    result = cni.get_network_list_cached_result(conf_list, RuntimeConf(container_id="old", ifname="eth0"))
    assert result.cniVersion == "1.0.0" and result.ips[0].address == "10.3.0.2/24"
    _seed(fake, "dbnet-v6-eth0", b'{"cniVersion":"1.0.0","interfaces":[{"name":"x"}]}')
    conf_list.cni_version = "0.2.0"
    with pytest.raises(NetworkError, match='failed to convert cached result to config version "0.2.0"'):
        cni.get_network_list_cached_result(conf_list, RuntimeConf(container_id="v6", ifname="eth0"))


def test_L43_cached_config_and_runtime_conf(fake):
    _seed(fake, "dbnet-ctr1-eth0", golden("cache-1.0.0"))
    _seed(fake, "dbnet-bad-eth0", b'{"kind":"other"}')
    cni = CNIConfig([fake.bin_dir], fake.cache_dir)
    conf_list = network_conf_from_file(os.path.join(GOLDEN, "dbnet.conflist"))
    data, rt = cni.get_network_list_cached_config(conf_list, RuntimeConf(container_id="ctr1", ifname="eth0"))
    assert data == golden("dbnet.conflist")
    assert rt.args == RT_FULL.args and rt.capability_args["mac"] == "c2:11:22:33:44:55"
    assert cni.get_network_list_cached_config(conf_list, RuntimeConf(container_id="no", ifname="eth0")) == (
        None,
        None,
    )
    with pytest.raises(NetworkError, match='^read cached network "dbnet" config has wrong kind: other$'):
        cni.get_network_list_cached_config(conf_list, RuntimeConf(container_id="bad", ifname="eth0"))


def test_L44_cached_attachments_filtering(fake):
    _seed(fake, "dbnet-ctr1-eth0", golden("cache-1.0.0"))
    _seed(fake, "oldnet-ctr2-net1", golden("cache-0.4.0"))
    _seed(fake, "x-ctr1-", golden("cache-1.0.0"))  # "-ctr1-" at the end: skipped by name
    _seed(fake, "foreign-ctr1-eth0", b'{"kind":"v0","containerId":"ctr1","ifName":"e","networkName":"n"}')
    _seed(fake, "noif-ctr1-eth0", b'{"kind":"cniCacheV1","containerId":"ctr1","networkName":"n"}')
    _seed(
        fake, "other-ctr1-eth0", b'{"kind":"cniCacheV1","containerId":"ctr9","ifName":"e","networkName":"n"}'
    )
    _seed(fake, "junk", b"{{{")
    cni = CNIConfig([fake.bin_dir], fake.cache_dir)
    everything = cni.get_cached_attachments()
    assert [(a.network, a.container_id, a.ifname) for a in everything] == [
        ("dbnet", "ctr1", "eth0"),
        ("oldnet", "ctr2", "net1"),
        ("n", "ctr9", "e"),
        ("dbnet", "ctr1", "eth0"),
    ]
    mine = cni.get_cached_attachments("ctr1")
    assert [(a.network, a.ifname, a.netns) for a in mine] == [("dbnet", "eth0", "/run/netns/x")]
    assert mine[0].cni_args == RT_FULL.args and mine[0].config == golden("dbnet.conflist")
    assert CNIConfig([], str(fake.cache_dir) + "-missing").get_cached_attachments() == []
