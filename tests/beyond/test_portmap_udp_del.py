"""Item 1 (plugins#1190): after a container's portmap and bridge DEL, a UDP flow the client keeps
refreshing must not stay NAT-ed to the deleted container's address: a host service on the same
port answers the same flow (same source port) within 2 s of the DEL."""

from __future__ import annotations

import time

import pytest

from .conftest import HOST_OUT

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_udp_flow_reaches_the_host_service_after_del(backend, topo):
    a = topo.attach([{"hostPort": 8053, "containerPort": 80, "protocol": "udp"}], {"backend": backend})
    topo.serve(a.ns, 80, "container")
    flow = topo.start(topo.outside.ns, "udpflow", HOST_OUT, "8053", "41053", "20")
    first = flow.stdout.readline().split(maxsplit=1)
    assert first and first[1].startswith("container "), first  # the mapping works
    topo.serve(topo.host, 8053, "host")  # a service on the host takes the port too
    a.delete()
    deleted_at = time.monotonic()
    answer = None
    while True:
        line = flow.stdout.readline()
        if not line:
            break
        stamp, text = line.split(maxsplit=1)
        if text.startswith("host ") and float(stamp) > deleted_at:
            answer = float(stamp) - deleted_at
            break
    assert answer is not None and answer < 2.0, "the flow stayed on the deleted container"
