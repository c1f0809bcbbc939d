"""bandwidth: traffic shaping of a pod's host veth (ingress: a tbf at its root; egress: a redirect to
an `ifb` device named bwp+hash(network, container ID) with its own tbf), the `bandwidth`
capability, validation, CHECK and DEL (which removes the ifb even when the netns is gone)."""

from __future__ import annotations

from ..checks import Field, Link, Links, Qdisc, Redirect, ResultShape, SameAsPrev
from ..model import DeleteNetns, Invoke, Scenario
from .common import GW, IP1, fails, host_to_container_link, ok, spec_error

HOST_IF = "hveth0"
PREV = {
    "interfaces": [{"name": HOST_IF}, {"name": "eth0", "sandbox": "{netns}"}],
    "ips": [{"interface": 1, "address": f"{IP1}/24", "gateway": GW}],
}
INGRESS = {"ingressRate": 8_000_000, "ingressBurst": 80_000}  # tbf: 1e6 B/s, 10 kB
EGRESS = {"egressRate": 16_000_000, "egressBurst": 160_000}  # tbf: 2e6 B/s, 20 kB
LATENCY = 25_000  # µs: the limit Go derives is 25 ms of traffic plus the burst
REFS = ("plugins/bandwidth/README.md",)  # bandwidth has no section in plugins.md
VERSIONS = ("0.3.1", "0.4.0", "1.0.0", "1.1.0")
CHECK_VERSIONS = ("0.4.0", "1.0.0", "1.1.0")


def bw_conf(**keys) -> dict:
    return {"name": "{net}", "type": "bandwidth", **keys}


def shaped_in(present: bool = True) -> tuple:
    return (
        Qdisc("host", HOST_IF, "tbf", present=present, rate=1_000_000 if present else None, latency=LATENCY),
    )


def shaped_out(present: bool = True) -> tuple:
    if not present:
        return (Link("host", "{ifb}", present=False),)
    return (
        Link("host", "{ifb}", kind="ifb", up=True, mtu=1500),
        Qdisc("host", HOST_IF, "ingress", ingress=True),
        Redirect("host", HOST_IF, "{ifb}"),
        Qdisc("host", "{ifb}", "tbf", rate=2_000_000, latency=LATENCY),
    )


