"""tuning must only ever write below /proc/sys/net of the container netns.

Every refused key comes with a valid sibling that must stay unwritten (all keys are checked before
the first write). Keys that would be harmful if a bug let them through point at files that do not
exist, or at files the test owns, never at a real kernel setting of the machine."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.harness import GO_PLUGIN_DIR
from tests.tuning.conftest import ALLOWLIST_FILE

pytestmark = pytest.mark.kernel

SIBLING = "net.core.somaxconn"

TRAVERSALS = [
    ("kernel.cni_tuning_test_nonexistent", 'invalid net sysctl key: "kernel/cni_tuning_test_nonexistent"'),
    ("net/../kernel/cni_tuning_test_nonexistent", "'..' is not allowed"),
    ("net/ipv4/../../kernel/cni_tuning_test_nonexistent", "'..' is not allowed"),
    ("../../../tmp/cni_tuning_test_nonexistent", "'..' is not allowed"),
    ("/proc/sys/kernel/cni_tuning_test_nonexistent", "absolute paths are not allowed"),
    ("/net/core/somaxconn", "absolute paths are not allowed"),
    (".proc.sys.kernel.cni_tuning_test_nonexistent", "absolute paths are not allowed"),
    ("netcni.tuning_test_nonexistent", 'invalid net sysctl key: "netcni/tuning_test_nonexistent"'),
    ("net", 'invalid net sysctl key: "net"'),
]


@pytest.mark.parametrize(("key", "message"), TRAVERSALS, ids=[k for k, _ in TRAVERSALS])
@pytest.mark.parametrize("command", ["ADD", "CHECK"])
def test_keys_escaping_proc_sys_net_are_refused_and_nothing_is_written(pod, runner, key, message, command):
    before = pod.sysctl("net/core/somaxconn")
    conf = pod.conf(sysctl={SIBLING: "4321", key: "1"})
    run = pod.run(runner, command, conf)
    assert (run.code, run.json["code"]) == (1, 7), run.stdout
    assert message in run.json["msg"]
    assert pod.sysctl("net/core/somaxconn") == before


@pytest.mark.parametrize("source", ["config", "args"])
def test_dotted_traversal_stays_below_net(pod, runner, source):
    """`net...kernel` cannot climb: every dot becomes a slash, so it names /proc/sys/net/kernel/..."""
    sysctl = {"net...kernel.cni_tuning_test_nonexistent": "1"}
    keys = {"sysctl": sysctl} if source == "config" else {"args": {"cni": {"sysctl": sysctl}}}
    run = pod.run(runner, "ADD", pod.conf(**keys))
    assert run.json["msg"] == (
        "open /proc/sys/net/kernel/cni_tuning_test_nonexistent: no such file or directory"
    )


@pytest.mark.parametrize("ifname", ["..", "../../kernel", "a/b", "eth0/../../x"])
def test_interface_names_that_could_climb_are_refused(pod, runner, ifname):
    before = pod.sysctl("net/core/somaxconn")
    run = pod.run(
        runner, "ADD", pod.conf(sysctl={SIBLING: "4322", "net.ipv4.conf.IFNAME.x": "1"}), ifname=ifname
    )
    assert (run.code, run.json["code"]) == (1, 4)
    assert pod.sysctl("net/core/somaxconn") == before


def test_the_plugins_own_netns_is_refused(pod, host_ns, runner):
    before = host_ns.sysctl("net/core/somaxconn")
    run = pod.run(runner, "ADD", pod.conf(sysctl={SIBLING: "4323"}), netns=host_ns.path)
    assert (run.code, run.json["code"]) == (1, 8)
    assert host_ns.sysctl("net/core/somaxconn") == before


def test_a_namespace_that_is_not_a_network_namespace_is_refused(pod, runner):
    before = pod.sysctl("net/core/somaxconn")
    run = pod.run(runner, "ADD", pod.conf(sysctl={SIBLING: "4330"}), netns="/proc/self/ns/uts")
    assert run.code == 1 and "setns" in run.json["msg"]
    assert pod.sysctl("net/core/somaxconn") == before


def test_a_file_that_is_not_a_netns_is_refused(pod, runner, tmp_path):
    fake = tmp_path / "not-a-netns"
    fake.write_text("")
    run = pod.run(runner, "ADD", pod.conf(sysctl={SIBLING: "4324"}), netns=str(fake))
    assert run.code == 1 and "unknown FS magic" in run.json["msg"]


# --- a symlink planted in the container's /proc/sys/net -------------------------------------------


def run_with_trap(
    plugin: str, pod, host_ns, conf: dict, trap_lines: list[str]
) -> subprocess.CompletedProcess:
    """Run `plugin` in a private mount namespace where the container's view of /proc/sys/net/core is a
    tmpfs holding what `trap_lines` (shell, run inside the container netns) put there."""
    in_container = f"nsenter --net={pod.path} --"
    script = "\n".join(
        ["set -e", f"{in_container} mount -t tmpfs cni-trap /proc/sys/net/core"]
        + [f"{in_container} {line}" for line in trap_lines]
        + [f"exec nsenter --net={host_ns.path} -- {plugin}"]
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": pod.container_id,
        "CNI_NETNS": pod.path,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": os.path.dirname(plugin),
    }
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script],
        input=json.dumps(conf).encode(),
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("trap", "key"),
    [
        (["ln -s {victim} /proc/sys/net/core/evil"], "net.core.evil"),
        (["ln -s {victim_dir} /proc/sys/net/core/evil_dir"], "net.core.evil_dir.victim"),
    ],
    ids=["file-symlink", "directory-symlink"],
)
def test_symlinks_leaving_proc_sys_net_are_refused(pod, host_ns, cni_bin, tmp_path, trap, key):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    lines = [t.format(victim=victim, victim_dir=tmp_path) for t in trap]
    conf = pod.conf(sysctl={key: "owned"})

    proc = run_with_trap(os.path.join(cni_bin, "tuning"), pod, host_ns, conf, lines)
    assert proc.returncode == 1, proc.stderr
    error = json.loads(proc.stdout)
    assert error["code"] == 7
    assert f'resolves to "{victim}", outside /proc/sys/net/' in error["msg"]
    assert victim.read_text() == "precious"

    # the trap is real: a plugin that follows symlinks (Go 1.1.1) writes straight through it
    go_tuning = os.path.join(GO_PLUGIN_DIR, "tuning")
    if os.path.exists(go_tuning):
        assert run_with_trap(go_tuning, pod, host_ns, conf, lines).returncode == 0
        assert victim.read_text() == "owned"


# --- allow-list -----------------------------------------------------------------------------------


def test_allowlist_refuses_unlisted_sysctls_before_writing(pod, runner, allowlist):
    allowlist(r"^net\.core\.somaxconn$", r"^net\.ipv4\.conf\.IFNAME\.rp_filter$")
    before = (pod.sysctl("net/core/somaxconn"), pod.sysctl("net/ipv4/conf/eth0/arp_notify"))
    run = pod.run(runner, "ADD", pod.conf(sysctl={SIBLING: "4325", "net.ipv4.conf.IFNAME.arp_notify": "1"}))
    assert run.code == 1
    assert run.json["msg"] == (
        "Sysctl net.ipv4.conf.IFNAME.arp_notify is not allowed. Only the following sysctls are allowed: "
        r"[^net\.core\.somaxconn$ ^net\.ipv4\.conf\.IFNAME\.rp_filter$]"
    )
    assert (pod.sysctl("net/core/somaxconn"), pod.sysctl("net/ipv4/conf/eth0/arp_notify")) == before


def test_allowlist_accepts_listed_sysctls_and_covers_args(pod, runner, allowlist):
    allowlist("somaxconn", "rp_filter")
    conf = pod.conf(
        sysctl={SIBLING: "4326"}, args={"cni": {"sysctl": {"net.ipv4.conf.IFNAME.rp_filter": "2"}}}
    )
    pod.run(runner, "ADD", conf).ok()
    assert (pod.sysctl("net/core/somaxconn"), pod.sysctl("net/ipv4/conf/eth0/rp_filter")) == ("4326", "2")
    blocked = pod.conf(args={"cni": {"sysctl": {"net.ipv4.conf.IFNAME.arp_notify": "1"}}})
    assert "is not allowed" in pod.run(runner, "ADD", blocked).json["msg"]
    # CHECK does not consult the allow-list (Go's behaviour)
    allowlist("nothing-matches-this")
    pod.run(runner, "CHECK", conf).ok()


def test_without_allowlist_everything_under_net_is_allowed(pod, runner):
    assert not os.path.exists(ALLOWLIST_FILE)
    pod.run(runner, "ADD", pod.conf(sysctl={SIBLING: "4327"})).ok()


# --- duplicate keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["ADD", "CHECK"])
def test_duplicated_sysctl_keys_are_refused(pod, runner, command):
    before = pod.sysctl("net/core/somaxconn")
    prev = json.dumps(pod.conf()["prevResult"])
    raw = (
        '{"cniVersion":"1.0.0","name":"dup","type":"tuning",'
        '"sysctl":{"net.core.somaxconn":"4328","net.core.somaxconn":"4329"},'
        f'"prevResult":{prev}}}'
    )
    run = pod.run(runner, command, raw)
    assert (run.code, run.json["msg"]) == (1, "duplicated sysctl keys are not allowed")
    assert pod.sysctl("net/core/somaxconn") == before
