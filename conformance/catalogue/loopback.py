"""loopback (plugins/main/loopback): `lo` up on ADD, down on DEL, up wanted by CHECK.

The suite brings `lo` up in every container netns it makes; these scenarios set it down first,
as a runtime's fresh netns has it. CNI_IFNAME is ignored by the plugin (always `lo`).
"""

from __future__ import annotations

from ..checks import Addr, Field, Link, Links, SameAsPrev
from ..model import OMIT, VERSIONS_040_UP, VERSIONS_ALL, DeleteNetns, Deviation, Expect, Invoke, Run, Scenario
from .common import container_result, fails, ok, spec_error

LO_V4 = "127.0.0.1/8"
LO_V6 = "::1/128"


def lo_conf(**keys) -> dict:
    return {"name": "{net}", "type": "loopback", **keys}


def fresh_lo(ns: str = "c1") -> Run:
    return Run(ns, ("ip", "link", "set", "lo", "down"))


def scenarios() -> list[Scenario]:
    s: list[Scenario] = []

    def scen(sid, title, *steps, refs=("plugins/main/loopback",), **kw):
        s.append(
            Scenario(
                id=f"loopback.{sid}",
                plugin="loopback",
                title=title,
                steps=tuple(steps),
                refs=tuple(refs),
                **kw,
            )
        )

    lo_result = (
        Field("cniVersion", eq="{version}"),
        Field("interfaces", eq=[{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": "{netns}"}]),
        Field("ips.0", eq={"interface": 0, "address": LO_V4}),
    )
    lo_up = (Link("c1", "lo", up=True), Addr("c1", "lo", LO_V4))

    def add_lo(conf, *checks, state=lo_up, **kw):
        """ADD whose result has the 1.0.0 shape under any label: for 0.x configs that is Go's
        (and our) deliberate departure from the version's shape."""
        checks = lo_result + checks
        return Invoke(
            "ADD",
            conf,
            label="add",
            expect=ok(*checks, state=state),
            deviations=(Deviation("loopback-label", Expect(output="any", result=checks, state=state)),),
            **kw,
        )

    scen(
        "add.up",
        "ADD sets lo up and reports it with 127.0.0.1/8, as interface 0, in every version",
        fresh_lo(),
        add_lo(lo_conf()),
        versions=VERSIONS_ALL,
    )
    scen(
        "add.ipv6",
        "with IPv6 enabled in the container, ::1/128 is reported after 127.0.0.1/8",
        fresh_lo(),
        add_lo(lo_conf(), Field("ips.1", eq={"interface": 0, "address": LO_V6}), Field("ips", length=2)),
        requires=("ipv6",),
    )
    scen(
        "add.ipv6-disabled",
        "with IPv6 disabled in the container, only 127.0.0.1/8 is reported",
        fresh_lo(),
        *(
            Run("c1", ("sysctl", "-qw", f"net.ipv6.conf.{scope}.disable_ipv6=1"))
            for scope in ("all", "default", "lo")
        ),
        add_lo(lo_conf(), Field("ips", length=1)),
        requires=("ipv6",),
    )
    scen(
        "add.ifname-ignored",
        "CNI_IFNAME is ignored: lo is configured and reported, no other link appears",
        fresh_lo(),
        add_lo(lo_conf(), ifname="eth0", state=(*lo_up, Links("c1", ("lo",)))),
    )
    scen(
        "add.no-version",
        "a config without cniVersion gets a 0.1.0 result (ip4/ip6)",
        fresh_lo(),
        Invoke(
            "ADD",
            lo_conf(cniVersion=OMIT),
            expect=ok(Field("cniVersion", eq="0.1.0"), Field("ip4", eq={"ip": LO_V4}), output="any"),
        ),
        versions=("0.1.0",),
    )
    scen(
        "add.prev-result",
        "with a prevResult, ADD passes it through unchanged (and still sets lo up)",
        fresh_lo(),
        Invoke(
            "ADD",
            lo_conf(),
            prev=container_result(),
            expect=ok(SameAsPrev(), state=(Link("c1", "lo", up=True),)),
        ),
        versions=("0.2.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"),
    )
    scen(
        "add.non-loopback-address",
        "an address outside 127.0.0.0/8 / ::1 on lo fails ADD",
        Run("c1", ("ip", "addr", "add", "192.0.2.9/32", "dev", "lo")),
        Invoke(
            "ADD",
            lo_conf(),
            expect=fails(999, 'loopback interface found with non-loopback address "192.0.2.9"'),
        ),
    )
    scen(
        "add.bad-config",
        "a NetConf key of the wrong type is a decoding error naming it",
        fresh_lo(),
        Invoke("ADD", lo_conf(capabilities=5), **spec_error(6, "capabilities")),
    )
    scen(
        "add.bad-prev-result",
        "an invalid prevResult fails ADD",
        fresh_lo(),
        Invoke(
            "ADD",
            lo_conf(prevResult={"cniVersion": "{version}", "ips": [{"address": "10.1.0.2"}]}),
            **spec_error(7, "invalid CIDR address: 10.1.0.2"),
        ),
    )
    scen(
        "add.missing-netns",
        "ADD into a netns path that does not exist fails",
        Invoke("ADD", lo_conf(), netns="/run/netns/no-such-netns", expect=fails(msg="no-such-netns")),
    )
    scen(
        "del.down",
        "DEL sets lo down",
        fresh_lo(),
        add_lo(lo_conf()),
        Invoke("DEL", lo_conf(), prev="add", expect=ok(state=(Link("c1", "lo", up=False),))),
        versions=("0.3.1", "1.0.0"),
    )
    scen(
        "del.twice",
        "DEL is idempotent",
        fresh_lo(),
        add_lo(lo_conf()),
        Invoke("DEL", lo_conf(), prev="add", label="del1"),
        Invoke("DEL", lo_conf(), prev="add", label="del2", expect=ok(state=(Link("c1", "lo", up=False),))),
    )
    scen(
        "del.vanished-netns",
        "DEL after the runtime removed the netns succeeds",
        fresh_lo(),
        add_lo(lo_conf()),
        DeleteNetns("c1"),
        Invoke("DEL", lo_conf(), prev="add"),
    )
    scen(
        "del.no-netns",
        "DEL with an empty CNI_NETNS succeeds",
        Invoke("DEL", lo_conf(), netns=""),
    )
    scen(
        "del.ignores-config",
        "DEL does not decode the plugin's keys (a bad one does not stop the teardown)",
        fresh_lo(),
        add_lo(lo_conf()),
        Invoke("DEL", lo_conf(capabilities=5), expect=ok(state=(Link("c1", "lo", up=False),))),
    )
    scen(
        "check.up",
        "CHECK after ADD succeeds",
        fresh_lo(),
        add_lo(lo_conf()),
        Invoke("CHECK", lo_conf(), prev="add"),
        versions=VERSIONS_040_UP,
    )
    scen(
        "check.down",
        "CHECK fails when lo is down",
        fresh_lo(),
        add_lo(lo_conf()),
        Run("c1", ("ip", "link", "set", "lo", "down")),
        Invoke("CHECK", lo_conf(), prev="add", expect=fails(999, "loopback interface is down")),
    )
    scen(
        "gc-status.noop",
        "GC and STATUS succeed and leave lo alone",
        fresh_lo(),
        add_lo(lo_conf()),
        Invoke("GC", lo_conf(), netns="", cid="", ifname="", expect=ok(state=lo_up)),
        Invoke("STATUS", lo_conf(), netns="", cid="", ifname="", expect=ok(state=lo_up)),
        versions=("1.1.0",),
    )
    return s
