"""The plugin protocol (cni-spec.md sections 1, 2.2-2.6, 3.7), run against every plugin.

Each behaviour below is instantiated once per plugin ("protocol.<plugin>.<behaviour>"): every
executable has its own skeleton, and each must get the protocol right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..checks import Stderr
from ..model import OMIT, Deviation, Expect, Invoke, Scenario, Step
from .common import (
    bridge_conf,
    container_result,
    container_veth,
    fails,
    hl_conf,
    ok,
    portmap_conf,
    spec_error,
)
from .common import tuning_conf as tuning

PLUGINS = ("bridge", "host-local", "tuning", "portmap", "loopback", "firewall")


@dataclass(frozen=True)
class Target:
    """How to call one plugin successfully: its config, prevResult and fixtures."""

    name: str
    conf: dict
    prev: Any = None
    needs: tuple[str, ...] = ()
    parses_cni_args: bool = True
    setup: tuple[Step, ...] = field(default_factory=tuple)
    add_deviations: tuple[Deviation, ...] = ()  # known departures of its successful ADD


TARGETS = {
    "bridge": Target("bridge", bridge_conf(), needs=("host-local",)),
    "host-local": Target("host-local", hl_conf()),
    "tuning": Target("tuning", tuning(), prev=container_result(), setup=container_veth()),
    "portmap": Target("portmap", portmap_conf([]), prev=container_result(), parses_cni_args=False),
    "loopback": Target(
        "loopback",
        {"name": "{net}", "type": "loopback"},
        parses_cni_args=False,
        add_deviations=(Deviation("loopback-label", Expect(output="any")),),
    ),
    # backend named: the protocol cases never ask a system bus for firewalld
    "firewall": Target(
        "firewall",
        {"name": "{net}", "type": "firewall", "backend": "iptables"},
        prev=container_result(),
        parses_cni_args=False,
    ),
}


def _with(conf: dict, **changes) -> dict:
    out = dict(conf)
    out.update(changes)
    return out


def behaviours(t: Target) -> list[tuple[str, str, tuple[str, ...], tuple[Step, ...], dict]]:
    """(behaviour id, title, spec refs, steps, scenario options) for one plugin."""
    conf, prev = t.conf, t.prev
    ok_add = Invoke("ADD", conf, prev=prev, label="add", deviations=t.add_deviations)
    env_missing = "required env variables [{}] missing"
    out: list[tuple[str, str, tuple[str, ...], tuple[Step, ...], dict]] = []

    def scen(bid, title, refs, *steps, **opts):
        out.append((bid, title, tuple(refs), tuple(steps), opts))

    # --- environment -----------------------------------------------------------------------------
    scen(
        "env.no-command-about",
        "no CNI_COMMAND: the about text and supported versions on stderr, exit 0 (or code 4)",
        ["P-20", "1.3"],
        Invoke(
            "ADD",
            conf,
            unset=("CNI_COMMAND",),
            expect=Expect(ok=True, output="empty", result=(Stderr("CNI protocol versions supported"),)),
            # a plugin without an about text reports the missing variable instead
            alternatives=(fails(4, env_missing.format("CNI_COMMAND")),),
        ),
    )
    for var, verb in (
        ("CNI_CONTAINERID", "ADD"),
        ("CNI_NETNS", "ADD"),
        ("CNI_IFNAME", "ADD"),
        ("CNI_PATH", "ADD"),
        ("CNI_CONTAINERID", "DEL"),
        ("CNI_IFNAME", "DEL"),
        ("CNI_NETNS", "CHECK"),
    ):
        # the spec makes CNI_PATH optional; Go's skeleton (and drop-ins) require it
        optional = (ok(),) if var == "CNI_PATH" else ()
        scen(
            f"env.{verb.lower()}-missing-{var[4:].lower()}",
            f"{verb} without {var}: code 4 naming the variable"
            + (" (Go's skeleton; success is allowed too)" if optional else ""),
            ["P-12", "1.2", "1.3"],
            *(t.setup if optional else ()),
            Invoke(
                verb,
                conf,
                prev=prev,
                unset=(var,),
                expect=fails(4, env_missing.format(var)),
                alternatives=optional,
            ),
        )
    scen(
        "env.add-all-missing",
        "ADD with only CNI_COMMAND: code 4 listing every missing variable in Go's order",
        ["P-20", "1.3"],
        Invoke(
            "ADD",
            conf,
            unset=("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH", "CNI_ARGS"),
            expect=fails(4, env_missing.format("CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH")),
        ),
    )
    scen(
        "env.empty-is-missing",
        "an empty CNI_IFNAME counts as missing",
        ["1.2"],
        Invoke("ADD", conf, ifname="", expect=fails(4, env_missing.format("CNI_IFNAME"))),
    )
    scen(
        "env.bad-container-id",
        "a container id with invalid characters: code 4",
        ["L-90", "P-26"],
        Invoke("ADD", conf, cid="bad/id!", expect=fails(4, "invalid characters in containerID")),
    )
    scen(
        "env.bad-container-id-del",
        "DEL validates the container id too",
        ["L-90"],
        Invoke("DEL", conf, cid="-starts-with-dash", expect=fails(4, "invalid characters in containerID")),
    )
    for bid, ifname, msg in (
        ("ifname-too-long", "eth0123456789abc", "interface name is too long"),
        ("ifname-dot", ".", "interface name is . or .."),
        ("ifname-dotdot", "..", "interface name is . or .."),
        ("ifname-slash", "eth/0", "interface name contains / or : or whitespace characters"),
        ("ifname-colon", "eth:0", "interface name contains / or : or whitespace characters"),
        ("ifname-space", "eth 0", "interface name contains / or : or whitespace characters"),
    ):
        scen(
            f"env.{bid}",
            f"CNI_IFNAME {ifname!r} is rejected with code 4",
            ["L-92", "P-26"],
            Invoke("ADD", conf, ifname=ifname, expect=fails(4, msg)),
        )
    # --- verbs ------------------------------------------------------------------------------------
    scen(
        "verb.unknown",
        "an unknown CNI_COMMAND with a valid config: code 4",
        ["P-21"],
        Invoke("FOO", conf, expect=fails(4, "unknown CNI_COMMAND: FOO")),
    )
    scen(
        "verb.lowercase",
        "verbs are case-sensitive: 'add' is unknown",
        ["P-21"],
        Invoke("add", conf, expect=fails(4, "unknown CNI_COMMAND: add")),
    )
    scen(
        "verb.unknown-bad-stdin",
        "an unknown verb with undecodable stdin reports the decoding error (code 6) first",
        ["P-21", "1.3"],
        Invoke("FOO", stdin="{not json", expect=fails(6)),
    )
    # --- stdin ------------------------------------------------------------------------------------
    scen(
        "stdin.not-json",
        "undecodable stdin: code 6",
        ["P-22", "1.5"],
        Invoke("ADD", stdin="{not json", expect=fails(6, "error unmarshall network config")),
    )
    scen(
        "stdin.empty",
        "empty stdin on ADD: code 6",
        ["P-22"],
        Invoke("ADD", stdin="", expect=fails(6)),
    )
    scen(
        "stdin.array",
        "stdin that is JSON but not an object: code 6",
        ["P-22"],
        Invoke("ADD", stdin='["cniVersion"]', expect=fails(6)),
    )
    scen(
        "stdin.no-name",
        "a config without a name: code 7",
        ["P-22", "C-03"],
        Invoke("ADD", stdin='{"cniVersion":"1.0.0"}', expect=fails(7, "missing network name")),
    )
    scen(
        "stdin.empty-name",
        'a config with name "": code 7',
        ["P-22"],
        Invoke("ADD", _with(conf, name=""), prev=prev, expect=fails(7, "missing network name")),
    )
    scen(
        "stdin.bad-name",
        "a network name with a space: code 7",
        ["L-91"],
        Invoke(
            "ADD",
            _with(conf, name="my net"),
            prev=prev,
            expect=fails(7, "invalid characters found in network name"),
        ),
    )
    scen(
        "stdin.name-leading-dash",
        "a network name must start with an alphanumeric",
        ["L-91"],
        Invoke(
            "ADD",
            _with(conf, name="-net"),
            prev=prev,
            expect=fails(7, "invalid characters found in network name"),
        ),
    )
    scen(
        "stdin.del-bad-json",
        "DEL with undecodable stdin: code 6",
        ["P-22"],
        Invoke("DEL", stdin="{", expect=fails(6)),
    )
    # --- versions ---------------------------------------------------------------------------------
    scen(
        "version.partial-string",
        'cniVersion "1.0" is not "1.0.0": code 1 (exact match)',
        ["P-23"],
        Invoke("ADD", _with(conf, cniVersion="1.0"), prev=prev, expect=fails(1, "incompatible CNI versions")),
    )
    scen(
        "version.unknown-future",
        "a cniVersion the plugin does not list: code 1",
        ["P-23"],
        Invoke(
            "ADD", _with(conf, cniVersion="99.0.0"), prev=prev, expect=fails(1, "incompatible CNI versions")
        ),
    )
    scen(
        "version.not-a-string",
        "a numeric cniVersion cannot be decoded: code 6",
        ["P-25", "1.5"],
        Invoke("ADD", _with(conf, cniVersion=1), prev=prev, expect=fails(6)),
    )
    scen(
        "version.check-0.3.1",
        "CHECK with a 0.3.1 config: code 1 (CHECK exists since 0.4.0)",
        ["P-24", "2.3"],
        Invoke(
            "CHECK", _with(conf, cniVersion="0.3.1"), expect=fails(1, "config version does not allow CHECK")
        ),
    )
    scen(
        "version.check-absent",
        "CHECK without cniVersion (means 0.1.0): code 1",
        ["P-23", "P-24"],
        Invoke("CHECK", _with(conf, cniVersion=OMIT), expect=fails(1, "config version does not allow CHECK")),
    )
    scen(
        "version.reply",
        "VERSION answers cniVersion and supportedVersions on stdout",
        ["V-30", "V-31"],
        Invoke("VERSION", stdin='{"cniVersion":"1.0.0"}', expect=ok()),
    )
    scen(
        "version.ignores-stdin",
        "VERSION succeeds whatever stdin holds",
        ["V-32"],
        Invoke("VERSION", stdin="this is not json", expect=ok()),
    )
    scen(
        "version.only-command",
        "VERSION needs no variable but CNI_COMMAND",
        ["1.2"],
        Invoke(
            "VERSION",
            stdin="{}",
            unset=("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH", "CNI_ARGS"),
            expect=ok(),
        ),
    )
    scen(
        "version.gc-needs-1.1",
        "GC with a 1.0.0 config: code 1",
        ["P-25", "2.5"],
        Invoke("GC", _with(conf, cniVersion="1.0.0"), expect=fails(1, "config version does not allow GC")),
        claims="1.1.0",
    )
    scen(
        "version.status-needs-1.1",
        "STATUS with a 1.0.0 config: code 1",
        ["P-25", "2.6"],
        Invoke(
            "STATUS", _with(conf, cniVersion="1.0.0"), expect=fails(1, "config version does not allow STATUS")
        ),
        claims="1.1.0",
    )
    # --- GC / STATUS basics -----------------------------------------------------------------------
    scen(
        "gc.empty-succeeds",
        "GC with an empty valid-attachments list succeeds without output",
        ["V-40", "V-44"],
        Invoke("GC", _with(conf, **{"cni.dev/valid-attachments": []}), expect=ok()),
        versions=("1.1.0",),
    )
    scen(
        "gc.needs-path",
        "GC without CNI_PATH: code 4",
        ["1.2"],
        Invoke("GC", conf, unset=("CNI_PATH",), expect=fails(4, env_missing.format("CNI_PATH"))),
        versions=("1.1.0",),
    )
    scen(
        "status.available",
        "STATUS of a usable plugin: exit 0, no output",
        ["V-50"],
        Invoke("STATUS", conf, expect=ok()),
        versions=("1.1.0",),
    )
    # --- DEL / CHECK rules ------------------------------------------------------------------------
    scen(
        "del.unknown-container",
        "DEL of an attachment that was never added succeeds without output",
        ["V-12", "V-13", "V-14"],
        Invoke("DEL", conf, expect=ok()),
    )
    scen(
        "del.no-netns",
        "DEL without CNI_NETNS succeeds (CNI_NETNS is optional for DEL)",
        ["V-12", "1.2"],
        Invoke("DEL", conf, unset=("CNI_NETNS",), expect=ok()),
    )
    scen(
        "del.twice",
        "ADD then DEL twice: both DELs succeed",
        ["V-13"],
        *t.setup,
        ok_add,
        Invoke("DEL", conf, prev="add", label="del1", expect=ok()),
        Invoke("DEL", conf, prev="add", label="del2", expect=ok()),
    )
    scen(
        "add.result-version",
        "ADD prints a result of the config's cniVersion",
        ["V-03"],
        *t.setup,
        ok_add,
        versions=("0.3.1", "0.4.0", "1.0.0", "1.1.0"),
    )
    scen(
        "check.after-add",
        "CHECK right after ADD succeeds without output",
        ["V-23", "V-25"],
        *t.setup,
        ok_add,
        Invoke("CHECK", conf, prev="add", expect=ok()),
        versions=("0.4.0", "1.0.0", "1.1.0"),
    )
    # --- config tolerance -------------------------------------------------------------------------
    scen(
        "conf.unknown-keys",
        "unknown config keys are ignored",
        ["C-14", "0.2"],
        *t.setup,
        Invoke("ADD", _with(conf, someVendorKey={"x": 1}, anotherKey="y"), prev=prev, expect=ok()),
    )
    scen(
        "conf.capabilities-tolerated",
        "a 'capabilities' key reaching the plugin is tolerated",
        ["C-23"],
        *t.setup,
        Invoke("ADD", _with(conf, capabilities={"portMappings": True, "mac": True}), prev=prev, expect=ok()),
    )
    scen(
        "conf.unrelated-runtime-config",
        "runtimeConfig entries for capabilities the plugin does not use are ignored",
        ["C-21"],
        *t.setup,
        Invoke(
            "ADD", _with(conf, runtimeConfig={"bandwidth": {"ingressRate": 1000}}), prev=prev, expect=ok()
        ),
    )
    scen(
        "conf.args-labels",
        "args.cni.labels metadata is ignored",
        ["C-30"],
        *t.setup,
        Invoke(
            "ADD",
            _with(conf, args={"cni": {"labels": [{"key": "app", "value": "db"}]}}),
            prev=prev,
            expect=ok(),
        ),
    )
    # --- netns safety -----------------------------------------------------------------------------
    scen(
        "netns.same-as-plugin",
        "CNI_NETNS naming the plugin's own netns: code 8",
        ["P-27"],
        *t.setup,
        Invoke("DEL", conf, prev=prev, netns="{host_netns}", expect=fails(8, "should not be the same")),
        claims="1.1.0",
    )
    # --- CNI_ARGS ---------------------------------------------------------------------------------
    scen(
        "cniargs.ignore-unknown",
        "CNI_ARGS with IgnoreUnknown=1 and runtime keys succeeds",
        ["C-40", "C-41"],
        *t.setup,
        Invoke(
            "ADD",
            conf,
            prev=prev,
            args="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod;K8S_POD_INFRA_CONTAINER_ID={cid}",
            expect=ok(),
        ),
    )
    scen(
        "cniargs.ignore-unknown-true",
        "IgnoreUnknown accepts 'true' in any case",
        ["C-41"],
        *t.setup,
        Invoke("ADD", conf, prev=prev, args="IgnoreUnknown=TRUE;FOO=bar", expect=ok()),
    )
    if not t.parses_cni_args:
        return out  # portmap reads no CNI_ARGS, so it has nothing to reject
    scen(
        "cniargs.unknown-key",
        "an unknown CNI_ARGS key without IgnoreUnknown is an error naming it",
        ["C-41", "0.3"],
        *t.setup,
        Invoke("ADD", conf, prev=prev, args="FOO=bar", **spec_error(4, "FOO=bar")),
    )
    scen(
        "cniargs.bad-pair",
        "a CNI_ARGS pair without '=' is an error",
        ["C-41"],
        *t.setup,
        Invoke("ADD", conf, prev=prev, args="IgnoreUnknown=1;novalue", **spec_error(4, "novalue")),
    )
    return out


def scenarios() -> list[Scenario]:
    out = []
    for name in PLUGINS:
        target = TARGETS[name]
        for bid, title, refs, steps, opts in behaviours(target):
            out.append(
                Scenario(
                    id=f"protocol.{name}.{bid}",
                    plugin=name,
                    title=title,
                    steps=steps,
                    needs=target.needs,
                    refs=refs,
                    **opts,
                )
            )
    out.append(
        Scenario(
            id="protocol.host-local.netns.override",
            plugin="host-local",
            title="CNI_NETNS_OVERRIDE=1 lets a plugin run with CNI_NETNS = its own netns",
            steps=(
                Invoke(
                    "ADD", hl_conf(), netns="{host_netns}", env=(("CNI_NETNS_OVERRIDE", "1"),), expect=ok()
                ),
            ),
            refs=("P-27",),
            claims="1.1.0",
        )
    )
    out.append(
        Scenario(
            id="protocol.host-local.netns.same-add",
            plugin="host-local",
            title="ADD with CNI_NETNS = the plugin's own netns: code 8",
            steps=(Invoke("ADD", hl_conf(), netns="{host_netns}", expect=fails(8)),),
            refs=("P-27",),
            claims="1.1.0",
        )
    )
    return out
