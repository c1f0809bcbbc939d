"""Item 2 (plugins#816, cni#957): after a conntrack flush, an ipMasq container's FIN and RST are
INVALID, skip NAT and would leave with the container's own address. Captured on the outside
interface across data, FIN and RST, each after a `conntrack -F` in the fake host netns: no packet
carries the container's address as its source, and data still flows (masqueraded)."""

from __future__ import annotations

import os
import time

import pytest

from .conftest import OUTSIDE_IP, stop, wait_ready

pytestmark = pytest.mark.kernel


def step(client, command: str) -> str:
    client.stdin.write(command + "\n")
    client.stdin.flush()
    answer = client.stdout.readline().strip()
    if command == "data":
        assert client.stdout.readline().strip() == "ok"
    return answer


@pytest.mark.parametrize("backend,firewall", [("iptables", False), ("nftables", False), ("iptables", True)])
def test_no_packet_leaves_with_the_container_address(backend, firewall, topo):
    """With the firewall plugin chained after bridge, its FORWARD rules accept the container's
    packets, INVALID ones too: the drop must not depend on coming first in filter FORWARD."""
    a = topo.attach(ipMasqBackend=backend)
    if firewall:
        conf = {"cniVersion": "1.1.0", "name": "beyond", "type": "firewall", "backend": "iptables"}
        a.run("firewall", "ADD", dict(conf, prevResult=a.result)).ok()
        assert "CNI-FORWARD" in topo.host.run("iptables-save", "-t", "filter")
    server = topo.start(topo.outside.ns, "tcpserver", "9000")
    wait_ready(server)
    sniffer = topo.start(topo.outside.ns, "sniff", "eth0")
    wait_ready(sniffer)
    client = topo.start(a.ns, "tcpclient", OUTSIDE_IP, "9000", stdin=True)
    assert client.stdout.readline().strip() == "connected"
    assert step(client, "data") == "echo"

    topo.host.run("conntrack", "-F")
    assert step(client, "data") == "echo"  # normal traffic still flows after a flush
    topo.host.run("conntrack", "-F")
    assert step(client, "fin") == "ok"
    time.sleep(1.0)  # the FIN and a retransmission
    topo.host.run("conntrack", "-F")
    assert step(client, "rst") == "ok"
    time.sleep(0.5)
    seen = [line.split() for line in stop(sniffer).splitlines() if line.strip()]

    to_server = [s for s in seen if s[1] == f"{OUTSIDE_IP}:9000"]
    assert any(s[0].startswith("10.99.0.1:") and "P" in s[2] for s in to_server)  # data, masqueraded
    leaked = [s for s in seen if s[0].startswith(a.ip + ":")]
    assert leaked == [], f"un-NATed packets on the outside interface: {leaked}"

    if firewall:
        a.run("firewall", "DEL", dict(conf, prevResult=a.result)).ok()
    a.delete()  # the drop rules go with the masquerade rules
    listing = topo.host.run("iptables-save") + topo.host.run("nft", "list", "ruleset")
    assert a.ip not in listing


def test_a_go_del_leaves_at_most_one_drop_until_our_next_setup(topo):
    """Interop: Go's DEL removes the masquerade it knows and leaves our drop (it only drops what is
    invalid); our next setup on the node removes drops whose masquerade is gone, our GC too."""
    from tests.harness import GO_PLUGIN_DIR, PluginRunner

    if not os.path.isfile(os.path.join(GO_PLUGIN_DIR, "bridge")):
        pytest.skip("Go reference plugins not installed")
    go = PluginRunner(GO_PLUGIN_DIR, topo.host)
    a = topo.attach(cniVersion="1.0.0")  # Go 1.1.1 stops at 1.0.0
    assert a.ip in topo.host.run("iptables-save", "-t", "mangle")
    go.run("bridge", "DEL", dict(a.conf, prevResult=a.result), container_id=a.id, netns=a.ns.path).ok()
    assert "CNI-" not in topo.host.run("iptables-save", "-t", "nat").replace("CNI-HOSTPORT", "")
    assert a.ip in topo.host.run("iptables-save", "-t", "mangle")  # Go's DEL knows nothing of it
    b = topo.attach(cniVersion="1.0.0")
    forward = topo.host.run("iptables-save", "-t", "mangle")
    assert a.id not in forward and b.id in forward
    b.delete()
    assert "INVALID" not in topo.host.run("iptables-save", "-t", "mangle")
