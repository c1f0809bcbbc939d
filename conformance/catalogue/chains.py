"""Plugin chains as a runtime drives them (cni-spec.md 3.4): bridge -> tuning -> portmap."""

from __future__ import annotations

from ..checks import Field, File, IptChain, Link, Links, SameAsPrev, Tcp
from ..model import DeleteNetns, Deviation, Invoke, Scenario
from .common import BRIDGE, GW, IP1, bridge_conf, fails, ok, portmap_conf

MAC = "0e:11:22:33:44:66"
TCP80 = {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}
BRIDGE_CONF = bridge_conf(isDefaultGateway=True)
TUNING_CONF = {
    "name": "{net}",
    "type": "tuning",
    "capabilities": {"mac": True},
    "runtimeConfig": {"mac": MAC},
}
PORTMAP_CONF = portmap_conf([TCP80])
NEEDS = ("host-local", "tuning", "portmap")


def add_chain(with_checks: bool = True) -> tuple[Invoke, ...]:
    return (
        Invoke("ADD", BRIDGE_CONF, label="bridge-add", expect=ok()),
        Invoke(
            "ADD",
            TUNING_CONF,
            plugin="tuning",
            prev="bridge-add",
            label="tuning-add",
            expect=ok(
                *(
                    (Field("interfaces.2.mac", eq=MAC), SameAsPrev(ignore=("interfaces.2.mac",)))
                    if with_checks
                    else ()
                ),
                state=(Link("c1", "eth0", mac=MAC),) if with_checks else (),
            ),
        ),
        Invoke(
            "ADD",
            PORTMAP_CONF,
            plugin="portmap",
            prev="tuning-add",
            label="portmap-add",
            expect=ok(
                *((SameAsPrev(),) if with_checks else ()),
                state=(IptChain("{dn_chain}"),) if with_checks else (),
            ),
        ),
    )


def del_chain(state=(), **kw) -> tuple[Invoke, ...]:
    return (
        Invoke(
            "DEL", PORTMAP_CONF, plugin="portmap", prev="portmap-add", label="portmap-del", expect=ok(), **kw
        ),
        Invoke(
            "DEL", TUNING_CONF, plugin="tuning", prev="portmap-add", label="tuning-del", expect=ok(), **kw
        ),
        Invoke("DEL", BRIDGE_CONF, prev="portmap-add", label="bridge-del", expect=ok(state=state), **kw),
    )


def scenarios() -> list[Scenario]:
    s: list[Scenario] = []

    def scen(sid, title, *steps, versions=("0.4.0", "1.0.0", "1.1.0"), **kw):
        s.append(
            Scenario(
                id=f"chain.{sid}",
                plugin="bridge",
                title=title,
                steps=tuple(steps),
                needs=NEEDS,
                versions=versions,
                refs=("3.4", "C-22"),
                requires=("iptables",),
                **kw,
            )
        )

    scen(
        "add",
        "ADD bridge -> tuning (mac) -> portmap: each result feeds the next, the final result has the new MAC",
        *add_chain(),
    )
    scen(
        "traffic",
        "after the chained ADD the host port reaches the container through the bridge",
        *add_chain(with_checks=False),
        Invoke(
            "CHECK",
            PORTMAP_CONF,
            plugin="portmap",
            prev="portmap-add",
            expect=ok(),
            deviations=(Deviation("go-portmap-check", fails()),),
        ),
        Invoke("DEL", PORTMAP_CONF, plugin="portmap", prev="portmap-add", expect=ok()),
        Invoke(
            "ADD",
            PORTMAP_CONF,
            plugin="portmap",
            prev="tuning-add",
            label="portmap-add2",
            expect=ok(state=(Tcp("host", GW, 8080, "c1", 80),)),
        ),
        versions=("1.0.0",),
    )
    scen(
        "check",
        "CHECK of every plugin with the final result succeeds",
        *add_chain(with_checks=False),
        Invoke("CHECK", BRIDGE_CONF, prev="portmap-add", expect=ok()),
        Invoke("CHECK", TUNING_CONF, plugin="tuning", prev="portmap-add", expect=ok()),
        Invoke(
            "CHECK",
            PORTMAP_CONF,
            plugin="portmap",
            prev="portmap-add",
            expect=ok(),
            deviations=(Deviation("go-portmap-check", fails(msg="could not check ipv6 dnat")),),
        ),
    )
    scen(
        "del",
        "DEL in reverse order removes everything the chain made (bridge stays)",
        *add_chain(with_checks=False),
        *del_chain(
            state=(
                Links("host", ("lo", BRIDGE)),
                Link("c1", "eth0", present=False),
                IptChain("{dn_chain}", present=False),
                File("{netdir}/" + IP1, present=False),
            )
        ),
    )
    scen(
        "del-netns-gone",
        "DEL of the whole chain after the container netns is gone succeeds and cleans up",
        *add_chain(with_checks=False),
        DeleteNetns("c1"),
        *del_chain(state=(IptChain("{dn_chain}", present=False), File("{netdir}/" + IP1, present=False))),
        versions=("1.0.0",),
    )
    scen(
        "del-twice",
        "the whole chain can be deleted twice",
        *add_chain(with_checks=False),
        *del_chain(),
        Invoke("DEL", PORTMAP_CONF, plugin="portmap", prev="portmap-add", expect=ok()),
        Invoke("DEL", TUNING_CONF, plugin="tuning", prev="portmap-add", expect=ok()),
        Invoke("DEL", BRIDGE_CONF, prev="portmap-add", expect=ok()),
        versions=("1.0.0",),
    )
    scen(
        "add-failure-then-del",
        "when a chained plugin fails ADD, DEL of the whole chain still cleans up (the runtime always DELs)",
        Invoke("ADD", BRIDGE_CONF, label="bridge-add", expect=ok()),
        Invoke(
            "ADD",
            portmap_conf([{**TCP80, "hostPort": 0}]),
            plugin="portmap",
            prev="bridge-add",
            label="portmap-add",
            expect=fails(),
        ),
        Invoke("DEL", portmap_conf([TCP80]), plugin="portmap", prev="bridge-add", expect=ok()),
        Invoke(
            "DEL",
            BRIDGE_CONF,
            prev="bridge-add",
            expect=ok(state=(Links("host", ("lo", BRIDGE)), File("{netdir}/" + IP1, present=False))),
        ),
        versions=("1.0.0",),
    )
    return s
