"""Real traffic: containers on one bridge reach each other and the gateway, IPv4 and IPv6."""

from __future__ import annotations

import sys

import pytest

from tests.bridge.conftest import attach, netconf

pytestmark = pytest.mark.kernel


def ping(ns, address: str, tries: int = 1) -> None:
    for _ in range(tries - 1):
        try:
            ns.run("ping", "-c", "1", "-W", "1", address)
            return
        except RuntimeError:
            continue
    ns.run("ping", "-c", "1", "-W", "2", address)


def test_two_containers_reach_each_other_and_the_gateway(br, host_ns, netns_factory, data_dir):
    conf = netconf(data_dir=data_dir, subnets=("10.1.0.0/24", "fd00:1::/64"), isDefaultGateway=True)
    first = attach(br, conf, netns_factory())
    second = attach(br, conf, netns_factory())
    first.add.ok()
    second.add.ok()
    a4, a6 = (ip["address"].split("/")[0] for ip in first.result["ips"])
    b4, b6 = (ip["address"].split("/")[0] for ip in second.result["ips"])
    ping(first.netns, b4)
    ping(second.netns, a4)
    ping(first.netns, "10.1.0.1")
    ping(first.netns, b6)
    # the bridge's own IPv6 gateway address goes through DAD first (as with Go): allow for it
    ping(second.netns, "fd00:1::1", tries=4)
    # TCP across the bridge: a listener in one container, a connect from the other
    listener = second.netns.run(
        "sh", "-c", f'timeout 5 {sys.executable} -c "{SERVER}" {b4} >/dev/null 2>&1 & echo started'
    )
    assert "started" in listener
    out = first.netns.run(sys.executable, "-c", CLIENT, b4)
    assert out.strip() == "pong"
    first.call("DEL").ok()
    second.netns.run("ping", "-c", "1", "-W", "1", "10.1.0.1")  # the survivor still reaches the gateway


SERVER = (
    "import socket,sys;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
    "s.bind((sys.argv[1],7001));s.listen(1);c,_=s.accept();c.sendall(b'pong');c.close()"
)
CLIENT = """
import socket, sys, time
for _ in range(50):
    try:
        s = socket.create_connection((sys.argv[1], 7001), timeout=2)
        break
    except OSError:
        time.sleep(0.05)
print(s.recv(10).decode())
"""


def test_masqueraded_traffic_leaves_the_subnet(br, host_ns, netns_factory, data_dir):
    """With ipMasq, a packet to an outside address arrives with the host's address as source."""
    outside = netns_factory()
    host_ns.run("ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1")
    host_ns.run("ip", "link", "set", "up1", "netns", outside.name)
    host_ns.run("ip", "addr", "add", "192.168.250.1/24", "dev", "up0")
    host_ns.run("ip", "link", "set", "up0", "up")
    outside.run("ip", "addr", "add", "192.168.250.2/24", "dev", "up1")
    outside.run("ip", "link", "set", "up1", "up")
    for backend in ("iptables", "nftables"):
        conf = netconf(data_dir=data_dir, isDefaultGateway=True, ipMasq=True, ipMasqBackend=backend)
        pod = attach(br, conf, netns_factory())
        pod.add.ok()
        # `outside` has no route back to 10.1.0.0/24: the ping only works when masqueraded
        ping(pod.netns, "192.168.250.2")
        pod.call("DEL").ok()
