"""Side by side with the Go reference (Debian 1.1.1): same config, same stdin, fresh dataDirs;
results must be byte-identical JSON and the store files identical, for every spec version the Go
build supports. Error messages are compared where we keep the reference's text."""

from __future__ import annotations

import os

import pytest

from libcni.types.version import SUPPORTED_VERSIONS

from .conftest import GO_HOST_LOCAL, HostLocal

pytestmark = pytest.mark.skipif(not os.access(GO_HOST_LOCAL, os.X_OK), reason="Go host-local not installed")

GO_VERSIONS = [v for v in SUPPORTED_VERSIONS if v != "1.1.0"]

CASES = {
    "legacy": (
        {"subnet": "10.1.2.0/24", "rangeStart": "10.1.2.9", "rangeEnd": "10.1.2.20", "gateway": "10.1.2.30"},
        {},
    ),
    "dual-stack": (
        {
            "ranges": [
                [{"subnet": "10.1.2.0/24"}, {"subnet": "10.2.2.0/24"}],
                [{"subnet": "2001:db8:1::/64"}],
            ],
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}, {"dst": "192.168.0.0/16", "gw": "1.1.1.1"}],
        },
        {},
    ),
    "v6-only": ({"ranges": [[{"subnet": "2001:DB8:0:0::/64", "rangeStart": "2001:db8::100"}]]}, {}),
    "custom-gateway": ({"ranges": [[{"subnet": "10.3.0.0/30", "gateway": "10.3.0.2"}]]}, {}),
    "requested": (
        {"ranges": [[{"subnet": "10.1.2.0/24"}], [{"subnet": "2001:db8::/64"}]]},
        {"args": "IP=10.1.2.77"},
    ),
    "config-args": (
        {"ranges": [[{"subnet": "10.1.2.0/24"}], [{"subnet": "2001:db8::/64"}]]},
        {"top": {"args": {"cni": {"ips": ["2001:db8::99/64"]}}}},
    ),
    "runtime": (
        {"ranges": [[{"subnet": "10.1.2.0/24"}]]},
        {"top": {"runtimeConfig": {"ips": ["10.9.0.5"], "ipRanges": [[{"subnet": "10.9.0.0/24"}]]}}},
    ),
    "two-v4-sets": ({"ranges": [[{"subnet": "10.1.2.0/24"}], [{"subnet": "10.1.3.0/24"}]]}, {}),
    "resolv": ({"subnet": "10.1.2.0/24", "resolvConf": "{tmp}/resolv.conf"}, {}),
}


@pytest.fixture
def pair(tmp_path, cni_bin):
    (tmp_path / "resolv.conf").write_text(
        "nameserver 192.0.2.3\nsearch a.example b.example\noptions ndots:2\n"
    )
    ours = HostLocal(str(tmp_path / "ours"))
    go = HostLocal(str(tmp_path / "go"), binary=GO_HOST_LOCAL, cni_path=cni_bin)
    return ours, go, str(tmp_path)


def conf_for(plugin: HostLocal, version: str, ipam: dict, extra: dict, tmp: str) -> dict:
    ipam = {k: (v.replace("{tmp}", tmp) if isinstance(v, str) else v) for k, v in ipam.items()}
    return plugin.conf(version, top=extra.get("top"), **ipam)


def same_reply(mine, theirs, version: str) -> None:
    """Byte-identical output, except two deliberate differences: error codes (Go: 999 for
    everything) and an empty `dns` in 1.x results (the Go 1.1.1 build prints `"dns": {}`,
    current libcni omits it, as we do)."""
    assert (mine.code == 0) == (theirs.code == 0), (mine, theirs)
    if theirs.code != 0:
        assert mine.json["msg"] == theirs.json["msg"]
        return
    expected = theirs.stdout
    if version >= "1.0.0":
        expected = expected.replace(',\n    "dns": {}\n}', "\n}")
    assert mine.stdout == expected


@pytest.mark.parametrize("version", GO_VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_results_and_files_as_go(pair, case, version):
    ours, go, tmp = pair
    ipam, extra = CASES[case]
    replies = []
    for plugin in (ours, go):
        conf = conf_for(plugin, version, ipam, extra, tmp)
        replies.append((plugin.add(conf, "ctr1", args=extra.get("args", "")), plugin.add(conf, "ctr2")))
    (ours_first, ours_second), (go_first, go_second) = replies
    same_reply(ours_first, go_first, version)
    same_reply(ours_second, go_second, version)
    if go_first.code != 0:
        return
    assert ours.files() == go.files()
    for plugin in (ours, go):
        conf = conf_for(plugin, version, ipam, extra, tmp)
        plugin.delete(conf, "ctr1").ok()
        plugin.delete(conf, "ctr2").ok()
    assert ours.files() == go.files()


@pytest.mark.parametrize(
    "ipam",
    [
        {"subnet": "10.1.2.1/24"},
        {"subnet": "10.1.2.0/31"},
        {"ranges": [[{"subnet": "10.1.2.0/24", "rangeStart": "10.1.3.1"}]]},
        {"ranges": [[{"subnet": "10.1.2.0/24", "rangeEnd": "10.1.3.1"}]]},
        {"ranges": [[{"subnet": "10.1.2.0/24", "rangeStart": "10.1.2.50", "rangeEnd": "10.1.2.40"}]]},
        {"ranges": [[{"subnet": "10.1.0.0/22"}, {"subnet": "10.1.2.0/24"}]]},
        {"ranges": [[{"subnet": "10.1.0.0/22"}], [{"subnet": "10.1.2.0/24"}]]},
        {"ranges": [[{"subnet": "10.1.0.0/22"}, {"subnet": "2001:db8::/64"}]]},
        {"ranges": [[{"subnet": "::ffff:10.0.0.0/104"}]]},
        {"ranges": [[]]},
        {},
    ],
)
def test_same_config_error_texts_as_go(pair, ipam):
    ours, go, tmp = pair
    mine = ours.add(ours.conf("1.0.0", **ipam)).error()
    theirs = go.add(go.conf("1.0.0", **ipam)).error()
    assert mine["msg"] == theirs["msg"]
    assert mine["code"] == 7 and theirs["code"] == 999  # a config error is code 7 here, 999 in Go


@pytest.mark.parametrize(
    ("setup", "args"),
    [
        ([("holder", "IP=10.1.2.9")], "IP=10.1.2.9"),
        ([], "IP=10.1.2.1"),
        ([], "IP=10.1.9.9"),
        ([("ctr", "")], ""),
    ],
)
def test_same_allocation_error_texts_as_go(pair, setup, args):
    ours, go, tmp = pair
    messages = []
    for plugin in (ours, go):
        conf = plugin.conf("1.0.0", ranges=[[{"subnet": "10.1.2.0/24"}]])
        for container_id, setup_args in setup:
            plugin.add(conf, container_id, args=setup_args).ok()
        messages.append(plugin.add(conf, "ctr", args=args).error()["msg"])
    assert messages[0] == messages[1]
