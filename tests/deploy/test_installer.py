"""cni-install's pure parts and its file handling, without root: the configs it renders, the pod
CIDRs it takes from a Node object, and how it puts a program directory onto a node."""

from __future__ import annotations

import json
import os

import pytest

from launcher.install import conflist, files, node

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def recorded_node() -> dict:
    with open(os.path.join(DATA, "node.json")) as f:
        return json.load(f)


def test_pod_cidrs_from_a_node_object():
    assert node.pod_cidrs(recorded_node()) == ["10.244.1.0/24", "fd00:10:244:1::/64"]
    old = {"metadata": {"name": "n"}, "spec": {"podCIDR": "10.1.2.0/24"}}
    assert node.pod_cidrs(old) == ["10.1.2.0/24"]
    with pytest.raises(node.NodeError, match="node n has no spec.podCIDRs"):
        node.pod_cidrs({"metadata": {"name": "n"}, "spec": {}})


def test_api_server_address():
    assert node.api_server({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}) == (
        "https://10.96.0.1:443"
    )
    assert node.api_server({"KUBERNETES_SERVICE_HOST": "fd00::1"}) == "https://[fd00::1]:443"
    assert node.api_server({"CNI_INSTALL_API_SERVER": "http://127.0.0.1:8/"}) == "http://127.0.0.1:8"
    with pytest.raises(node.NodeError, match="KUBERNETES_SERVICE_HOST"):
        node.api_server({})


def test_parse_cidrs():
    assert conflist.parse_cidrs(" 10.244.1.0/24 , fd00:10:244:1::/64", "POD_CIDRS") == [
        "10.244.1.0/24",
        "fd00:10:244:1::/64",
    ]
    for bad, message in [
        ("10.244.1.1/24", "not a CIDR"),
        ("nope", "not a CIDR"),
        ("10.0.0.0/24,10.1.0.0/24", "more than one IPv4"),
        (" , ", "no CIDR"),
    ]:
        with pytest.raises(conflist.SettingError, match=message) as info:
            conflist.parse_cidrs(bad, "POD_CIDRS")
        assert "POD_CIDRS" in str(info.value)


