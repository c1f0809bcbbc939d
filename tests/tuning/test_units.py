"""The pure parts of tuning: key -> path mapping and its confinement, config precedence, the raw
duplicate-key check, the allow-list, and the backup file format and its safe writing."""

from __future__ import annotations

import json
import os
import stat

import pytest

from libcni.gojson import decode_text
from libcni.skel import CmdArgs
from libcni.types.errors import CNIError
from plugins.tuning import backup, sysctls
from plugins.tuning.config import DEFAULT_DATA_DIR, load, reject_duplicate_sysctl_keys


def cmd_args(conf: dict | bytes, cni_args: str = "") -> CmdArgs:
    data = conf if isinstance(conf, bytes) else json.dumps(conf).encode()
    return CmdArgs("ADD", "ctr", "/run/netns/x", "eth0", cni_args, "/bin", data, config_version="1.0.0")


# --- key -> path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "ifname", "path"),
    [
        ("net.ipv4.conf.IFNAME.rp_filter", "eth0", "/proc/sys/net/ipv4/conf/eth0/rp_filter"),
        # dots in the interface name survive: IFNAME is substituted after the dot -> slash swap
        ("net.ipv4.conf.IFNAME.rp_filter", "eth0.100", "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"),
        ("net/ipv4/conf/IFNAME/rp_filter", "eth0", "/proc/sys/net/ipv4/conf/eth0/rp_filter"),
        ("net.core.somaxconn", "eth0", "/proc/sys/net/core/somaxconn"),
        # only the first IFNAME is replaced (Go's strings.Replace(..., 1))
        ("net.IFNAME.IFNAME", "eth1", "/proc/sys/net/eth1/IFNAME"),
        ("net..ipv4.ip_forward", "eth0", "/proc/sys/net/ipv4/ip_forward"),
    ],
)
def test_sysctl_key_to_path(key, ifname, path):
    assert sysctls.sysctl_path(key, ifname) == path


@pytest.mark.parametrize(
    ("key", "ifname", "message"),
    [
        ("kernel.hostname", "eth0", 'invalid net sysctl key: "kernel/hostname"'),
        ("vm.overcommit_memory", "eth0", 'invalid net sysctl key: "vm/overcommit_memory"'),
        ("net", "eth0", 'invalid net sysctl key: "net"'),
        ("netfilter.x", "eth0", 'invalid net sysctl key: "netfilter/x"'),
        ("net/../kernel/hostname", "eth0", "'..' is not allowed"),
        ("net/ipv4/../../kernel/hostname", "eth0", "'..' is not allowed"),
        ("../kernel/hostname", "eth0", "'..' is not allowed"),
        ("/proc/sys/kernel/hostname", "eth0", "absolute paths are not allowed"),
        ("/net/ipv4/ip_forward", "eth0", "absolute paths are not allowed"),
        ("...kernel.hostname", "eth0", "absolute paths are not allowed"),
        ("net.ipv4\0.x", "eth0", "NUL byte"),
        # an interface name can carry dots into the path: never let them climb
        ("net.IFNAME.kernel.hostname", "..", "'..' is not allowed"),
        ("net.ipv4.conf.IFNAME.x", "../../../kernel", "'..' is not allowed"),
    ],
)
def test_sysctl_keys_outside_proc_sys_net_are_refused(key, ifname, message):
    with pytest.raises(CNIError) as exc:
        sysctls.sysctl_path(key, ifname)
    assert message in exc.value.msg
    assert exc.value.code == 7


def test_dotted_traversal_cannot_survive_the_dot_swap():
    # every '.' becomes '/', so 'net...kernel' can only name something below /proc/sys/net
    assert sysctls.sysctl_path("net...kernel.hostname", "eth0") == "/proc/sys/net/kernel/hostname"


def test_resolve_all_refuses_before_anything_is_written():
    with pytest.raises(CNIError):
        sysctls.resolve_all({"net.core.somaxconn": "1", "kernel.hostname": "x"}, "eth0")


def test_ifname_with_slash_is_refused_like_go():
    with pytest.raises(CNIError) as exc:
        sysctls.check_ifname("a/b")
    assert exc.value.msg == "Interface name (a/b) contains an invalid character /"


# --- duplicate keys on the raw JSON --------------------------------------------------------


