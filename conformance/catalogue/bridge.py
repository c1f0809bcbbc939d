"""bridge (plugins.md section 1): keys, ADD/DEL/CHECK, kernel state, firewall rules, traffic."""

from __future__ import annotations

from ..checks import (
    Addr,
    Addrs,
    Field,
    File,
    IPsOnInterfaces,
    IptChain,
    IptRule,
    Link,
    Links,
    MacsMatchKernel,
    NftChain,
    NftRule,
    Ping,
    Route,
    Sysctl,
    Tcp,
)
from ..model import Concurrent, DeleteNetns, Deviation, Expect, Invoke, Ref, Run, Scenario, Verify, WriteFile
from .common import (
    BRIDGE,
    GW,
    GW6,
    IP1,
    IP2,
    IP6_1,
    SUBNET,
    SUBNET6,
    bridge_conf,
    fails,
    host_to_container_link,
    ipam,
    ipam_subnet,
    ok,
    spec_error,
)

HOST_VETH = "{@add.interfaces.1.name}"
IPFILE = "{netdir}/" + IP1
MAC = "0e:11:22:33:44:55"
V6_IPAM = ipam_subnet(SUBNET6)
DUAL_IPAM = ipam(ranges=[[{"subnet": SUBNET}], [{"subnet": SUBNET6}]])
COMMENT = '--comment "name: \\"{net}\\" id: \\"{cid}\\""'
MASQ_NFT = ("inet", "cni_plugins_masquerade", "masq_checks")
SPOOF_CHAIN = "cni-br-iface-{cid}-eth0"


def masq_rules(present: bool = True, ip: str = IP1) -> tuple:
    return (
        IptRule("POSTROUTING", ("-s", f"{ip}/32", "-j {masq_chain}"), present=present),
        IptChain("{masq_chain}", present=present),
        *(
            (
                IptRule("{masq_chain}", ("-d 10.10.0.0/24", "-j ACCEPT", COMMENT)),
                IptRule("{masq_chain}", ("! -d 224.0.0.0/4", "-j MASQUERADE", COMMENT)),
            )
            if present
            else ()
        ),
    )


