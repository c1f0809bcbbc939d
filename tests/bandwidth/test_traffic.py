"""Real traffic through a shaped pod: a TCP transfer of a few MB in each direction must measure a rate
within 20% of the configured one. The sender and receiver are small Python programs in the pod's
namespaces; a measurement off because the machine was busy is retried (this checks the kernel
shapes as configured, never how fast our code is)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.bandwidth.conftest import Pod, bw_conf

pytestmark = pytest.mark.kernel

RATE = 8_000_000  # bit/s
BURST = 800_000  # bits: 100 kB, small beside the transfer
SIZE = 3_000_000  # bytes: ~3 s at 1 MB/s
TOLERANCE = 0.20
ATTEMPTS = 3
PORT = 5201

RECEIVER = r"""
import json, socket, sys, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2]))); srv.listen(1)
print("ready", flush=True)
conn, _ = srv.accept()
total, first, last = 0, None, None
while True:
    data = conn.recv(1 << 16)
    if not data:
        break
    now = time.monotonic()
    first = now if first is None else first
    last = now
    total += len(data)
print(json.dumps({"bytes": total, "seconds": (last - first) if first else 0}), flush=True)
"""

SENDER = r"""
import socket, sys
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
chunk = b"x" * 65536
left = int(sys.argv[3])
while left > 0:
    left -= sock.send(chunk[: min(left, len(chunk))])
sock.shutdown(socket.SHUT_WR)
sock.recv(1)
sock.close()
"""


def _python_in(path: str, script: str, *argv: str) -> list[str]:
    return ["nsenter", f"--net={path}", "--", sys.executable, "-c", script, *argv]


def measure(receiver_ns: str, sender_ns: str, address: str) -> float:
    """Bits per second from the receiver's first byte to its last."""
    receiver = subprocess.Popen(
        _python_in(receiver_ns, RECEIVER, address, str(PORT)), stdout=subprocess.PIPE, text=True
    )
    try:
        assert receiver.stdout is not None
        assert receiver.stdout.readline().strip() == "ready"
        subprocess.run(_python_in(sender_ns, SENDER, address, str(PORT), str(SIZE)), check=True, timeout=120)
        report = json.loads(receiver.stdout.readline())
    finally:
        receiver.kill()
        receiver.wait()
    assert report["bytes"] == SIZE
    return report["bytes"] * 8 / report["seconds"]


def rate_within_tolerance(receiver_ns: str, sender_ns: str, address: str) -> list[float]:
    seen = []
    for _ in range(ATTEMPTS):
        rate = measure(receiver_ns, sender_ns, address)
        seen.append(rate)
        if abs(rate - RATE) <= TOLERANCE * RATE:
            break
    return seen


def test_shaped_in_both_directions(pod: Pod, cni_bin):
    conf = bw_conf(pod, ingressRate=RATE, ingressBurst=BURST, egressRate=RATE, egressBurst=BURST)
    pod.run(cni_bin, "ADD", conf).ok()
    try:
        # ingress: host -> container, shaped by the tbf at the host veth's root
        ingress = rate_within_tolerance(pod.container.path, pod.host.path, pod.container_ip)
        # egress: container -> host, redirected through the ifb and its tbf
        egress = rate_within_tolerance(pod.host.path, pod.container.path, pod.host_ip)
    finally:
        pod.run(cni_bin, "DEL", conf).ok()
    print(f"measured ingress {ingress} egress {egress} bit/s (configured {RATE})")
    assert abs(ingress[-1] - RATE) <= TOLERANCE * RATE, f"ingress measured {ingress} bit/s, want {RATE}"
    assert abs(egress[-1] - RATE) <= TOLERANCE * RATE, f"egress measured {egress} bit/s, want {RATE}"


def test_unshaped_transfer_is_much_faster(pod: Pod, cni_bin):
    """The same transfer without shaping is far above the shaped rate: the limit above comes from the
    qdiscs, not from the test's own speed (tolerates noise: only a factor of 3 is asked)."""
    rate = measure(pod.container.path, pod.host.path, pod.container_ip)
    assert rate > 3 * RATE, f"unshaped transfer measured only {rate} bit/s"