def test_duplicate_sysctl_keys_are_refused():
    raw = b'{"name":"n","sysctl":{"net.core.somaxconn":"1","net.core.somaxconn":"2"}}'
    with pytest.raises(CNIError) as exc:
        reject_duplicate_sysctl_keys(decode_text(raw))
    assert exc.value.msg == "duplicated sysctl keys are not allowed"


def test_duplicates_across_case_variants_of_sysctl_count_too():
    raw = b'{"name":"n","sysctl":{"net.a":"1"},"SysCtl":{"net.a":"2"}}'
    with pytest.raises(CNIError):
        reject_duplicate_sysctl_keys(decode_text(raw))


def test_distinct_keys_and_nested_maps_are_fine():
    reject_duplicate_sysctl_keys(decode_text(b'{"name":"n","sysctl":{"net.a":"1","net.b":"1"}}'))
    reject_duplicate_sysctl_keys(
        decode_text(b'{"name":"n","args":{"cni":{"sysctl":{"net.a":"1","net.a":"2"}}}}')
    )
    reject_duplicate_sysctl_keys(decode_text(b'{"name":"n"}'))


# --- config precedence ---------------------------------------------------------------------


def test_defaults():
    tuning = load(cmd_args({"name": "n", "cniVersion": "1.0.0"}))
    assert tuning.data_dir == DEFAULT_DATA_DIR
    assert (tuning.mac, tuning.mtu, tuning.promisc) == ("", 0, False)
    assert (tuning.allmulti, tuning.txqlen) == (None, None)
    assert not tuning.changes_link


def test_mac_precedence_cni_args_then_runtime_config_then_args_cni():
    base = {"name": "n", "mac": "02:00:00:00:00:01"}
    assert load(cmd_args(base)).mac == "02:00:00:00:00:01"
    assert load(cmd_args(base, "MAC=02:00:00:00:00:02")).mac == "02:00:00:00:00:02"
    with_rc = dict(base, runtimeConfig={"mac": "02:00:00:00:00:03"})
    assert load(cmd_args(with_rc, "MAC=02:00:00:00:00:02")).mac == "02:00:00:00:00:03"
    with_args = dict(with_rc, args={"cni": {"mac": "02:00:00:00:00:04"}})
    assert load(cmd_args(with_args, "MAC=02:00:00:00:00:02")).mac == "02:00:00:00:00:04"


def test_args_cni_overrides_every_key_and_merges_sysctls():
    conf = {
        "name": "n",
        "sysctl": {"net.a": "1", "net.b": "1"},
        "promisc": True,
        "mtu": 1400,
        "allmulti": True,
        "txQLen": 10,
        "args": {
            "cni": {"sysctl": {"net.b": "2", "net.c": "3"}, "promisc": False, "mtu": 1300, "allmulti": False}
        },
    }
    tuning = load(cmd_args(conf))
    assert tuning.sysctl == {"net.a": "1", "net.b": "2", "net.c": "3"}
    assert (tuning.promisc, tuning.mtu, tuning.allmulti, tuning.txqlen) == (False, 1300, False, 10)


def test_args_cni_sysctl_without_a_config_map_works():  # Go panics here
    tuning = load(cmd_args({"name": "n", "args": {"cni": {"sysctl": {"net.a": "1"}}}}))
    assert tuning.sysctl == {"net.a": "1"}


def test_unknown_cni_args_fail_unless_ignored():
    with pytest.raises(CNIError) as exc:
        load(cmd_args({"name": "n"}, "FOO=1"))
    assert "unknown args" in exc.value.msg
    tuning = load(cmd_args({"name": "n"}, "IgnoreUnknown=1;FOO=1;MAC=02:00:00:00:00:09"))
    assert tuning.mac == "02:00:00:00:00:09"


@pytest.mark.parametrize(
    ("conf", "field"),
    [
        ({"name": "n", "mtu": "1500"}, "mtu"),
        ({"name": "n", "mtu": -1}, "mtu"),
        ({"name": "n", "promisc": "true"}, "promisc"),
        ({"name": "n", "txQLen": -5}, "txQLen"),
        ({"name": "n", "sysctl": {"net.a": 1}}, "sysctl"),
        ({"name": "n", "args": {"cni": {"mtu": 1.5}}}, "mtu"),
    ],
)
def test_bad_values_name_the_field(conf, field):
    with pytest.raises(CNIError) as exc:
        load(cmd_args(conf))
    assert exc.value.msg.startswith("failed to load netconf: ")
    assert field in exc.value.msg


# --- allow-list ----------------------------------------------------------------------------