def scenarios() -> list[Scenario]:
    s: list[Scenario] = []

    def scen(sid, title, *steps, refs=(), needs=("host-local",), **kw):
        s.append(
            Scenario(
                id=f"bridge.{sid}",
                plugin="bridge",
                title=title,
                steps=tuple(steps),
                refs=tuple(refs),
                needs=needs,
                **kw,
            )
        )

    def add(conf=None, *checks, state=(), label="add", **kw):
        return Invoke("ADD", conf or bridge_conf(), label=label, expect=ok(*checks, state=state), **kw)

    def delete(conf=None, state=(), label="del", **kw):
        return Invoke("DEL", conf or bridge_conf(), label=label, expect=ok(state=state), **kw)

    def check(conf=None, label="check", prev="add", **kw):
        return Invoke("CHECK", conf or bridge_conf(), label=label, prev=prev, expect=ok(), **kw)

    def check_fails(conf=None, msg=None, prev="add", **kw):
        return Invoke("CHECK", conf or bridge_conf(), label="check", prev=prev, expect=fails(msg=msg), **kw)

    # --- ADD: links and addresses ----------------------------------------------------------------
    scen(
        "add.creates-bridge",
        "ADD creates the bridge, UP, and the host holds only the bridge and one veth",
        add(
            None, state=(Link("host", BRIDGE, kind="bridge", up=True), Links("host", ("lo", BRIDGE, "veth*")))
        ),
        refs=("1.2",),
    )
    scen(
        "add.veth-on-bridge",
        "the host end of the veth is UP and enslaved to the bridge",
        add(None, state=(Link("host", HOST_VETH, kind="veth", master=BRIDGE, up=True),)),
        refs=("1.2",),
    )
    scen(
        "add.container-interface",
        "the container gets CNI_IFNAME as a veth, UP, with the IPAM address and its subnet route",
        add(
            None,
            state=(
                Link("c1", "eth0", kind="veth", up=True),
                Addr("c1", "eth0", f"{IP1}/24"),
                Route("c1", SUBNET, dev="eth0"),
                Links("c1", ("lo", "eth0")),
            ),
        ),
        refs=("V-01", "1.2", "1.5"),
    )
    scen(
        "add.custom-ifname",
        "CNI_IFNAME names the container interface",
        add(
            None,
            Field("interfaces.2.name", eq="net1"),
            ifname="net1",
            state=(Link("c1", "net1", up=True), Addr("c1", "net1", f"{IP1}/24")),
        ),
        refs=("1.2",),
    )
    scen(
        "add.result-matches-kernel",
        "result MACs and addresses are what the kernel holds",
        add(bridge_conf(isGateway=True), MacsMatchKernel(), IPsOnInterfaces()),
        refs=("V-03", "1.2"),
    )
    scen(
        "add.no-gateway-by-default",
        "without isGateway the bridge gets no address and the container no default route",
        add(None, state=(Addrs("host", BRIDGE, ()), Route("c1", "default", present=False))),
        refs=("1.1",),
    )
    scen(
        "add.is-gateway",
        "isGateway puts the gateway address on the bridge and enables IPv4 forwarding",
        add(
            bridge_conf(isGateway=True),
            state=(
                Addrs("host", BRIDGE, (f"{GW}/24",)),
                Sysctl("host", "net.ipv4.ip_forward", "1"),
                Route("c1", "default", present=False),
            ),
        ),
        refs=("1.1", "1.2", "1.3"),
    )
    scen(
        "add.is-default-gateway",
        "isDefaultGateway adds a default route via the gateway, in the kernel and in the result",
        add(
            bridge_conf(isDefaultGateway=True),
            Field("routes.0.dst", eq="0.0.0.0/0"),
            Field("routes.0.gw", eq=GW),
            state=(Route("c1", "default", gw=GW, dev="eth0"), Addr("host", BRIDGE, f"{GW}/24")),
        ),
        refs=("1.1", "1.3"),
    )
    scen(
        "add.ipv6",
        "IPv6 only: the address in the container, the gateway on the bridge, v6 forwarding on",
        add(
            bridge_conf(V6_IPAM, isDefaultGateway=True),
            Field("ips.0.address", eq=f"{IP6_1}/64"),
            state=(
                Addr("c1", "eth0", f"{IP6_1}/64"),
                Addr("host", BRIDGE, f"{GW6}/64"),
                Route("c1", "default", gw=GW6, family=6),
                Sysctl("host", "net.ipv6.conf.all.forwarding", "1"),
                Addrs("c1", "eth0", (), family=4),
            ),
        ),
        requires=("ipv6",),
        refs=("1.2", "1.3"),
    )
    scen(
        "add.dual-stack",
        "IPv4 and IPv6 together: both addresses and both default routes",
        add(
            bridge_conf(DUAL_IPAM, isDefaultGateway=True),
            Field("ips", length=2),
            state=(
                Addr("c1", "eth0", f"{IP1}/24"),
                Addr("c1", "eth0", f"{IP6_1}/64"),
                Route("c1", "default", gw=GW),
                Route("c1", "default", gw=GW6, family=6),
            ),
        ),
        requires=("ipv6",),
        refs=("1.2",),
    )
    scen(
        "add.ipam-routes",
        "IPAM routes are installed in the container; a route without gw uses the gateway",
        add(
            bridge_conf(
                ipam_subnet(routes=[{"dst": "10.99.0.0/16", "gw": "10.10.0.254"}, {"dst": "10.98.0.0/16"}]),
                isGateway=True,
            ),
            state=(Route("c1", "10.99.0.0/16", gw="10.10.0.254"), Route("c1", "10.98.0.0/16", gw=GW)),
        ),
        refs=("1.5",),
    )
    scen(
        "add.mtu",
        "mtu applies to a new bridge and to both veth ends",
        add(
            bridge_conf(mtu=1400),
            state=(
                Link("host", BRIDGE, mtu=1400),
                Link("host", HOST_VETH, mtu=1400),
                Link("c1", "eth0", mtu=1400),
            ),
        ),
        refs=("1.1",),
    )
    scen(
        "add.existing-bridge",
        "an existing bridge is used as it is, and set UP",
        Run("host", ("ip", "link", "add", BRIDGE, "type", "bridge")),
        add(None, state=(Link("host", BRIDGE, up=True), Link("host", HOST_VETH, master=BRIDGE))),
        refs=("1.2",),
    )
    scen(
        "add.existing-not-bridge",
        "a non-bridge link with the bridge's name: error",
        Run("host", ("ip", "link", "add", BRIDGE, "type", "veth", "peer", "name", "other0")),
        Invoke("ADD", bridge_conf(), expect=fails(msg="already exists but is not a bridge")),
        refs=("1.2",),
    )
    scen(
        "add.bridge-name-key",
        "the bridge key names the bridge",
        add(
            bridge_conf(bridge="mybr7"),
            Field("interfaces.0.name", eq="mybr7"),
            state=(Link("host", "mybr7", kind="bridge"),),
        ),
        refs=("1.1",),
    )
    scen(
        "add.default-bridge-name",
        "without a bridge key the bridge is cni0",
        add(
            {"name": "{net}", "type": "bridge", "ipam": ipam_subnet()},
            state=(Link("host", "cni0", kind="bridge"),),
        ),
        refs=("1.1",),
    )
    scen(
        "add.keys-case-insensitive",
        "config keys match case-insensitively (Go encoding/json): 'Bridge' names the bridge",
        add(
            {"name": "{net}", "type": "bridge", "Bridge": "cnicase0", "ipam": ipam_subnet()},
            state=(Link("host", "cnicase0", kind="bridge"),),
        ),
        refs=("0.2",),
    )
    scen(
        "add.bridge-name-too-long",
        "a bridge name longer than 15 bytes: error",
        Invoke("ADD", bridge_conf(bridge="averyverylongbridge0"), expect=fails()),
        refs=("1.1",),
    )
    scen(
        "add.string-bool",
        'a bool key given as a string ("isGateway": "true"): undecodable config',
        Invoke("ADD", bridge_conf(isGateway="true"), **spec_error(6, "isGateway")),
        refs=("0.2",),
    )
    # --- ADD: port flags and sysctls --------------------------------------------------------------
    scen(
        "add.hairpin",
        "hairpinMode sets hairpin on the bridge port",
        add(bridge_conf(hairpinMode=True), state=(Link("host", HOST_VETH, hairpin=True),)),
        refs=("1.1",),
    )
    scen(
        "add.hairpin-off",
        "without hairpinMode the port has hairpin off",
        add(None, state=(Link("host", HOST_VETH, hairpin=False),)),
        refs=("1.1",),
    )
    scen(
        "add.promisc",
        "promiscMode turns promiscuous mode on for the bridge",
        add(bridge_conf(promiscMode=True), state=(Link("host", BRIDGE, promisc=True),)),
        refs=("1.1",),
    )
    scen(
        "add.promisc-and-hairpin",
        "hairpinMode and promiscMode together: error",
        Invoke(
            "ADD",
            bridge_conf(promiscMode=True, hairpinMode=True),
            expect=fails(msg="cannot set hairpin mode and promiscuous mode at the same time"),
        ),
        refs=("1.1",),
    )
    scen(
        "add.arp-notify",
        "the container interface gets arp_notify=1",
        add(None, state=(Sysctl("c1", "net/ipv4/conf/eth0/arp_notify", "1"),)),
        refs=("1.2",),
    )
    scen(
        "add.accept-ra-off",
        "router advertisements are ignored on the bridge and the host veth",
        add(
            None,
            state=(
                Sysctl("host", f"net/ipv6/conf/{BRIDGE}/accept_ra", "0"),
                Sysctl("host", f"net/ipv6/conf/{HOST_VETH}/accept_ra", "0"),
            ),
        ),
        requires=("ipv6",),
        refs=("1.2",),
    )
    scen(
        "add.dad-off",
        "without enabledad the container interface does no DAD (accept_dad=0)",
        add(bridge_conf(V6_IPAM), state=(Sysctl("c1", "net/ipv6/conf/eth0/accept_dad", "0"),)),
        requires=("ipv6",),
        refs=("1.1", "1.2"),
    )
    scen(
        "add.dad-on",
        "enabledad turns on enhanced DAD on the container interface",
        add(
            bridge_conf(V6_IPAM, enabledad=True),
            state=(
                Sysctl("c1", "net/ipv6/conf/eth0/enhanced_dad", "1"),
                Sysctl("c1", "net/ipv6/conf/eth0/accept_dad", "1"),
            ),
        ),
        requires=("ipv6",),
        refs=("1.1",),
    )
    # --- ADD: MAC selection -----------------------------------------------------------------------
    scen(
        "mac.cni-args",
        "CNI_ARGS MAC sets the container MAC (IgnoreUnknown=1: the same CNI_ARGS reach host-local)",
        add(
            None,
            Field("interfaces.2.mac", eq=MAC),
            args=f"IgnoreUnknown=1;MAC={MAC}",
            state=(Link("c1", "eth0", mac=MAC),),
        ),
        refs=("1.1",),
    )
    scen(
        "mac.args",
        "args.cni.mac sets the container MAC",
        add(
            {**bridge_conf(), "args": {"cni": {"mac": MAC}}},
            Field("interfaces.2.mac", eq=MAC),
            state=(Link("c1", "eth0", mac=MAC),),
        ),
        refs=("1.1",),
    )
    scen(
        "mac.runtime-config",
        "runtimeConfig.mac (capability mac) sets the container MAC",
        add(
            {**bridge_conf(), "runtimeConfig": {"mac": MAC}},
            Field("interfaces.2.mac", eq=MAC),
            state=(Link("c1", "eth0", mac=MAC),),
        ),
        refs=("1.1", "3.5"),
    )
    scen(
        "mac.precedence",
        "runtimeConfig.mac wins over args.cni.mac, which wins over CNI_ARGS MAC",
        add(
            {**bridge_conf(), "runtimeConfig": {"mac": MAC}, "args": {"cni": {"mac": "0e:00:00:00:00:02"}}},
            args="IgnoreUnknown=1;MAC=0e:00:00:00:00:03",
            state=(Link("c1", "eth0", mac=MAC),),
        ),
        refs=("1.1",),
    )
    scen(
        "mac.invalid",
        "an invalid MAC: error",
        Invoke("ADD", {**bridge_conf(), "runtimeConfig": {"mac": "not-a-mac"}}, expect=fails()),
        refs=("1.1",),
    )
    # --- bridge address handling ------------------------------------------------------------------
    scen(
        "gateway.conflict",
        "isGateway with a different IPv4 address already on the bridge: error",
        Run("host", ("ip", "link", "add", BRIDGE, "type", "bridge")),
        Run("host", ("ip", "addr", "add", "10.99.0.1/24", "dev", BRIDGE)),
        Invoke(
            "ADD", bridge_conf(isGateway=True), expect=fails(msg="already has an IP address different from")
        ),
        refs=("1.3",),
    )
    scen(
        "gateway.force-address",
        "forceAddress replaces a conflicting IPv4 address on the bridge",
        Run("host", ("ip", "link", "add", BRIDGE, "type", "bridge")),
        Run("host", ("ip", "addr", "add", "10.99.0.1/24", "dev", BRIDGE)),
        add(bridge_conf(isGateway=True, forceAddress=True), state=(Addrs("host", BRIDGE, (f"{GW}/24",)),)),
        refs=("1.3",),
    )
    scen(
        "gateway.v6-accumulate",
        "non-overlapping IPv6 gateway addresses accumulate on the bridge",
        Run("host", ("ip", "link", "add", BRIDGE, "type", "bridge")),
        Run("host", ("ip", "addr", "add", "2001:db8:99::1/64", "dev", BRIDGE, "nodad")),
        add(
            bridge_conf(V6_IPAM, isGateway=True),
            state=(Addr("host", BRIDGE, "2001:db8:99::1/64"), Addr("host", BRIDGE, f"{GW6}/64")),
        ),
        requires=("ipv6",),
        refs=("1.3",),
    )
    scen(
        "gateway.shared",
        "a second container on the same network reuses the bridge address",
        add(bridge_conf(isGateway=True)),
        add(
            bridge_conf(isGateway=True),
            container=2,
            label="add2",
            state=(Addrs("host", BRIDGE, (f"{GW}/24",)), Addr("c2", "eth0", f"{IP2}/24")),
        ),
        containers=2,
        refs=("1.3",),
    )
    scen(
        "gateway.stable-mac",
        "the bridge MAC stays the same while ports come and go",
        add(bridge_conf(isGateway=True)),
        add(bridge_conf(isGateway=True), container=2, label="add2"),
        delete(bridge_conf(isGateway=True)),
        Verify((Link("host", BRIDGE, mac=Ref("add", "interfaces.0.mac")),)),
        containers=2,
        refs=("1.3", "7"),
    )
    scen(
        "gateway.default-implies-gateway",
        "isDefaultGateway alone also makes the bridge the gateway",
        add(
            bridge_conf(isDefaultGateway=True),
            state=(Addr("host", BRIDGE, f"{GW}/24"), Sysctl("host", "net.ipv4.ip_forward", "1")),
        ),
        refs=("1.1",),
    )
    # --- traffic ----------------------------------------------------------------------------------
    scen(
        "traffic.container-to-container",
        "two containers on the bridge reach each other",
        add(None),
        add(None, container=2, label="add2", state=(Ping("c1", IP2), Ping("c2", IP1))),
        containers=2,
        refs=("1.2",),
    )
    scen(
        "traffic.container-to-gateway",
        "a container reaches the bridge gateway, and the host reaches the container",
        add(bridge_conf(isGateway=True), state=(Ping("c1", GW), Ping("host", IP1))),
        refs=("1.3",),
    )
    scen(
        "traffic.ipv6",
        "two IPv6 containers reach each other",
        add(bridge_conf(V6_IPAM)),
        add(bridge_conf(V6_IPAM), container=2, label="add2", state=(Ping("c1", "2001:db8:10::3"),)),
        containers=2,
        requires=("ipv6",),
        refs=("1.2",),
    )
    outside = host_to_container_link(2, host_if="hveth0", host_ip="10.50.0.1/24", ip="10.50.0.2/24", gw=None)
    scen(
        "traffic.ipmasq",
        "with ipMasq a container reaches a network that has no route back to it (masqueraded)",
        *outside,
        add(
            bridge_conf(isDefaultGateway=True, ipMasq=True), state=(Tcp("c1", "10.50.0.2", 8081, "c2", 8081),)
        ),
        containers=2,
        requires=("iptables",),
        refs=("1.6",),
    )
    scen(
        "traffic.no-ipmasq",
        "without ipMasq the same connection fails (the far side cannot answer)",
        *outside,
        add(bridge_conf(isDefaultGateway=True), state=(Tcp("c1", "10.50.0.2", 8081, "c2", 8081, ok=False),)),
        containers=2,
        refs=("1.6",),
    )
    # --- ipMasq rules -----------------------------------------------------------------------------
    scen(
        "ipmasq.rules",
        "ipMasq: a per-container chain (ACCEPT own subnet, MASQUERADE the rest) jumped to from POSTROUTING",
        add(bridge_conf(isGateway=True, ipMasq=True), state=masq_rules()),
        requires=("iptables",),
        refs=("1.6",),
    )
    scen(
        "ipmasq.ipv6",
        "ipMasq for an IPv6 container uses ip6tables and excludes ff00::/8",
        add(
            bridge_conf(V6_IPAM, isGateway=True, ipMasq=True),
            state=(
                IptRule("POSTROUTING", ("-s", f"{IP6_1}/128", "-j {masq_chain}"), family=6),
                IptRule("{masq_chain}", ("! -d ff00::/8", "-j MASQUERADE"), family=6),
            ),
        ),
        requires=("ipv6", "ip6tables"),
        refs=("1.6",),
    )
    scen(
        "ipmasq.del",
        "DEL removes the masquerade chain and its POSTROUTING jump",
        add(bridge_conf(isGateway=True, ipMasq=True), state=masq_rules()),
        delete(bridge_conf(isGateway=True, ipMasq=True), state=masq_rules(False)),
        requires=("iptables",),
        refs=("1.6", "1.8"),
    )
    scen(
        "ipmasq.del-without-netns",
        "DEL without CNI_NETNS still removes the masquerade rules (the address is in prevResult)",
        add(bridge_conf(isGateway=True, ipMasq=True), state=masq_rules()),
        Invoke(
            "DEL",
            bridge_conf(isGateway=True, ipMasq=True),
            prev="add",
            unset=("CNI_NETNS",),
            expect=ok(state=(*masq_rules(False), File(IPFILE, present=False))),
            deviations=(Deviation("go-810", ok(state=(*masq_rules(True), File(IPFILE, present=False)))),),
        ),
        requires=("iptables",),
        refs=("V-12", "1.8", "7 (#810)"),
    )
    scen(
        "ipmasq.nftables",
        "ipMasqBackend nftables: one commented rule per container IP in inet cni_plugins_masquerade",
        add(
            bridge_conf(isGateway=True, ipMasq=True, ipMasqBackend="nftables"),
            state=(
                NftRule(
                    *MASQ_NFT, has=(f"ip saddr {IP1}", "ip daddr != 10.10.0.0/24", "masquerade", "id: {cid}")
                ),
                IptChain("{masq_chain}", present=False),
            ),
        ),
        delete(
            bridge_conf(isGateway=True, ipMasq=True, ipMasqBackend="nftables"),
            state=(NftRule(*MASQ_NFT, has=(f"ip saddr {IP1}",), present=False),),
        ),
        claims="1.1.0",
        requires=("nft",),
        refs=("1.1", "1.6"),
    )
    scen(
        "ipmasq.backend-invalid",
        "an unknown ipMasqBackend: error",
        Invoke("ADD", bridge_conf(ipMasq=True, ipMasqBackend="pf"), expect=fails(msg="pf")),
        claims="1.1.0",
        refs=("1.1",),
    )
    # --- macspoofchk ------------------------------------------------------------------------------
    scen(
        "macspoofchk.rules",
        "macspoofchk: the container's frames are accepted only with its own MAC (bridge nat table)",
        add(
            bridge_conf(macspoofchk=True),
            state=(
                NftRule("bridge", "nat", "PREROUTING", has=(f'iifname "{HOST_VETH}"', f"jump {SPOOF_CHAIN}")),
                NftRule("bridge", "nat", SPOOF_CHAIN, has=(f"jump {SPOOF_CHAIN}-mac",)),
                NftRule(
                    "bridge", "nat", f"{SPOOF_CHAIN}-mac", has=("ether saddr {@add.interfaces.2.mac} return",)
                ),
                NftRule("bridge", "nat", f"{SPOOF_CHAIN}-mac", has=("drop",)),
            ),
        ),
        requires=("nft",),
        refs=("1.7",),
    )
    scen(
        "macspoofchk.del",
        "DEL removes the macspoofchk chains",
        add(bridge_conf(macspoofchk=True)),
        delete(
            bridge_conf(macspoofchk=True),
            state=(
                NftChain("bridge", "nat", SPOOF_CHAIN, present=False),
                NftChain("bridge", "nat", f"{SPOOF_CHAIN}-mac", present=False),
            ),
        ),
        requires=("nft",),
        refs=("1.7", "1.8"),
    )
    scen(
        "macspoofchk.traffic",
        "with macspoofchk a container still reaches its neighbour",
        add(bridge_conf(macspoofchk=True)),
        add(bridge_conf(macspoofchk=True), container=2, label="add2", state=(Ping("c1", IP2),)),
        containers=2,
        requires=("nft",),
        refs=("1.7",),
    )
    # --- L2 mode ----------------------------------------------------------------------------------
    scen(
        "l2.add",
        "an empty ipam makes an L2 bridge: no IPs, container interface UP without addresses",
        add(
            bridge_conf({}),
            Field("ips", absent=True),
            state=(Link("c1", "eth0", up=True), Addrs("c1", "eth0", ())),
        ),
        needs=(),
        refs=("1.1", "1.2"),
    )
    scen(
        "l2.traffic",
        "two L2 containers given addresses by hand reach each other",
        add(bridge_conf({})),
        add(bridge_conf({}), container=2, label="add2"),
        Run("c1", ("ip", "addr", "add", "192.168.77.1/24", "dev", "eth0")),
        Run("c2", ("ip", "addr", "add", "192.168.77.2/24", "dev", "eth0")),
        Verify((Ping("c1", "192.168.77.2"),)),
        containers=2,
        needs=(),
        refs=("1.2",),
    )
    scen(
        "l2.check",
        "CHECK of an L2 attachment succeeds",
        add(bridge_conf({})),
        Invoke(
            "CHECK",
            bridge_conf({}),
            prev="add",
            expect=ok(),
            deviations=(Deviation("go-l2-check", fails(msg="no plugin name provided")),),
        ),
        versions=("0.4.0", "1.0.0"),
        needs=(),
        refs=("V-20", "1.9"),
    )
    scen(
        "l2.del",
        "DEL of an L2 attachment removes the veth",
        add(bridge_conf({})),
        delete(bridge_conf({}), state=(Link("c1", "eth0", present=False), Links("host", ("lo", BRIDGE)))),
        needs=(),
        refs=("1.8",),
    )
    # --- CHECK ------------------------------------------------------------------------------------
    v040 = ("0.4.0", "1.0.0", "1.1.0")
    scen(
        "check.ok",
        "CHECK after ADD succeeds",
        add(None),
        check(),
        versions=v040,
        refs=("V-20", "V-23", "1.9"),
    )
    scen(
        "check.ok-gateway",
        "CHECK after ADD with a default gateway succeeds",
        add(bridge_conf(isDefaultGateway=True)),
        check(bridge_conf(isDefaultGateway=True)),
        versions=v040,
        refs=("1.9",),
    )
    scen(
        "check.ok-ipv6",
        "CHECK after an IPv6 ADD succeeds",
        add(bridge_conf(V6_IPAM, isDefaultGateway=True)),
        check(bridge_conf(V6_IPAM, isDefaultGateway=True)),
        requires=("ipv6",),
        refs=("1.9",),
    )
    scen(
        "check.address-removed",
        "CHECK fails when the container address is gone",
        add(None),
        Run("c1", ("ip", "addr", "del", f"{IP1}/24", "dev", "eth0")),
        check_fails(),
        refs=("V-22", "1.9"),
    )
    scen(
        "check.interface-removed",
        "CHECK fails when the container interface is gone",
        add(None),
        Run("c1", ("ip", "link", "del", "eth0")),
        check_fails(),
        refs=("V-22", "1.9"),
    )
    scen(
        "check.port-removed",
        "CHECK fails when the host veth left the bridge",
        add(None),
        Run("host", ("ip", "link", "set", HOST_VETH, "nomaster")),
        check_fails(),
        refs=("V-22", "1.9"),
    )
    scen(
        "check.route-removed",
        "CHECK fails when the default route of the result is gone",
        add(bridge_conf(isDefaultGateway=True)),
        Run("c1", ("ip", "route", "del", "default")),
        check_fails(bridge_conf(isDefaultGateway=True)),
        refs=("V-22", "1.9"),
    )
    scen(
        "check.no-prev-result",
        "CHECK without prevResult fails",
        add(None),
        check_fails(prev=None),
        refs=("V-20", "1.9"),
    )
    scen(
        "check.other-netns",
        "CHECK with another CNI_NETNS than the result's sandbox fails",
        add(None),
        check_fails(netns="{netns2}"),
        containers=2,
        refs=("P-10", "1.9"),
    )
    scen(
        "check.promisc-mismatch",
        "CHECK fails when the bridge promiscuous state differs from promiscMode",
        add(bridge_conf(promiscMode=True)),
        check_fails(bridge_conf(promiscMode=False)),
        refs=("1.9",),
    )
    scen(
        "check.mac-changed",
        "CHECK fails when the container MAC no longer matches the result",
        add(None),
        Run("c1", ("ip", "link", "set", "eth0", "address", "0e:99:99:99:99:99")),
        check_fails(),
        refs=("1.9",),
    )
    scen(
        "check.ipam-released",
        "CHECK fails when the IPAM reservation is gone (delegated CHECK)",
        add(None),
        Run("host", ("rm", "-f", IPFILE)),
        check_fails(),
        refs=("V-24", "1.9"),
    )
    # --- DEL --------------------------------------------------------------------------------------
    scen(
        "del.removes",
        "DEL removes the container interface and host veth, releases the address, keeps the bridge",
        add(None),
        delete(
            state=(
                Link("c1", "eth0", present=False),
                Links("host", ("lo", BRIDGE)),
                File(IPFILE, present=False),
            )
        ),
        refs=("V-10", "1.8"),
    )
    scen(
        "del.with-prev-result",
        "DEL with the ADD result as prevResult behaves the same",
        add(None),
        delete(prev="add", state=(Link("c1", "eth0", present=False), File(IPFILE, present=False))),
        refs=("V-11",),
    )
    scen(
        "del.keeps-gateway",
        "DEL leaves the bridge and its gateway address in place",
        add(bridge_conf(isGateway=True)),
        delete(
            bridge_conf(isGateway=True),
            state=(Link("host", BRIDGE, kind="bridge"), Addr("host", BRIDGE, f"{GW}/24")),
        ),
        refs=("1.8",),
    )
    scen(
        "del.netns-gone",
        "DEL after the container netns is gone succeeds and releases the address",
        add(None),
        DeleteNetns("c1"),
        delete(state=(File(IPFILE, present=False),)),
        refs=("V-12", "1.8"),
    )
    scen(
        "del.no-netns",
        "DEL without CNI_NETNS releases the address",
        add(None),
        delete(unset=("CNI_NETNS",), state=(File(IPFILE, present=False),)),
        refs=("V-12", "1.8"),
    )
    scen(
        "del.interface-gone",
        "DEL when the container interface is already gone succeeds and releases the address",
        add(None),
        Run("c1", ("ip", "link", "del", "eth0")),
        delete(state=(File(IPFILE, present=False),)),
        refs=("V-12",),
    )
    scen(
        "del.twice",
        "a second DEL succeeds",
        add(None),
        delete(),
        delete(label="del2", state=(Links("host", ("lo", BRIDGE)),)),
        refs=("V-13",),
    )
    scen(
        "del.readd",
        "ADD, DEL, ADD again works for the same container",
        add(None),
        delete(),
        add(None, label="add2", state=(Link("c1", "eth0", up=True),)),
        refs=("V-72",),
    )
    # --- failures and rollback --------------------------------------------------------------------
    scen(
        "fail.interface-exists",
        "ADD when CNI_IFNAME already exists in the container fails and leaves it alone",
        Run("c1", ("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")),
        Invoke(
            "ADD", bridge_conf(), expect=fails(state=(Link("c1", "eth0", kind="veth"), Link("c1", "peer0")))
        ),
        refs=("V-02",),
    )
    scen(
        "fail.add-twice",
        "a second ADD for the same attachment fails and the first keeps its address",
        add(None),
        Invoke("ADD", bridge_conf(), label="again", expect=fails(state=(Addr("c1", "eth0", f"{IP1}/24"),))),
        refs=("V-02", "V-05"),
    )
    scen(
        "fail.ipam-exhausted",
        "an IPAM error is returned by ADD",
        add(bridge_conf(ipam_subnet(rangeStart="10.10.0.10", rangeEnd="10.10.0.10"))),
        Invoke(
            "ADD",
            bridge_conf(ipam_subnet(rangeStart="10.10.0.10", rangeEnd="10.10.0.10")),
            container=2,
            expect=fails(msg="no IP addresses available"),
        ),
        containers=2,
        refs=("V-06", "V-63"),
    )
    scen(
        "fail.ipam-error-passthrough",
        "an IPAM config error reaches the runtime through the bridge",
        Invoke("ADD", bridge_conf(ipam_subnet("10.10.0.1/24")), expect=fails(msg="10.10.0.0")),
        refs=("0.4", "V-63"),
    )
    scen(
        "fail.ipam-missing",
        "an IPAM type not found in CNI_PATH: error",
        Invoke(
            "ADD", bridge_conf(ipam(type="no-such-ipam", subnet=SUBNET)), expect=fails(msg="no-such-ipam")
        ),
        needs=(),
        refs=("0.4", "L-11"),
    )
    scen(
        "fail.release-after-ipam",
        "a failure after IPAM (a route that cannot be added) releases the address",
        Invoke(
            "ADD",
            bridge_conf(ipam_subnet(routes=[{"dst": "10.99.0.0/16", "gw": "10.77.0.1"}])),
            expect=fails(state=(File(IPFILE, present=False),)),
        ),
        refs=("V-06", "1.2"),
    )
    scen(
        "fail.bad-netns",
        "ADD with a CNI_NETNS that does not exist: error, nothing allocated",
        Invoke(
            "ADD",
            bridge_conf(),
            netns="/run/netns/does-not-exist",
            expect=fails(state=(File(IPFILE, present=False),)),
        ),
        refs=("1.2",),
    )
    # --- concurrency ------------------------------------------------------------------------------
    scen(
        "concurrent.adds",
        "three containers added at once share one bridge",
        Concurrent(
            tuple(
                Invoke("ADD", bridge_conf(isGateway=True), container=n, label=f"add{n}", expect=ok())
                for n in (1, 2, 3)
            ),
            state=(
                Links("host", ("lo", BRIDGE, "veth*", "veth*", "veth*")),
                Addrs("host", BRIDGE, (f"{GW}/24",)),
            ),
        ),
        containers=3,
        refs=("V-71",),
    )
    # --- DNS --------------------------------------------------------------------------------------
    scen(
        "dns.config",
        "config dns is reported in the result",
        add(
            bridge_conf(
                dns={"nameservers": ["192.0.2.53"], "domain": "example.org", "search": ["example.org"]}
            ),
            Field("dns.nameservers", eq=["192.0.2.53"]),
            Field("dns.domain", eq="example.org"),
        ),
        refs=("1.2", "C-13"),
    )
    scen(
        "dns.from-ipam",
        "without config dns the result carries IPAM's dns",
        WriteFile("{tmp}/resolv.conf", "nameserver 192.0.2.54\n"),
        add(
            bridge_conf(ipam_subnet(resolvConf="{tmp}/resolv.conf")),
            Field("dns.nameservers", eq=["192.0.2.54"]),
        ),
        claims="1.1.0",
        refs=("1.2",),
    )
    # --- VLAN (needs bridge VLAN filtering in the kernel) -----------------------------------------
    scen(
        "vlan.access",
        "vlan makes the port an access port of that VLAN on a filtering bridge",
        add(bridge_conf({}, vlan=100), state=(Link("host", BRIDGE, vlan_filtering=True),)),
        needs=(),
        requires=("vlan",),
        refs=("1.4",),
    )
    scen(
        "vlan.trunk",
        "vlanTrunk turns on VLAN filtering on a new bridge",
        add(
            bridge_conf({}, vlanTrunk=[{"id": 101}, {"minID": 200, "maxID": 210}]),
            state=(Link("host", BRIDGE, vlan_filtering=True),),
        ),
        needs=(),
        claims="1.1.0",
        requires=("vlan",),
        refs=("1.4",),
    )
    scen(
        "vlan.out-of-range",
        "vlan 5000 is rejected",
        Invoke("ADD", bridge_conf({}, vlan=5000), **spec_error(7, "5000")),
        needs=(),
        refs=("1.1",),
    )
    scen(
        "vlan.negative",
        "a negative vlan is rejected",
        Invoke("ADD", bridge_conf({}, vlan=-100), **spec_error(7, "-100")),
        needs=(),
        refs=("1.1",),
    )
    trunk_errors = [
        ("min-missing", [{"maxID": 10}], "minID is missing"),
        ("max-missing", [{"minID": 10}], "maxID is missing"),
        ("min-zero", [{"minID": 0, "maxID": 10}], "incorrect trunk minID parameter"),
        ("max-too-big", [{"minID": 1, "maxID": 5000}], "incorrect trunk maxID parameter"),
        ("min-too-big", [{"minID": 4095, "maxID": 4096}], "incorrect trunk minID parameter"),
        ("id-zero", [{"id": 0}], "incorrect trunk id parameter"),
        ("id-too-big", [{"id": 4095}], "incorrect trunk id parameter"),
        ("min-over-max", [{"minID": 20, "maxID": 10}], "minID is greater than maxID in trunk parameter"),
    ]
    for sid, trunk, msg in trunk_errors:
        scen(
            f"vlan.trunk-{sid}",
            f"vlanTrunk {trunk}: rejected",
            Invoke("ADD", bridge_conf({}, vlanTrunk=trunk), **spec_error(7, msg)),
            needs=(),
            claims="1.1.0",
            refs=("1.1",),
        )
    # --- keys of newer plugin releases ------------------------------------------------------------
    scen(
        "port-isolation",
        "portIsolation sets the isolated flag on the bridge port",
        add(bridge_conf(portIsolation=True), state=(Link("host", HOST_VETH, isolated=True),)),
        claims="1.1.0",
        refs=("1.1",),
    )
    scen(
        "port-isolation-off",
        "without portIsolation the port is not isolated",
        add(None, state=(Link("host", HOST_VETH, isolated=False),)),
        refs=("1.1",),
    )
    scen(
        "disable-container-interface",
        "disableContainerInterface leaves the container interface DOWN",
        add(bridge_conf({}, disableContainerInterface=True), state=(Link("c1", "eth0", up=False),)),
        needs=(),
        claims="1.1.0",
        refs=("1.1",),
    )
    scen(
        "disable-container-interface-ipam",
        "disableContainerInterface with IPAM: error",
        Invoke(
            "ADD", bridge_conf(disableContainerInterface=True), **spec_error(7, "DisableContainerInterface")
        ),
        claims="1.1.0",
        refs=("1.1",),
    )
    # --- STATUS (spec 1.1) ------------------------------------------------------------------------
    scen(
        "status.delegates",
        "STATUS delegates to IPAM: an exhausted host-local range makes the bridge report code 50",
        add(bridge_conf(ipam_subnet(rangeStart="10.10.0.10", rangeEnd="10.10.0.10"))),
        Invoke(
            "STATUS",
            bridge_conf(ipam_subnet(rangeStart="10.10.0.10", rangeEnd="10.10.0.10")),
            expect=fails(50),
            deviations=(Deviation("go-status", Expect(ok=True)),),
        ),
        versions=("1.1.0",),
        refs=("V-53",),
    )
    scen(
        "status.ipam-missing",
        "STATUS with an IPAM type missing from CNI_PATH fails",
        Invoke("STATUS", bridge_conf(ipam(type="no-such-ipam", subnet=SUBNET)), expect=fails()),
        versions=("1.1.0",),
        needs=(),
        refs=("V-53",),
    )
    scen(
        "status.l2",
        "STATUS of an L2 bridge (no IPAM) succeeds",
        Invoke("STATUS", bridge_conf({}), expect=ok()),
        versions=("1.1.0",),
        needs=(),
        refs=("V-50",),
    )
    return s