def scenarios() -> list[Scenario]:
    s: list[Scenario] = []

    def scen(sid, title, *steps, **kw):
        s.append(
            Scenario(
                id=f"bandwidth.{sid}", plugin="bandwidth", title=title, steps=tuple(steps), refs=REFS, **kw
            )
        )

    def add(conf, *checks, state=(), prev=PREV, label="add", **kw):
        return Invoke("ADD", conf, prev=prev, label=label, expect=ok(*checks, state=state), **kw)

    def delete(conf, state=(), label="del", **kw):
        return Invoke("DEL", conf, prev="add", label=label, expect=ok(state=state), **kw)

    link = host_to_container_link(host_if=HOST_IF)
    ifb_in_result = (
        Field("interfaces.2.name", eq="{ifb}"),
        Field("interfaces.2.mac", re="[0-9a-f]{2}(:[0-9a-f]{2}){5}"),
        Field("interfaces.2.sandbox", absent=True),
    )

    scen(
        "ingress",
        "ingressRate/ingressBurst: a tbf at the root of the host veth; no ifb; the result is prevResult",
        *link,
        add(bw_conf(**INGRESS), ResultShape(), SameAsPrev(), state=(*shaped_in(), *shaped_out(False))),
        delete(bw_conf(**INGRESS), state=shaped_out(False)),
        versions=VERSIONS,
    )
    scen(
        "egress",
        "egressRate/egressBurst: an ifb (in the result) with a tbf, the host veth's ingress redirected to it",
        *link,
        add(bw_conf(**EGRESS), ResultShape(), *ifb_in_result, state=shaped_out()),
        delete(bw_conf(**EGRESS), state=shaped_out(False)),
        delete(bw_conf(**EGRESS), label="del-again"),
        versions=VERSIONS,
    )
    scen(
        "capability",
        "the `bandwidth` capability: runtimeConfig.bandwidth shapes both directions",
        *link,
        add(
            bw_conf(capabilities={"bandwidth": True}, runtimeConfig={"bandwidth": {**INGRESS, **EGRESS}}),
            *ifb_in_result,
            state=(*shaped_in(), *shaped_out()),
        ),
        delete(bw_conf(runtimeConfig={"bandwidth": {**INGRESS, **EGRESS}}), state=shaped_out(False)),
    )
    scen(
        "config-entry-wins",
        "any rate or burst key in the config makes runtimeConfig.bandwidth ignored (Go's embedded entry)",
        *link,
        add(
            bw_conf(**INGRESS, runtimeConfig={"bandwidth": EGRESS}),
            SameAsPrev(),
            state=(*shaped_in(), *shaped_out(False)),
        ),
    )
    scen(
        "nothing-to-shape",
        "no rates at all: nothing is made and prevResult passes through",
        *link,
        add(bw_conf(), SameAsPrev(), state=(*shaped_in(False), Links("host", ("lo", HOST_IF)))),
        versions=VERSIONS,
    )
    scen(
        "check",
        "CHECK passes on what ADD made, and fails once the ifb is gone",
        *link,
        add(bw_conf(**INGRESS, **EGRESS)),
        Invoke("CHECK", bw_conf(**INGRESS, **EGRESS), prev="add", label="check", expect=ok()),
        Invoke("DEL", bw_conf(**INGRESS, **EGRESS), prev="add", label="del", expect=ok()),
        Invoke("CHECK", bw_conf(**INGRESS, **EGRESS), prev="add", label="check-gone", expect=fails()),
        versions=CHECK_VERSIONS,
    )
    scen(
        "del-netns-gone",
        "DEL after the container netns was removed still removes the ifb",
        *link,
        add(bw_conf(**EGRESS)),
        DeleteNetns("c1"),
        delete(bw_conf(**EGRESS), state=shaped_out(False)),
    )
    scen(
        "del-without-prev",
        "DEL without prevResult or netns removes the ifb (its name comes from network and container ID)",
        *link,
        add(bw_conf(**EGRESS)),
        Invoke("DEL", bw_conf(**EGRESS), netns="", label="del", expect=ok(state=shaped_out(False))),
    )
    for sid, keys, msg in (
        ("rate-without-burst", {"ingressRate": 8000}, "if rate is set, burst must also be set"),
        ("burst-without-rate", {"egressBurst": 8000}, "if burst is set, rate must also be set"),
        ("burst-over-4gb", {"egressRate": 8000, "egressBurst": 8 * 2**32}, "burst cannot be more than 4GB"),
        (
            "runtime-rate-without-burst",
            {"runtimeConfig": {"bandwidth": {"egressRate": 8000}}},
            "if rate is set, burst must also be set",
        ),
    ):
        scen(
            f"invalid.{sid}",
            f"refused: {msg}",
            *link,
            Invoke("ADD", bw_conf(**keys), prev=PREV, **spec_error(7, msg, state=shaped_out(False))),
        )
    scen(
        "invalid.negative-rate",
        "a negative rate is refused as a config error",
        *link,
        Invoke(
            "ADD",
            bw_conf(ingressRate=-8000, ingressBurst=800),
            prev=PREV,
            **spec_error(7, "ingressRate", state=shaped_in(False)),
        ),
    )
    scen(
        "not-chained",
        "rates without a prevResult: the plugin must be chained",
        *link,
        Invoke("ADD", bw_conf(**INGRESS), expect=fails(msg="must be called as chained plugin")),
    )
    scen(
        "no-veth-peer",
        "CNI_IFNAME that is not a veth in the container is refused",
        *link,
        Invoke("ADD", bw_conf(**INGRESS), prev=PREV, ifname="eth9", expect=fails(msg="has no veth peer")),
    )
    return s
