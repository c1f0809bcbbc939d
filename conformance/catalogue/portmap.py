"""portmap (plugins.md section 4): iptables/nftables rules, DEL/CHECK, and real forwarded traffic."""

from __future__ import annotations

from ..checks import IptChain, IptRule, NftRule, SameAsPrev, Sysctl, Tcp
from ..model import Deviation, Invoke, Run, Scenario
from .common import (
    GW,
    IP1,
    IP6_1,
    container_result,
    fails,
    host_to_container_link,
    ok,
    portmap_conf,
    spec_error,
)

TCP80 = {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}
PREV = container_result()
PREV6 = container_result(ip=f"{IP6_1}/64", gw="2001:db8:10::1")
DNAT_ENTRY = 'dnat name: \\"{net}\\" id: \\"{cid}\\"'
LINK = host_to_container_link()
LINK6 = (
    Run(
        "host",
        ("ip", "link", "add", "hveth0", "type", "veth", "peer", "name", "eth0", "netns", "{netns_name}"),
    ),
    Run("host", ("ip", "addr", "add", "2001:db8:10::1/64", "dev", "hveth0", "nodad")),
    Run("host", ("ip", "link", "set", "hveth0", "up")),
    Run("c1", ("ip", "addr", "add", f"{IP6_1}/64", "dev", "eth0", "nodad")),
    Run("c1", ("ip", "link", "set", "eth0", "up")),
)


def dn_rules(host_port=8080, container=f"{IP1}:80", proto="tcp", present=True, family=4) -> tuple:
    return (
        IptChain("{dn_chain}", present=present, family=family),
        IptRule(
            "CNI-HOSTPORT-DNAT",
            (f"-p {proto}", f"--dports {host_port}", "-j {dn_chain}"),
            present=present,
            family=family,
        ),
        *(
            (
                IptRule(
                    "{dn_chain}",
                    (f"-p {proto}", f"--dport {host_port}", "-j DNAT", f"--to-destination {container}"),
                    family=family,
                ),
            )
            if present
            else ()
        ),
    )