def test_no_allowlist_file_allows_everything(tmp_path):
    sysctls.check_allowlist(["net.anything"], str(tmp_path / "missing.conf"))


def test_allowlist_patterns_are_unanchored_regexps(tmp_path):
    path = tmp_path / "allowlist.conf"
    path.write_text("  ^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$  \n\nsomaxconn\n")
    sysctls.check_allowlist(["net.ipv4.conf.IFNAME.rp_filter", "net.core.somaxconn"], str(path))
    with pytest.raises(CNIError) as exc:
        sysctls.check_allowlist(["net.ipv4.ip_forward"], str(path))
    assert exc.value.msg == (
        "Sysctl net.ipv4.ip_forward is not allowed. Only the following sysctls are allowed: "
        "[^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$ somaxconn]"
    )


def test_allowlist_with_a_bad_pattern_is_an_error(tmp_path):
    path = tmp_path / "allowlist.conf"
    path.write_text("net.(\n")
    with pytest.raises(CNIError) as exc:
        sysctls.check_allowlist(["net.a"], str(path))
    assert "error parsing regexp" in exc.value.msg


# --- backup file ---------------------------------------------------------------------------


def test_backup_format_matches_go_byte_for_byte():
    # what Go 1.1.1 wrote for mac+promisc+mtu+allmulti (json.MarshalIndent(..., "", " "))
    saved = backup.SavedLink(mac="3e:1f:bd:1c:15:fd", promisc=False, mtu=1500, allmulti=False)
    assert saved.to_go_json() == (
        b'{\n "mac": "3e:1f:bd:1c:15:fd",\n "promisc": false,\n "mtu": 1500,\n "allmulti": false\n}'
    )
    assert backup.SavedLink(txQLen=0).to_go_json() == b'{\n "txQLen": 0\n}'
    assert backup.SavedLink().to_go_json() == b"{}"


def test_backup_roundtrip_mode_and_directory(tmp_path):
    data_dir = tmp_path / "tuning"
    path = backup.backup_path(str(data_dir), "ctr1", "eth0")
    assert path == str(data_dir / "ctr1_eth0.json")
    saved = backup.SavedLink(mac="02:00:00:00:00:01", mtu=1500, txQLen=1000)
    backup.save(path, saved, "eth0")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    assert backup.load(path) == saved
    assert os.listdir(data_dir) == ["ctr1_eth0.json"]  # no temporary file left
    backup.remove(path)
    backup.remove(path)  # idempotent
    assert backup.load(path) is None


def test_a_planted_symlink_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    path = backup.backup_path(str(tmp_path), "ctr1", "eth0")
    os.symlink(victim, path)
    assert backup.load(path) is None  # never read through a symlink
    backup.save(path, backup.SavedLink(mtu=1400), "eth0")
    assert victim.read_text() == "precious"
    assert not os.path.islink(path)
    assert backup.load(path) == backup.SavedLink(mtu=1400)


def test_a_stale_temporary_file_is_not_trusted(tmp_path):
    path = backup.backup_path(str(tmp_path), "ctr1", "eth0")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(victim, tmp_path / f".ctr1_eth0.json.{os.getpid()}.tmp")
    backup.save(path, backup.SavedLink(mtu=1400), "eth0")
    assert victim.read_text() == "precious"
    assert backup.load(path) == backup.SavedLink(mtu=1400)


@pytest.mark.parametrize(
    ("cid", "ifname"), [("../../etc", "eth0"), ("ctr", "../x"), ("", "eth0"), ("c\0", "e")]
)
def test_names_that_would_leave_the_data_dir_are_refused(cid, ifname):
    with pytest.raises(CNIError):
        backup.backup_path("/run/cni/tuning", cid, ifname)


@pytest.mark.parametrize("content", [b"not json", b"[1]", b'{"mtu": "1500"}', b'{"mtu": 1500.5}'])
def test_undecodable_backups_mean_nothing_to_restore(tmp_path, content):
    path = tmp_path / "c_eth0.json"
    path.write_bytes(content)
    assert backup.load(str(path)) is None


def test_backup_keys_decode_like_go(tmp_path):
    # case-insensitive keys, null = absent
    path_data = b'{"MAC": "02:00:00:00:00:05", "Mtu": 9000, "promisc": null}'
    path = tmp_path / "c_eth0.json"
    path.write_bytes(path_data)
    saved = backup.load(str(path))
    assert saved == backup.SavedLink(mac="02:00:00:00:00:05", mtu=9000)
