"""What the kernel must hold for a bandwidth config: pure computation, no I/O.

Ingress (traffic towards the container) is a token bucket (tbf, handle 1:) at the root of the host
veth. Egress (traffic from the container) is sent by the host veth's ingress qdisc (ffff:) through
a u32 match-all filter with mirred redirects to an `ifb` device, whose root is the same kind of
tbf. The numbers are Go's (plugins/meta/bandwidth/ifb_creator.go over vishvananda/netlink), to the
rounding, so either implementation's CHECK accepts the other's qdiscs.
"""

from __future__ import annotations

from collections import namedtuple

try:  # the built-in module: hashlib would load OpenSSL first (~3 ms of a cold call)
    from _sha512 import sha512 as _sha512
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import sha512 as _sha512

MAX_IFB_NAME = 15
IFB_PREFIX = "bwp"
LATENCY_MS = 25
TIME_UNITS_PER_SEC = 1_000_000
UINT32 = 1 << 32
MAX_UINT32 = UINT32 - 1

TBF_HANDLE = 0x00010000  # 1:
INGRESS_HANDLE = 0xFFFF0000  # ffff:
ROOT_PARENT = 0xFFFFFFFF  # TC_H_ROOT
INGRESS_PARENT = 0xFFFFFFF1  # TC_H_INGRESS
FILTER_PRIORITY = 1
FILTER_CLASSID = 0x00010001  # 1:1
ETH_P_ALL = 0x0003
TC_ACT_OK = 0
TC_ACT_STOLEN = 4
TCA_EGRESS_REDIR = 1


class Entry(namedtuple("Entry", "ingress_rate ingress_burst egress_rate egress_burst")):
    """A bandwidth entry in bits per second and bits (Go's BandwidthEntry)."""

    __slots__ = ()

    @property
    def is_zero(self) -> bool:
        return not (self.ingress_rate or self.ingress_burst or self.egress_rate or self.egress_burst)

    @property
    def shapes_ingress(self) -> bool:
        return self.ingress_rate > 0 and self.ingress_burst > 0

    @property
    def shapes_egress(self) -> bool:
        return self.egress_rate > 0 and self.egress_burst > 0


class Tbf(namedtuple("Tbf", "rate limit buffer")):
    """A tbf's parameters as the kernel holds them: rate in bytes/s, limit in bytes, buffer in ticks."""

    __slots__ = ()


class Mirred(namedtuple("Mirred", "action eaction")):
    """One mirred action of the redirect filter (control action, mirred action)."""

    __slots__ = ()


# The redirect filter's actions as Go's netlink library sends them: the filter's RedirIndex becomes
# a leading "redirect, stolen" action, followed by the explicit "redirect, pass" one.
REDIRECT_ACTIONS = (Mirred(TC_ACT_STOLEN, TCA_EGRESS_REDIR), Mirred(TC_ACT_OK, TCA_EGRESS_REDIR))


def rate_burst_error(rate: int, burst: int) -> str:
    """Go's validateRateAndBurst: the error text, or '' when the pair is valid."""
    if burst == 0 and rate != 0:
        return "if rate is set, burst must also be set"
    if rate == 0 and burst != 0:
        return "if burst is set, rate must also be set"
    if burst // 8 >= MAX_UINT32:
        return "burst cannot be more than 4GB"
    return ""


def ifb_name(network: str, container_id: str) -> str:
    """`bwp` + sha512(network name + container ID) in hex, cut to 15 characters (Go's
    utils.MustFormatHashWithPrefix), so either implementation finds the other's device."""
    digest = _sha512((network + container_id).encode()).hexdigest()
    return (IFB_PREFIX + digest)[:MAX_IFB_NAME]


def tick_in_usec(psched: str) -> float:
    """Kernel ticks per microsecond from /proc/net/psched (vishvananda/netlink initClock)."""
    parts = psched.strip().split(" ")
    try:
        vals = [int(p, 16) for p in parts[:4]]
    except ValueError:
        return 0.0
    if len(vals) < 4 or vals[1] == 0:
        return 0.0
    if vals[2] == 1_000_000_000:
        vals[0] = vals[1]
    clock_factor = vals[2] / TIME_UNITS_PER_SEC
    return vals[0] / vals[1] * clock_factor


def _go_uint32(value: float) -> int:
    """Go's uint32(float64) for the values that occur here (non-negative, truncated)."""
    return int(value) & MAX_UINT32


def tbf(rate_bits: int, burst_bits: int, ticks_per_usec: float) -> Tbf:
    """The tbf Go creates for a rate (bits/s) and burst (bits): createTBF's arithmetic."""
    rate = rate_bits // 8
    burst = (burst_bits // 8) & MAX_UINT32
    # float64 steps in Go's order (each rounded), so even rates past 2^53 round as Go's do
    xmit_time = _go_uint32(float(burst) * float(TIME_UNITS_PER_SEC) / float(rate))
    buffer = _go_uint32(float(xmit_time) * ticks_per_usec)
    latency = float(TIME_UNITS_PER_SEC) * (LATENCY_MS / 1000.0)
    limit = (_go_uint32(float(rate) * latency / float(TIME_UNITS_PER_SEC)) + burst) & MAX_UINT32
    return Tbf(rate=rate, limit=limit, buffer=buffer)


class Plan(namedtuple("Plan", "ingress egress ifb")):
    """What ADD makes: `ingress` is the host veth's root tbf (or None), `egress` the ifb's root tbf
    (or None), `ifb` the ifb device's name (made only when egress is shaped)."""

    __slots__ = ()


def plan(entry: Entry, network: str, container_id: str, ticks_per_usec: float) -> Plan:
    ingress = tbf(entry.ingress_rate, entry.ingress_burst, ticks_per_usec) if entry.shapes_ingress else None
    egress = tbf(entry.egress_rate, entry.egress_burst, ticks_per_usec) if entry.shapes_egress else None
    return Plan(ingress=ingress, egress=egress, ifb=ifb_name(network, container_id))


class Qdisc(namedtuple("Qdisc", "kind handle parent tbf")):
    """A qdisc as dumped from the kernel; `tbf` holds a tbf's parameters, else None."""

    __slots__ = ()


def tbf_mismatch(wanted: Tbf, qdiscs: list[Qdisc]) -> str:
    """CHECK of one device: '' when its root qdisc is a tbf with the wanted numbers, else Go's
    message. Stricter than Go, which passes when the first qdisc listed is not a tbf at all."""
    root = next((q for q in qdiscs if q.parent == ROOT_PARENT), None)
    if root is None or root.kind != "tbf" or root.tbf is None:
        return "Failed to find qdisc"
    if root.tbf.rate != wanted.rate:
        return "Rate doesn't match"
    if root.tbf.limit != wanted.limit:
        return "Limit doesn't match"
    if root.tbf.buffer != wanted.buffer:
        return "Buffer doesn't match"
    return ""


def redirect_mismatch(qdiscs: list[Qdisc], filters: list, ifb_index: int, ifb: str) -> str:
    """CHECK of the egress redirect (Go does not check it): the host veth has the ingress qdisc and
    a u32 filter on it whose mirred actions all redirect to the ifb."""
    if not any(q.kind == "ingress" and q.handle == INGRESS_HANDLE for q in qdiscs):
        return "Failed to find the ingress qdisc"
    for found in filters:
        if (
            found.kind == "u32"
            and found.actions
            and all(
                a.kind == "mirred" and a.eaction == TCA_EGRESS_REDIR and a.ifindex == ifb_index
                for a in found.actions
            )
        ):
            return ""
    return f"Failed to find the filter redirecting to {ifb}"