def scenarios() -> list[Scenario]:
    s: list[Scenario] = []

    def scen(sid, title, *steps, refs=(), requires=("iptables",), **kw):
        s.append(
            Scenario(
                id=f"portmap.{sid}",
                plugin="portmap",
                title=title,
                steps=tuple(steps),
                refs=tuple(refs),
                requires=requires,
                **kw,
            )
        )

    def add(mappings=(TCP80,), *checks, state=(), prev=PREV, label="add", conf=None, **kw):
        conf = conf or portmap_conf(list(mappings))
        return Invoke("ADD", conf, prev=prev, label=label, expect=ok(*checks, state=state), **kw)

    def add_fails(conf, msg=None, prev=PREV, **kw):
        return Invoke("ADD", conf, prev=prev, expect=fails(msg=msg), **kw)

    def delete(conf=None, state=(), prev="add", **kw):
        return Invoke(
            "DEL", conf or portmap_conf([TCP80]), prev=prev, label="del", expect=ok(state=state), **kw
        )

    # --- iptables rules --------------------------------------------------------------------------
    scen(
        "add.result",
        "portmap prints prevResult unchanged",
        *LINK,
        add((TCP80,), SameAsPrev()),
        refs=("V-04", "4.2"),
    )
    scen(
        "add.dnat-chains",
        "tcp mapping: CNI-HOSTPORT-DNAT (from PREROUTING and OUTPUT, local addresses) jumps to a DN chain",
        *LINK,
        add(
            (TCP80,),
            state=(
                IptRule("PREROUTING", ("-m addrtype", "--dst-type LOCAL", "-j CNI-HOSTPORT-DNAT")),
                IptRule("OUTPUT", ("-m addrtype", "--dst-type LOCAL", "-j CNI-HOSTPORT-DNAT")),
                IptRule("CNI-HOSTPORT-DNAT", (f'--comment "{DNAT_ENTRY}"', "-j {dn_chain}")),
                *dn_rules(),
            ),
        ),
        refs=("4.3",),
    )
    scen(
        "add.snat-chains",
        "snat (default): masquerade mark chains and the hairpin/localhost rules in the DN chain",
        *LINK,
        add(
            (TCP80,),
            state=(
                IptRule("CNI-HOSTPORT-SETMARK", ("-j MARK", "--set-xmark 0x2000/0x2000")),
                IptRule("CNI-HOSTPORT-MASQ", ("--mark 0x2000/0x2000", "-j MASQUERADE")),
                IptRule("POSTROUTING", ("-j CNI-HOSTPORT-MASQ",)),
                IptRule("{dn_chain}", ("-s 10.10.0.0/24", "--dport 8080", "-j CNI-HOSTPORT-SETMARK")),
                IptRule("{dn_chain}", ("-s 127.0.0.1/32", "--dport 8080", "-j CNI-HOSTPORT-SETMARK")),
            ),
        ),
        refs=("4.3",),
    )
    scen(
        "add.route-localnet",
        "snat enables route_localnet on the host interface that routes to the container",
        *LINK,
        add((TCP80,), state=(Sysctl("host", "net/ipv4/conf/hveth0/route_localnet", "1"),)),
        refs=("4.2", "7 (#763)"),
    )
    scen(
        "add.snat-false",
        "snat false: DNAT only, no mark rules",
        *LINK,
        add(
            conf=portmap_conf([TCP80], snat=False),
            state=(*dn_rules(), IptRule("{dn_chain}", ("-j CNI-HOSTPORT-SETMARK",), present=False)),
        ),
        refs=("4.1", "4.3"),
    )
    scen(
        "add.mark-bit",
        "markMasqBit 5 marks with 0x20/0x20",
        *LINK,
        add(
            conf=portmap_conf([TCP80], markMasqBit=5),
            state=(IptRule("CNI-HOSTPORT-SETMARK", ("--set-xmark 0x20/0x20",)),),
        ),
        refs=("4.1", "4.3"),
    )
    scen(
        "add.external-mark-chain",
        "externalSetMarkChain: the DN chain jumps to that chain instead of CNI-HOSTPORT-SETMARK",
        *LINK,
        Run("host", ("iptables", "-w", "-t", "nat", "-N", "MY-SETMARK")),
        add(
            conf=portmap_conf([TCP80], externalSetMarkChain="MY-SETMARK"),
            state=(
                IptRule("{dn_chain}", ("--dport 8080", "-j MY-SETMARK")),
                IptRule("{dn_chain}", ("-j CNI-HOSTPORT-SETMARK",), present=False),
            ),
        ),
        refs=("4.1", "4.3"),
    )
    scen(
        "add.host-ip",
        "a mapping with hostIP matches that destination only",
        *LINK,
        add(
            ({**TCP80, "hostIP": GW},),
            state=(IptRule("{dn_chain}", ("-d 10.10.0.1/32", "--dport 8080", "-j DNAT")),),
        ),
        refs=("4.1", "4.3"),
    )
    scen(
        "add.host-ip-other-family",
        "a mapping whose hostIP is IPv6 is skipped for an IPv4 container",
        *LINK,
        add(
            (TCP80, {"hostPort": 9090, "containerPort": 90, "protocol": "tcp", "hostIP": "2001:db8::1"}),
            state=(*dn_rules(), IptRule("{dn_chain}", ("--dport 9090",), present=False)),
        ),
        refs=("4.2",),
    )
    scen(
        "add.udp",
        "a udp mapping",
        *LINK,
        add(
            ({"hostPort": 5353, "containerPort": 53, "protocol": "udp"},),
            state=dn_rules(5353, f"{IP1}:53", "udp"),
        ),
        requires=("iptables", "conntrack"),
        refs=("4.2", "4.3"),
    )
    scen(
        "add.protocols-grouped",
        "entry rules: one per protocol, host ports comma-joined",
        *LINK,
        add(
            (
                TCP80,
                {"hostPort": 8081, "containerPort": 81, "protocol": "tcp"},
                {"hostPort": 8080, "containerPort": 80, "protocol": "udp"},
            ),
            state=(
                IptRule("CNI-HOSTPORT-DNAT", ("-p tcp", "--dports 8080,8081", "-j {dn_chain}")),
                IptRule("CNI-HOSTPORT-DNAT", ("-p udp", "--dports 8080", "-j {dn_chain}")),
                IptRule("{dn_chain}", ("-p tcp", "--dport 8081", "--to-destination 10.10.0.2:81")),
            ),
        ),
        requires=("iptables", "conntrack"),
        refs=("4.3",),
    )
    scen(
        "add.conditions",
        "conditionsV4 are added to the entry rule",
        *LINK,
        add(
            conf=portmap_conf([TCP80], conditionsV4=["-s", "192.0.2.0/24"]),
            state=(IptRule("CNI-HOSTPORT-DNAT", ("-s 192.0.2.0/24", "-j {dn_chain}")),),
        ),
        refs=("4.1", "4.3"),
    )
    scen(
        "add.conditions-v6",
        "conditionsV6 are added to the IPv6 entry rule",
        *LINK6,
        add(
            conf=portmap_conf([TCP80], conditionsV6=["-s", "2001:db8:99::/64"]),
            prev=PREV6,
            state=(IptRule("CNI-HOSTPORT-DNAT", ("-s 2001:db8:99::/64", "-j {dn_chain}"), family=6),),
        ),
        requires=("ipv6", "ip6tables"),
        refs=("4.1", "4.3"),
    )
    scen(
        "add.masq-all",
        "masqAll: traffic from any source is marked for masquerade, no per-source rules",
        *LINK,
        add(
            conf=portmap_conf([TCP80], masqAll=True),
            state=(
                IptRule("{dn_chain}", ("--dport 8080", "-j CNI-HOSTPORT-SETMARK"), count=1),
                IptRule("{dn_chain}", ("-s 127.0.0.1/32",), present=False),
                IptRule("{dn_chain}", ("-s 10.10.0.0/24",), present=False),
            ),
        ),
        claims="1.1.0",
        refs=("4.1", "4.3"),
    )
    scen(
        "add.ipv6",
        "an IPv6 container: ip6tables rules with [addr]:port, no 127.0.0.1 rule",
        *LINK6,
        add(
            (TCP80,),
            prev=PREV6,
            state=(
                *dn_rules(container=f"[{IP6_1}]:80", family=6),
                IptRule("{dn_chain}", ("-s 127.0.0.1/32",), present=False, family=6),
            ),
        ),
        requires=("ipv6", "ip6tables"),
        refs=("4.2", "4.3"),
    )
    scen(
        "add.no-mappings",
        "without port mappings nothing is created",
        *LINK,
        add(
            (),
            SameAsPrev(),
            state=(IptChain("CNI-HOSTPORT-DNAT", present=False), IptChain("{dn_chain}", present=False)),
        ),
        refs=("4.2", "7 (#510)"),
    )
    scen(
        "add.twice-no-duplicates",
        "a repeated ADD does not duplicate rules",
        *LINK,
        add((TCP80,)),
        add(
            (TCP80,),
            label="add2",
            state=(
                IptRule("{dn_chain}", ("--dport 8080", "-j DNAT"), count=1),
                IptRule("CNI-HOSTPORT-DNAT", ("-j {dn_chain}",), count=1),
            ),
        ),
        refs=("4.3",),
    )
    # --- config errors ----------------------------------------------------------------------------
    scen(
        "fail.no-prev-result",
        "portmap is a chained plugin: ADD without prevResult fails",
        add_fails(portmap_conf([TCP80]), prev=None, msg="must be called as chained plugin"),
        refs=("4.2",),
    )
    scen(
        "fail.host-port-zero",
        "hostPort 0 is rejected",
        *LINK,
        Invoke(
            "ADD",
            portmap_conf([{**TCP80, "hostPort": 0}]),
            prev=PREV,
            **spec_error(7, "Invalid host port number: 0"),
        ),
        refs=("4.1",),
    )
    scen(
        "fail.container-port-zero",
        "containerPort 0 is rejected",
        *LINK,
        Invoke(
            "ADD",
            portmap_conf([{**TCP80, "containerPort": 0}]),
            prev=PREV,
            **spec_error(7, "Invalid container port number: 0"),
        ),
        refs=("4.1",),
    )
    scen(
        "fail.mark-bit-range",
        "markMasqBit outside 0..31 is rejected",
        *LINK,
        Invoke(
            "ADD",
            portmap_conf([TCP80], markMasqBit=32),
            prev=PREV,
            **spec_error(7, "MasqMarkBit must be between 0 and 31"),
        ),
        refs=("4.1",),
    )
    scen(
        "fail.mark-bit-and-external",
        "externalSetMarkChain together with markMasqBit is rejected",
        *LINK,
        Invoke(
            "ADD",
            portmap_conf([TCP80], markMasqBit=5, externalSetMarkChain="MY-SETMARK"),
            prev=PREV,
            **spec_error(7, "Cannot specify externalSetMarkChain and markMasqBit"),
        ),
        refs=("4.1",),
    )
    scen(
        "fail.wrong-type",
        "a hostPort given as a string: undecodable config",
        *LINK,
        Invoke("ADD", portmap_conf([{**TCP80, "hostPort": "8080"}]), prev=PREV, **spec_error(6, "hostPort")),
        refs=("0.2",),
    )
    # --- DEL --------------------------------------------------------------------------------------
    scen(
        "del.removes",
        "DEL removes the DN chain and its entry rule; the shared chains stay",
        *LINK,
        add((TCP80,), state=dn_rules()),
        delete(state=(*dn_rules(present=False), IptChain("CNI-HOSTPORT-DNAT"))),
        refs=("4.3",),
    )
    scen(
        "del.without-prev-result",
        "DEL needs no prevResult: the network name, container id and mappings are enough",
        *LINK,
        add((TCP80,)),
        delete(portmap_conf([TCP80]), prev=None, state=dn_rules(present=False)),
        refs=("4.3", "V-11"),
    )
    scen(
        "del.twice",
        "a second DEL succeeds",
        *LINK,
        add((TCP80,)),
        delete(),
        Invoke(
            "DEL", portmap_conf([TCP80]), prev="add", label="del2", expect=ok(state=dn_rules(present=False))
        ),
        refs=("V-13", "7 (#418)"),
    )
    scen(
        "del.only-own",
        "DEL removes only that container's rules",
        *LINK,
        add((TCP80,)),
        add(
            ({"hostPort": 9090, "containerPort": 90, "protocol": "tcp"},),
            container=2,
            label="add2",
            prev=container_result(netns="{netns2}"),
        ),
        delete(
            state=(
                *dn_rules(present=False),
                IptChain("{dn_chain2}"),
                IptRule("CNI-HOSTPORT-DNAT", ("--dports 9090", "-j {dn_chain2}")),
            )
        ),
        containers=2,
        refs=("4.3",),
    )
    # --- CHECK ------------------------------------------------------------------------------------
    scen(
        "check.ok",
        "CHECK after ADD succeeds",
        *LINK,
        add((TCP80,)),
        Invoke(
            "CHECK",
            portmap_conf([TCP80]),
            prev="add",
            expect=ok(),
            deviations=(Deviation("go-portmap-check", fails(msg="could not check ipv6 dnat")),),
        ),
        versions=("0.4.0", "1.0.0", "1.1.0"),
        refs=("4.3",),
    )
    scen(
        "check.chain-flushed",
        "CHECK fails when the DN chain lost its rules",
        *LINK,
        add((TCP80,)),
        Run("host", ("iptables", "-w", "-t", "nat", "-F", "{dn_chain}")),
        Invoke("CHECK", portmap_conf([TCP80]), prev="add", expect=fails()),
        refs=("4.3",),
    )
    scen(
        "check.after-del",
        "CHECK fails after DEL",
        *LINK,
        add((TCP80,)),
        delete(),
        Invoke("CHECK", portmap_conf([TCP80]), prev="add", expect=fails()),
        refs=("4.3",),
    )
    # --- traffic ----------------------------------------------------------------------------------
    scen(
        "traffic.host-ip",
        "a connection from the host to its own address and the host port reaches the container port",
        *LINK,
        add((TCP80,), state=(Tcp("host", GW, 8080, "c1", 80),)),
        refs=("4.5",),
    )
    scen(
        "traffic.localhost",
        "with snat, 127.0.0.1:hostPort on the host reaches the container",
        *LINK,
        add((TCP80,), state=(Tcp("host", "127.0.0.1", 8080, "c1", 80),)),
        refs=("4.2", "4.5", "7 (#763)"),
    )
    scen(
        "traffic.hairpin",
        "with snat, the container reaches itself through the host port",
        *LINK,
        Run("host", ("sysctl", "-qw", "net.ipv4.ip_forward=1")),
        add((TCP80,), state=(Tcp("c1", GW, 8080, "c1", 80),)),
        refs=("4.5",),
    )
    scen(
        "traffic.from-outside",
        "a client in another netns reaches the container through the host's address",
        *LINK,
        *host_to_container_link(
            2, host_if="hveth1", host_ip="10.20.0.1/24", ip="10.20.0.2/24", gw="10.20.0.1"
        ),
        Run("host", ("sysctl", "-qw", "net.ipv4.ip_forward=1")),
        add((TCP80,), state=(Tcp("c2", "10.20.0.1", 8080, "c1", 80),)),
        containers=2,
        refs=("4.5",),
    )
    scen(
        "traffic.host-ip-only",
        "a mapping bound to one host address is not reachable through another",
        *LINK,
        Run("host", ("ip", "addr", "add", "10.30.0.1/32", "dev", "lo")),
        add(
            ({**TCP80, "hostIP": GW},),
            state=(Tcp("host", GW, 8080, "c1", 80), Tcp("host", "10.30.0.1", 8080, "c1", 80, ok=False)),
        ),
        refs=("4.1", "4.3"),
    )
    scen(
        "traffic.after-del",
        "after DEL the host port no longer forwards",
        *LINK,
        add((TCP80,)),
        delete(state=(Tcp("host", GW, 8080, "c1", 80, ok=False),)),
        refs=("4.3",),
    )
    scen(
        "traffic.ipv6",
        "an IPv6 mapping forwards to the container",
        *LINK6,
        add((TCP80,), prev=PREV6, state=(Tcp("host", "2001:db8:10::1", 8080, "c1", 80),)),
        requires=("ipv6", "ip6tables"),
        refs=("4.2",),
    )
    # --- nftables backend (newer plugin releases) -------------------------------------------------
    nft = portmap_conf([TCP80], backend="nftables")
    scen(
        "nft.rules",
        "backend nftables: a dnat rule in ip cni_hostport hostports, commented with the container id",
        *LINK,
        add(
            conf=nft,
            state=(
                NftRule(
                    "ip", "cni_hostport", "hostports", has=("tcp dport 8080", f"dnat to {IP1}:80", '"{cid}"')
                ),
                IptChain("{dn_chain}", present=False),
            ),
        ),
        claims="1.1.0",
        requires=("nft",),
        refs=("4.4",),
    )
    scen(
        "nft.masquerade",
        "backend nftables with snat: masquerade rules for hairpin and localhost",
        *LINK,
        add(
            conf=nft,
            state=(
                NftRule(
                    "ip",
                    "cni_hostport",
                    "masquerading",
                    has=(f"ip saddr {IP1}", f"ip daddr {IP1}", "masquerade"),
                ),
                NftRule(
                    "ip",
                    "cni_hostport",
                    "masquerading",
                    has=("ip saddr 127.0.0.1", f"ip daddr {IP1}", "masquerade"),
                ),
            ),
        ),
        claims="1.1.0",
        requires=("nft",),
        refs=("4.4",),
    )
    scen(
        "nft.del",
        "backend nftables: DEL removes the container's rules",
        *LINK,
        add(conf=nft),
        delete(nft, state=(NftRule("ip", "cni_hostport", "hostports", has=('"{cid}"',), present=False),)),
        claims="1.1.0",
        requires=("nft",),
        refs=("4.4",),
    )
    scen(
        "nft.traffic",
        "backend nftables: the host port forwards",
        *LINK,
        add(conf=nft, state=(Tcp("host", GW, 8080, "c1", 80),)),
        claims="1.1.0",
        requires=("nft",),
        refs=("4.4",),
    )
    scen(
        "nft.iptables-options",
        "backend nftables with externalSetMarkChain: error",
        *LINK,
        Invoke(
            "ADD",
            portmap_conf([TCP80], backend="nftables", externalSetMarkChain="X"),
            prev=PREV,
            **spec_error(7, "externalSetMarkChain"),
        ),
        claims="1.1.0",
        refs=("4.1",),
    )
    scen(
        "nft.unknown-backend",
        "an unknown backend: error",
        *LINK,
        Invoke("ADD", portmap_conf([TCP80], backend="pf"), prev=PREV, **spec_error(7, "pf")),
        claims="1.1.0",
        refs=("4.1",),
    )
    return s
