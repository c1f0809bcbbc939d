"""Item 3 (plugins#481): portmap's route_localnet=1 must not expose 127.0.0.0/8. Three probes:
a SYN from the outside netns to 127.0.0.1:hostPort routed through the host gets no answer, a
container on the bridge gets no SYN-ACK from a host service bound only to 127.0.0.1, and the
host's own 127.0.0.1:hostPort still reaches the container. Each refused probe has a control on a
routable address that is answered, so "no answer" means the guard, not a broken probe."""

from __future__ import annotations

import pytest

from tests.portmap.conftest import ask

from .conftest import HOST_OUT, OUTSIDE_IP, popen, probe_once, wait_ready

pytestmark = pytest.mark.kernel

LISTEN = """
import socket, sys
servers = []
for host, port in (("127.0.0.1", 7777), ("0.0.0.0", 7778)):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(8); servers.append(s)
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_127_is_reachable_only_from_the_host_itself(backend, topo):
    a = topo.attach([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}], {"backend": backend})
    b = topo.attach()
    topo.serve(a.ns, 80, "container")
    listener = popen(topo.host, "python3", "-c", LISTEN, stdin=True)
    topo.processes.append(listener)
    wait_ready(listener)
    bridge_mac = topo.host.link(topo.bridge)["address"]
    assert topo.host.sysctl(f"net/ipv4/conf/{topo.bridge}/route_localnet") == "1"

    # 1. From outside, through the host: the host port on its real address answers, 127.0.0.1 not.
    out = topo.outside
    assert probe_once(out.ns, "syn", "eth0", out.host_mac, OUTSIDE_IP, HOST_OUT, "8080") == "synack"
    assert probe_once(out.ns, "syn", "eth0", out.host_mac, OUTSIDE_IP, "127.0.0.1", "8080") == "none"
    # 2. From a container on the bridge: a host service on all addresses answers, one bound only
    #    to 127.0.0.1 does not.
    assert probe_once(b.ns, "syn", "eth0", bridge_mac, b.ip, "10.151.0.1", "7778") == "synack"
    assert probe_once(b.ns, "syn", "eth0", bridge_mac, b.ip, "127.0.0.1", "7777") == "none"
    # 3. The host itself still reaches the container through 127.0.0.1:hostPort.
    assert ask(topo.host, "tcp", "127.0.0.1", 8080) == "container 10.151.0.1"

    # Once per host: another container's ADD adds no second guard; DEL leaves it.
    c = topo.attach([{"hostPort": 8081, "containerPort": 80, "protocol": "tcp"}], {"backend": backend})
    listing = (
        topo.host.run("iptables-save", "-t", "raw")
        if backend == "iptables"
        else topo.host.run("nft", "list", "ruleset")
    )
    guards = [
        line for line in listing.splitlines() if "127.0.0.0/8" in line and line.lower().endswith("drop")
    ]
    assert len(guards) == 1, listing
    c.delete()
    a.delete()
    assert probe_once(out.ns, "syn", "eth0", out.host_mac, OUTSIDE_IP, "127.0.0.1", "8080") == "none"