def test_pod_network_conflist_dual_stack():
    conf = conflist.pod_network(["10.244.1.0/24", "fd00:10:244:1::/64"], bridge="cni9", mtu=1450)
    assert conf["cniVersion"] == "1.0.0" and conf["name"] == "pycni"
    bridge, portmap, tuning = conf["plugins"]
    assert bridge["type"] == "bridge" and bridge["bridge"] == "cni9" and bridge["mtu"] == 1450
    assert bridge["isGateway"] and bridge["ipMasq"]
    assert bridge["ipam"] == {
        "type": "host-local",
        "ranges": [[{"subnet": "10.244.1.0/24"}], [{"subnet": "fd00:10:244:1::/64"}]],
        "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}],
    }
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}
    assert tuning == {"type": "tuning"}
    assert conflist.render(conf) == conflist.render(json.loads(conflist.render(conf)))
    assert conflist.loopback() == {"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}


def make_release(path, version: str) -> str:
    """A release layout: a support dir with a program and a library, links to it, a plain program."""
    support = path / "cni-plugins.d"
    (support / "_internal").mkdir(parents=True)
    (support / "cni-plugins").write_text(f"#!/bin/sh\necho {version}\n")
    os.chmod(support / "cni-plugins", 0o755)
    (support / "_internal" / "lib.so").write_text(version)
    for name in ("bridge", "tuning"):
        os.symlink("cni-plugins.d/cni-plugins", path / name)
    (path / "cnitool").write_text(f"#!/bin/sh\necho tool {version}\n")
    os.chmod(path / "cnitool", 0o755)
    (path / "cni-install").write_text("installer")
    return str(path)


def snapshot(directory) -> dict:
    state = {}
    for dirpath, _dirs, names in os.walk(directory):
        for name in names + _dirs:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            state[os.path.relpath(p, directory)] = (st.st_ino, st.st_mtime_ns)
    return state


def test_install_programs_is_atomic_per_entry_and_idempotent(tmp_path):
    source = make_release(tmp_path / "v1", "v1")
    dest = tmp_path / "node-bin"
    report = files.install_programs(source, str(dest), frozenset({"cni-install"}))
    assert sorted(report.changed) == ["bridge", "cni-plugins.d/", "cnitool", "tuning"]
    assert not (dest / "cni-install").exists()
    assert os.readlink(dest / "bridge") == "cni-plugins.d/cni-plugins"
    assert os.readlink(dest / "cni-plugins.d").startswith(".cni-plugins.d-")
    assert (dest / "bridge").read_text() == "#!/bin/sh\necho v1\n"
    assert os.access(dest / "cnitool", os.X_OK)
    assert not [n for n in os.listdir(dest) if n.endswith(".new")]

    before = snapshot(dest)
    again = files.install_programs(source, str(dest), frozenset({"cni-install"}))
    assert again.changed == [] and again.removed == []
    assert snapshot(dest) == before  # nothing rewritten, not even a link


def test_upgrade_swaps_the_support_dir_and_keeps_the_previous_one(tmp_path):
    dest = tmp_path / "node-bin"
    files.install_programs(make_release(tmp_path / "v1", "v1"), str(dest))
    first = os.readlink(dest / "cni-plugins.d")
    report = files.install_programs(make_release(tmp_path / "v2", "v2"), str(dest))
    second = os.readlink(dest / "cni-plugins.d")
    assert second != first and "cni-plugins.d/" in report.changed and "cnitool" in report.changed
    assert (dest / "bridge").read_text() == "#!/bin/sh\necho v2\n"
    assert (dest / first).is_dir()  # a plugin started before the swap may still read it
    report = files.install_programs(make_release(tmp_path / "v3", "v3"), str(dest))
    assert first in report.removed and not (dest / first).exists()
    assert (dest / second).is_dir()


def test_takes_over_a_directory_from_a_tarball_install(tmp_path):
    dest = tmp_path / "node-bin"
    make_release(dest, "old")  # as if extracted from the release tarball
    files.install_programs(make_release(tmp_path / "v2", "v2"), str(dest))
    assert os.path.islink(dest / "cni-plugins.d")
    assert (dest / "bridge").read_text() == "#!/bin/sh\necho v2\n"
    assert (dest / ".cni-plugins.d-replaced" / "cni-plugins").exists()  # until the next version
    files.install_programs(make_release(tmp_path / "v3", "v3"), str(dest))
    assert not (dest / ".cni-plugins.d-replaced").exists()


def test_write_if_changed(tmp_path):
    path = tmp_path / "net.d" / "10-x.conflist"
    assert files.write_if_changed(str(path), b"one\n")
    ino = os.stat(path).st_ino
    assert not files.write_if_changed(str(path), b"one\n")
    assert os.stat(path).st_ino == ino
    assert files.write_if_changed(str(path), b"two\n") and path.read_bytes() == b"two\n"
    assert os.listdir(path.parent) == ["10-x.conflist"]


def test_leftovers_of_a_killed_installer_are_removed_once_old(tmp_path):
    dest = tmp_path / "node-bin"
    dest.mkdir()
    old, fresh = dest / ".bridge.4242.new", dest / ".cni-plugins.d-tree.4242.new"
    old.write_text("half")
    fresh.mkdir()
    past = os.stat(old).st_mtime - files.STALE_AFTER - 5
    os.utime(old, (past, past))
    (dest / ".hidden-but-not-ours").write_text("x")
    report = files.install_programs(make_release(tmp_path / "v1", "v1"), str(dest))
    assert ".bridge.4242.new" in report.removed and not old.exists()
    assert fresh.exists()  # may be another installer's copy in progress
    assert (dest / ".hidden-but-not-ours").exists()


def test_bad_interval_is_a_usage_error(capsys):
    from launcher.install import cli

    with pytest.raises(SystemExit) as info:
        cli.parse_args([], {"CNI_INSTALL_INTERVAL": "soon"})
    assert info.value.code == 2 and "'soon' is not a positive number" in capsys.readouterr().err
