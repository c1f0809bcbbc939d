"""pkg/rtnl: the bare rtnetlink requests, checked against iproute2 in a fresh netns."""

from __future__ import annotations

import socket

import pytest

from libcni.types.errors import CNIError
from pkg import rtnl
from pkg.ns import NetNS
from tests.harness import Netns, sh, unique

pytestmark = pytest.mark.kernel


@pytest.fixture
def fresh():
    ns = Netns(unique("cnirt-"))
    sh("ip", "netns", "add", ns.name)
    try:
        with NetNS.open(ns.path) as netns, netns.netlink_socket() as sock:
            yield ns, sock
    finally:
        ns.delete()


def test_link_flags_set_up_and_down(fresh):
    ns, sock = fresh
    index, flags = rtnl.link_by_name(sock, "lo")
    assert index == 1 and not flags & rtnl.IFF_UP
    rtnl.set_up(sock, index, True)
    assert "UP" in ns.json("ip", "-j", "link", "show", "lo")[0]["flags"]
    assert rtnl.link_by_name(sock, "lo")[1] & rtnl.IFF_UP
    rtnl.set_up(sock, index, False)
    assert "UP" not in ns.json("ip", "-j", "link", "show", "lo")[0]["flags"]


def test_addresses_match_iproute2(fresh):
    ns, sock = fresh
    rtnl.set_up(sock, 1, True)
    ns.run("ip", "link", "add", "cnirt0", "type", "veth", "peer", "name", "cnirt1")
    ns.run("ip", "addr", "add", "10.77.0.1/24", "dev", "cnirt0")
    ns.run("ip", "addr", "add", "127.0.0.9/16", "dev", "lo")
    family = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}
    (shown,) = ns.json("ip", "-j", "addr", "show", "dev", "lo")
    expected = [(family[a["family"]], a["local"], a["prefixlen"]) for a in shown["addr_info"]]
    assert rtnl.addresses(sock, 1) == expected
    assert (socket.AF_INET, "10.77.0.1", 24) not in expected  # other links' addresses are left out


def test_missing_link(fresh):
    _, sock = fresh
    with pytest.raises(CNIError, match="^Link not found$"):
        rtnl.link_by_name(sock, "nope0")


def test_kernel_refusal_is_a_cni_error(fresh):
    _, sock = fresh
    with pytest.raises(CNIError) as caught:
        rtnl.set_up(sock, 4242, True)  # no such index
    assert caught.value.code == 999 and caught.value.msg == "no such device"
