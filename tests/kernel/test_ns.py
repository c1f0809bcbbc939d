"""The netns and sysctl helpers against the real kernel, inside private namespaces."""

import os

import pytest

from libcni.types.errors import CNIError
from pkg import sysctl
from pkg.ns import NetNS, NetNSNotFound, check_netns_path
from tests.harness import in_private_netns

pytestmark = pytest.mark.kernel


def test_run_is_isolated_from_the_machine():
    assert in_private_netns()
    assert os.environ["CNI_TEST_ISOLATED"] == "1"


def test_open_enter_and_netlink_inside(container_ns):
    container_ns.run("ip", "link", "add", "tv0", "type", "veth", "peer", "name", "tv1")
    with NetNS.open(container_ns.path) as ns:
        with ns.rtnl() as nl:
            names = {link.name for link in nl.links()}
        with ns.entered():
            assert sysctl.read("net.ipv4.conf.tv0.arp_notify") == "0"
            sysctl.write("net.ipv4.conf.tv0.arp_notify", "1")
    assert {"lo", "tv0", "tv1"} <= names
    assert container_ns.sysctl("net/ipv4/conf/tv0/arp_notify") == "1"
    # the host side never saw tv0
    assert not os.path.exists("/proc/sys/net/ipv4/conf/tv0")


def test_missing_netns_is_reported_and_never_created(tmp_path):
    ghost = "/run/netns/ghost-does-not-exist"
    with pytest.raises(NetNSNotFound):
        NetNS.open(ghost)
    assert not os.path.exists(ghost)


def test_a_plain_file_is_not_a_netns(tmp_path):
    path = tmp_path / "not-a-netns"
    path.write_text("x")
    with pytest.raises(CNIError) as err:
        check_netns_path(str(path))
    assert "unknown FS magic" in err.value.msg


def test_proc_pid_netns_paths_are_accepted():
    check_netns_path("/proc/self/ns/net")


def test_sysctl_dotted_names_with_dotted_interfaces():
    assert (
        sysctl.sysctl_path("net.ipv4.conf.eth0/100.forwarding")
        == "/proc/sys/net/ipv4/conf/eth0.100/forwarding"
    )
    assert (
        sysctl.sysctl_path("net/ipv4/conf/eth0.100/forwarding")
        == "/proc/sys/net/ipv4/conf/eth0.100/forwarding"
    )
