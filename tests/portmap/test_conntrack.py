"""The UDP conntrack flush on its own: only UDP entries to the given ports and family go."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pkg.ns import NetNS
from plugins.portmap.conntrack import delete_udp_entries

pytestmark = pytest.mark.kernel

SEND = """
import socket, sys
for host, port, kind in [(h, int(p), k) for h, p, k in (a.split(",") for a in sys.argv[1:])]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.sendto(b"x", (host, port)) if kind == "udp" else s.connect((host, port))
    except OSError:
        pass
"""


def entries(host) -> list[str]:
    """Both families' entries (conntrack -L shows only IPv4 unless told)."""
    out = host.run("conntrack", "-L", "-f", "ipv4", check=False) + host.run(
        "conntrack", "-L", "-f", "ipv6", check=False
    )
    return [line for line in out.splitlines() if line.startswith(("udp", "tcp"))]


def test_only_udp_to_the_ports_of_the_family_is_deleted(routed_host, containers):
    c = containers()
    c.serve(8053)  # so that the TCP connection is real and its entry stays
    # Connection tracking only runs in a netns once some rule needs it.
    routed_host.run(
        "nft",
        "-f",
        "-",
        input="add table inet ctwatch\n"
        "add chain inet ctwatch out { type filter hook output priority 0 ; }\n"
        "add rule inet ctwatch out ct state new accept\n",
    )
    targets = [f"{c.ip4},8053,udp", f"{c.ip4},8054,udp", f"{c.ip4},9999,udp", f"{c.ip4},8053,tcp"]
    targets += [f"{c.ip6},8053,udp"]
    subprocess.run(
        ["nsenter", f"--net={routed_host.path}", "--", sys.executable, "-c", SEND, *targets], check=True
    )
    before = entries(routed_host)
    assert len(before) == 5, before
    with NetNS.open(routed_host.path) as ns, ns.entered():
        assert delete_udp_entries([8053, 8054], 4) == 2
        assert delete_udp_entries([8053, 8054], 4) == 0
    left = entries(routed_host)
    assert len(left) == 3 and not any("dport=8054" in line for line in left)
    assert [line.split()[0] for line in left if "dport=8053" in line].count("udp") == 1  # the v6 one
    with NetNS.open(routed_host.path) as ns, ns.entered():
        assert delete_udp_entries([8053], 6) == 1
    assert sorted(line.split()[0] for line in entries(routed_host)) == ["tcp", "udp"]
