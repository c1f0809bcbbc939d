"""firewall (plugins.md, meta/firewall): the iptables backend's chains and rules in the filter
table, the ingress policies' isolation chains, DEL and CHECK, errors. Every call gets a system bus
address that leads nowhere, so `backend: ""` means iptables and no firewalld of the machine is
ever reached (the firewalld backend is tested by tests/firewall with a private firewalld)."""

from __future__ import annotations

from ..checks import IptChain, IptRule, SameAsPrev
from ..model import Deviation, Invoke, Run, Scenario
from .common import BRIDGE, GW, IP1, IP6_1, fails, ok

NO_BUS = (("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/conformance-bus"),)
V4 = f"{IP1}/32"
V6 = f"{IP6_1}/128"


def prev(*ips: str, bridge: str = BRIDGE, interfaces: bool = True) -> dict:
    """A bridge plugin's result: the bridge first, then the host veth and the container's eth0."""
    result: dict = {
        "ips": [{"interface": 2, "address": ip, **({"gateway": GW} if ":" not in ip else {})} for ip in ips]
    }
    if interfaces:
        result["interfaces"] = [
            {"name": bridge},
            {"name": "veth0"},
            {"name": "eth0", "sandbox": "{netns}"},
        ]
    return result


PREV = prev(f"{IP1}/24")
PREV6 = prev(f"{IP6_1}/64")


def fw_conf(**keys) -> dict:
    return {"name": "{net}", "type": "firewall", **keys}


def address_rules(host: str, present: bool = True, family: int = 4, count: int | None = None) -> tuple:
    return (
        IptRule(
            "CNI-FORWARD",
            (f"-d {host}", "--ctstate RELATED,ESTABLISHED", "-j ACCEPT"),
            present=present,
            table="filter",
            family=family,
            count=count,
        ),
        IptRule(
            "CNI-FORWARD",
            (f"-s {host}", "-j ACCEPT"),
            present=present,
            table="filter",
            family=family,
            count=count,
        ),
    )


def base_rules(admin: str = "CNI-ADMIN", family: int = 4) -> tuple:
    return (
        IptChain("CNI-FORWARD", table="filter", family=family),
        IptChain(admin, table="filter", family=family),
        IptRule(
            "FORWARD",
            ('--comment "CNI firewall plugin rules"', "-j CNI-FORWARD"),
            table="filter",
            family=family,
        ),
        IptRule(
            "CNI-FORWARD",
            ('--comment "CNI firewall plugin admin overrides"', f"-j {admin}"),
            table="filter",
            family=family,
        ),
    )


def isolation_rules(bridge: str = BRIDGE, isolated: bool = False) -> tuple:
    return (
        IptChain("CNI-ISOLATION-STAGE-1", table="filter"),
        IptChain("CNI-ISOLATION-STAGE-2", table="filter"),
        IptRule("FORWARD", ("-j CNI-ISOLATION-STAGE-1",), table="filter"),
        IptRule(
            "CNI-ISOLATION-STAGE-1",
            (f"-i {bridge}", f"! -o {bridge}", "-j CNI-ISOLATION-STAGE-2"),
            table="filter",
        ),
        IptRule(
            "CNI-ISOLATION-STAGE-1",
            (f"-i {bridge} -o {bridge}", "-j DROP"),
            present=isolated,
            table="filter",
        ),
        IptRule("CNI-ISOLATION-STAGE-1", ("-j RETURN",), table="filter"),
        IptRule("CNI-ISOLATION-STAGE-2", (f"-o {bridge}", "-j DROP"), table="filter"),
        IptRule("CNI-ISOLATION-STAGE-2", ("-j RETURN",), table="filter"),
    )


def scenarios() -> list[Scenario]:
    s: list[Scenario] = []

    def scen(sid, title, *steps, refs=("meta/firewall",), requires=("iptables",), **kw):
        s.append(
            Scenario(
                id=f"firewall.{sid}",
                plugin="firewall",
                title=title,
                steps=tuple(steps),
                refs=tuple(refs),
                requires=requires,
                **kw,
            )
        )

    def add(conf=None, *checks, state=(), prev=PREV, label="add", **kw):
        return Invoke(
            "ADD",
            conf or fw_conf(),
            prev=prev,
            label=label,
            env=NO_BUS,
            expect=ok(*checks, state=state),
            **kw,
        )

    def call(verb, conf=None, expect=None, prev="add", label="", **kw):
        return Invoke(
            verb,
            conf or fw_conf(),
            prev=prev,
            label=label or verb.lower(),
            env=NO_BUS,
            expect=expect or ok(),
            **kw,
        )

    scen(
        "add.result",
        "firewall prints prevResult unchanged",
        add(None, SameAsPrev()),
        versions=("0.4.0", "1.0.0"),
    )
    scen(
        "add.forward-rules",
        "ADD: FORWARD jumps to CNI-FORWARD, which jumps to CNI-ADMIN first and accepts the address",
        add(state=(*base_rules(), *address_rules(V4))),
    )
    scen(
        "add.admin-chain-name",
        "iptablesAdminChainName names the admin override chain",
        add(fw_conf(iptablesAdminChainName="MY-ADMIN"), state=(*base_rules("MY-ADMIN"), *address_rules(V4))),
    )
    scen(
        "add.ipv6",
        "an IPv6 address gets ip6tables rules (/128) and no iptables rules",
        add(
            prev=PREV6,
            state=(
                *base_rules(family=6),
                *address_rules(V6, family=6),
                IptChain("CNI-FORWARD", present=False, table="filter"),
            ),
        ),
        requires=("iptables", "ip6tables", "ipv6"),
    )
    scen(
        "add.dual-stack",
        "both families of prevResult get their rules",
        add(prev=prev(f"{IP1}/24", f"{IP6_1}/64"), state=(*address_rules(V4), *address_rules(V6, family=6))),
        requires=("iptables", "ip6tables", "ipv6"),
    )
    scen(
        "add.twice-no-duplicates",
        "a repeated ADD does not duplicate rules",
        add(),
        add(
            label="add2",
            state=(
                *address_rules(V4, count=1),
                IptRule("FORWARD", ("-j CNI-FORWARD",), table="filter", count=1),
                IptRule("CNI-FORWARD", ("-j CNI-ADMIN",), table="filter", count=1),
            ),
        ),
    )
    scen(
        "add.empty-backend",
        'backend "" (as podman writes it) without firewalld on the system bus uses iptables',
        add(fw_conf(backend=""), state=address_rules(V4)),
    )
    scen(
        "add.same-bridge",
        "ingressPolicy same-bridge: the CNI-ISOLATION-STAGE-1/2 chains for the bridge of prevResult",
        add(fw_conf(ingressPolicy="same-bridge"), state=(*isolation_rules(), *address_rules(V4))),
    )
    scen(
        "add.isolated",
        "ingressPolicy isolated: same-bridge's chains plus a drop within the bridge",
        add(fw_conf(ingressPolicy="isolated"), state=isolation_rules(isolated=True)),
        claims="1.1.0",
    )
    scen(
        "add.open",
        "ingressPolicy open: no isolation chains",
        add(
            fw_conf(ingressPolicy="open"),
            state=(IptChain("CNI-ISOLATION-STAGE-1", present=False, table="filter"),),
        ),
    )
    scen(
        "del.removes-address-rules",
        "DEL removes the address rules; the shared chains stay",
        add(),
        call("DEL"),
        call(
            "DEL",
            label="del-again",
            expect=ok(state=(*address_rules(V4, present=False), IptChain("CNI-FORWARD", table="filter"))),
        ),
    )
    scen(
        "del.without-prev-result",
        "DEL without prevResult succeeds (nothing to remove)",
        add(),
        call("DEL", prev=None, expect=ok(state=address_rules(V4))),
    )
    scen(
        "del.keeps-isolation",
        "DEL leaves the per-bridge isolation rules (other containers may use the bridge)",
        add(fw_conf(ingressPolicy="same-bridge")),
        call(
            "DEL",
            fw_conf(ingressPolicy="same-bridge"),
            expect=ok(state=(*isolation_rules(), *address_rules(V4, present=False))),
        ),
    )
    scen("check.after-add", "CHECK after ADD succeeds", add(), call("CHECK"))
    scen(
        "check.missing-rule",
        "CHECK fails when an address rule is gone",
        add(),
        Run("host", ("iptables", "-w", "-D", "CNI-FORWARD", "-s", V4, "-j", "ACCEPT")),
        call("CHECK", expect=fails(msg=f"expected rule [-s {V4} -j ACCEPT] not found")),
    )
    scen(
        "check.missing-jump",
        "CHECK fails when the FORWARD jump is gone",
        add(),
        Run(
            "host",
            (
                "iptables",
                "-w",
                "-D",
                "FORWARD",
                "-m",
                "comment",
                "--comment",
                "CNI firewall plugin rules",
                "-j",
                "CNI-FORWARD",
            ),
        ),
        call("CHECK", expect=fails(msg="expected FORWARD rule")),
    )
    scen(
        "fail.no-prev-result",
        "firewall is a chained plugin: ADD without prevResult fails",
        Invoke("ADD", fw_conf(), env=NO_BUS, expect=fails(msg="missing prevResult from earlier plugin")),
    )
    late = "go-fw-late-checks"
    scen(
        "fail.unknown-policy",
        "an unknown ingressPolicy is rejected, before anything is added",
        Invoke(
            "ADD",
            fw_conf(ingressPolicy="closed"),
            prev=PREV,
            env=NO_BUS,
            expect=fails(
                msg='unknown ingress policy: "closed"',
                state=(IptChain("CNI-FORWARD", present=False, table="filter"),),
            ),
            deviations=(Deviation(late, fails(msg='unknown ingress policy: "closed"')),),
        ),
    )
    scen(
        "fail.same-bridge-without-interfaces",
        "same-bridge needs the bridge as the first interface of prevResult",
        Invoke(
            "ADD",
            fw_conf(ingressPolicy="same-bridge"),
            prev=prev(f"{IP1}/24", interfaces=False),
            env=NO_BUS,
            expect=fails(
                msg='interface needs to be set for ingress policy "same-bridge"',
                state=(IptChain("CNI-FORWARD", present=False, table="filter"),),
            ),
            deviations=(
                Deviation(late, fails(msg='interface needs to be set for ingress policy "same-bridge"')),
            ),
        ),
    )
    return s
