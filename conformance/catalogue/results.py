"""Result shapes of every spec version (cni-spec.md section 4) as real plugins print them."""

from __future__ import annotations

from ..checks import Field, IPsOnInterfaces, MacsMatchKernel, SameAsPrev
from ..model import OMIT, Invoke, Scenario, WriteFile
from .common import (
    GW,
    GW6,
    IP1,
    IP6_1,
    SUBNET,
    SUBNET6,
    bridge_conf,
    container_result,
    container_veth,
    fails,
    hl_conf,
    ipam,
    ok,
    portmap_conf,
    tuning_conf,
)

V020 = ("0.1.0", "0.2.0")
V040 = ("0.3.0", "0.3.1", "0.4.0")
V100 = ("1.0.0", "1.1.0")
DUAL = {"ranges": [[{"subnet": SUBNET}], [{"subnet": SUBNET6}]]}
ROUTES = {"subnet": SUBNET, "routes": [{"dst": "0.0.0.0/0"}, {"dst": "192.168.0.0/16", "gw": "10.10.0.254"}]}


def scenarios() -> list[Scenario]:
    s = []

    def scen(sid, plugin, title, steps, versions, refs, **kw):
        s.append(
            Scenario(
                id=f"results.{sid}",
                plugin=plugin,
                title=title,
                steps=tuple(steps),
                versions=versions,
                refs=refs,
                **kw,
            )
        )

    # --- host-local (an IPAM result: no interfaces, no interface index) --------------------------
    scen(
        "host-local.v020",
        "host-local",
        "0.1.0/0.2.0 result: an ip4 object with ip and gateway",
        [
            Invoke(
                "ADD",
                hl_conf(),
                expect=ok(
                    Field("ip4.ip", eq=f"{IP1}/24"), Field("ip4.gateway", eq=GW), Field("ips", absent=True)
                ),
            )
        ],
        V020,
        ("R-01", "4.1"),
    )
    scen(
        "host-local.v040",
        "host-local",
        '0.3.x/0.4.0 result: ips entries carry "version"',
        [
            Invoke(
                "ADD",
                hl_conf(),
                expect=ok(
                    Field("ips.0.version", eq="4"),
                    Field("ips.0.address", eq=f"{IP1}/24"),
                    Field("ips.0.gateway", eq=GW),
                    Field("ips.0.interface", absent=True),
                    Field("interfaces", absent=True),
                ),
            )
        ],
        V040,
        ("R-10", "R-11", "V-62"),
    )
    scen(
        "host-local.v100",
        "host-local",
        '1.x result: ips entries without "version", no interface index from IPAM',
        [
            Invoke(
                "ADD",
                hl_conf(),
                expect=ok(
                    Field("ips.0.version", absent=True),
                    Field("ips.0.address", eq=f"{IP1}/24"),
                    Field("ips.0.gateway", eq=GW),
                    Field("ips.0.interface", absent=True),
                ),
            )
        ],
        V100,
        ("R-20", "R-21", "V-62"),
    )
    scen(
        "host-local.dual-v020",
        "host-local",
        "0.2.0 result with one IPv4 and one IPv6 range: ip4 and ip6 objects",
        [
            Invoke(
                "ADD",
                hl_conf(**DUAL),
                expect=ok(
                    Field("ip4.ip", eq=f"{IP1}/24"),
                    Field("ip6.ip", eq=f"{IP6_1}/64"),
                    Field("ip6.gateway", eq=GW6),
                ),
            )
        ],
        V020,
        ("R-01", "R-44"),
        requires=("ipv6",),
    )
    scen(
        "host-local.dual-v040",
        "host-local",
        "0.4.0 result with IPv4 and IPv6: versions 4 and 6, in range-set order",
        [
            Invoke(
                "ADD",
                hl_conf(**DUAL),
                expect=ok(
                    Field("ips.0.version", eq="4"),
                    Field("ips.1.version", eq="6"),
                    Field("ips.1.address", eq=f"{IP6_1}/64"),
                ),
            )
        ],
        ("0.4.0",),
        ("R-11",),
        requires=("ipv6",),
    )
    scen(
        "host-local.routes-v020",
        "host-local",
        "0.2.0 result: routes live inside ip4",
        [
            Invoke(
                "ADD",
                hl_conf(**ROUTES),
                expect=ok(
                    Field("ip4.routes.0.dst", eq="0.0.0.0/0"),
                    Field("ip4.routes.1.gw", eq="10.10.0.254"),
                    Field("routes", absent=True),
                ),
            )
        ],
        ("0.2.0",),
        ("R-44",),
    )
    scen(
        "host-local.routes-v100",
        "host-local",
        "1.x result: top-level routes as configured, a route without gw has no gw",
        [
            Invoke(
                "ADD",
                hl_conf(**ROUTES),
                expect=ok(
                    Field("routes.0.dst", eq="0.0.0.0/0"),
                    Field("routes.0.gw", absent=True),
                    Field("routes.1.dst", eq="192.168.0.0/16"),
                    Field("routes.1.gw", eq="10.10.0.254"),
                ),
            )
        ],
        ("1.0.0",),
        ("R-12", "R-22"),
    )
    resolv = "{tmp}/resolv.conf"
    scen(
        "host-local.dns-v020",
        "host-local",
        "0.2.0 result carries dns from resolvConf",
        [
            WriteFile(resolv, "nameserver 192.0.2.53\nsearch example.com\n"),
            Invoke(
                "ADD",
                hl_conf(subnet=SUBNET, resolvConf=resolv),
                expect=ok(
                    Field("dns.nameservers", eq=["192.0.2.53"]), Field("dns.search", eq=["example.com"])
                ),
            ),
        ],
        ("0.2.0",),
        ("R-13", "4.1"),
    )
    scen(
        "host-local.two-v4-v020",
        "host-local",
        "two IPv4 range sets cannot be expressed in 0.2.0: ADD fails",
        [
            Invoke(
                "ADD",
                hl_conf(ranges=[[{"subnet": SUBNET}], [{"subnet": "10.11.0.0/24"}]]),
                expect=fails(msg="does not support more than 1 address per family"),
            )
        ],
        V020,
        ("R-44", "2.1"),
    )
    scen(
        "host-local.two-v4-v040",
        "host-local",
        "two IPv4 range sets from 0.3.0 on: two ips",
        [
            Invoke(
                "ADD",
                hl_conf(ranges=[[{"subnet": SUBNET}], [{"subnet": "10.11.0.0/24"}]]),
                expect=ok(Field("ips", length=2), Field("ips.1.address", eq="10.11.0.2/24")),
            )
        ],
        ("0.3.0", "1.0.0"),
        ("R-11",),
    )
    scen(
        "host-local.no-version",
        "host-local",
        "a config without cniVersion is 0.1.0: the result is 0.1.0-shaped",
        [Invoke("ADD", {**hl_conf(), "cniVersion": OMIT}, expect=ok(Field("ip4.ip", eq=f"{IP1}/24")))],
        ("0.1.0",),
        ("P-23", "R-01"),
    )
    # --- bridge (a full result: interfaces and the container IP's interface index) ----------------
    common = (MacsMatchKernel(), IPsOnInterfaces())
    scen(
        "bridge.v020",
        "bridge",
        "bridge 0.1.0/0.2.0 result: ip4 only, no interfaces",
        [
            Invoke(
                "ADD",
                bridge_conf(),
                expect=ok(Field("ip4.ip", eq=f"{IP1}/24"), Field("interfaces", absent=True)),
            )
        ],
        V020,
        ("4.1",),
        needs=("host-local",),
    )
    scen(
        "bridge.v040",
        "bridge",
        "bridge 0.3.x/0.4.0 result: bridge, host veth and sandbox interface; IP on interface 2",
        [
            Invoke(
                "ADD",
                bridge_conf(),
                expect=ok(
                    Field("interfaces", length=3),
                    Field("interfaces.0.name", eq="cnibr0"),
                    Field("interfaces.2.name", eq="eth0"),
                    Field("interfaces.2.sandbox", eq="{netns}"),
                    Field("interfaces.1.sandbox", absent=True),
                    Field("ips.0.interface", eq=2),
                    Field("ips.0.version", eq="4"),
                    *common,
                ),
            )
        ],
        V040,
        ("R-10", "R-11", "V-03"),
        needs=("host-local",),
    )
    scen(
        "bridge.v100",
        "bridge",
        "bridge 1.x result: three interfaces with MACs, IP on interface 2, no version key",
        [
            Invoke(
                "ADD",
                bridge_conf(),
                expect=ok(
                    Field("interfaces", length=3),
                    Field("interfaces.1.name", re=r"veth[0-9a-f]{8}"),
                    Field("interfaces.2.mac", re=r"[0-9a-f]{2}(:[0-9a-f]{2}){5}"),
                    Field("ips.0.interface", eq=2),
                    Field("ips.0.version", absent=True),
                    *common,
                ),
            )
        ],
        V100,
        ("R-20", "R-21"),
        needs=("host-local",),
    )
    scen(
        "bridge.l2-v020-fails",
        "bridge",
        "an L2 bridge (no IPAM) cannot answer 0.1.0/0.2.0: a result needs an IP there",
        [Invoke("ADD", bridge_conf(ipam_section={}), expect=fails(msg="no valid IP addresses"))],
        V020,
        ("R-45",),
    )
    scen(
        "bridge.l2-v040",
        "bridge",
        "an L2 bridge result from 0.3.0 on: interfaces, no ips",
        [
            Invoke(
                "ADD",
                bridge_conf(ipam_section={}),
                expect=ok(Field("interfaces", length=3), Field("ips", absent=True)),
            )
        ],
        ("0.3.0", "0.4.0", "1.0.0"),
        ("R-10",),
    )
    scen(
        "bridge.dual-v020",
        "bridge",
        "bridge with IPv4 and IPv6 at 0.2.0: ip4 and ip6",
        [
            Invoke(
                "ADD",
                bridge_conf(ipam(**DUAL)),
                expect=ok(Field("ip4.ip", eq=f"{IP1}/24"), Field("ip6.ip", eq=f"{IP6_1}/64")),
            )
        ],
        ("0.2.0",),
        ("R-44",),
        needs=("host-local",),
        requires=("ipv6",),
    )
    scen(
        "bridge.v6-twice-v020-fails",
        "bridge",
        "one IPv4 and two IPv6 ranges cannot be expressed in 0.2.0: ADD fails",
        [
            Invoke(
                "ADD",
                bridge_conf(
                    ipam(
                        ranges=[[{"subnet": SUBNET}], [{"subnet": SUBNET6}], [{"subnet": "2001:db8:11::/64"}]]
                    )
                ),
                expect=fails(msg="does not support more than 1 address per family"),
            )
        ],
        ("0.2.0",),
        ("R-44",),
        needs=("host-local",),
        requires=("ipv6",),
    )
    # --- chained plugins hand prevResult on in the config's version -------------------------------
    for fam, versions in (("v020", V020), ("v040", V040), ("v100", V100)):
        scen(
            f"tuning.passthrough-{fam}",
            "tuning",
            f"tuning prints prevResult unchanged ({', '.join(versions)})",
            [
                *container_veth(),
                Invoke(
                    "ADD",
                    tuning_conf(sysctl={"net.ipv4.conf.all.log_martians": "1"}),
                    prev=container_result(),
                    expect=ok(SameAsPrev()),
                ),
            ],
            versions,
            ("V-04",),
        )
        scen(
            f"portmap.passthrough-{fam}",
            "portmap",
            f"portmap without mappings prints prevResult unchanged ({', '.join(versions)})",
            [Invoke("ADD", portmap_conf([]), prev=container_result(), expect=ok(SameAsPrev()))],
            versions,
            ("V-04",),
        )
    scen(
        "tuning.passthrough-routes-dns",
        "tuning",
        "tuning keeps routes and dns of prevResult",
        [
            *container_veth(),
            Invoke(
                "ADD",
                tuning_conf(),
                prev=container_result(
                    routes=[{"dst": "0.0.0.0/0", "gw": GW}],
                    dns={"nameservers": ["192.0.2.53"], "search": ["example.com"]},
                ),
                expect=ok(SameAsPrev()),
            ),
        ],
        ("0.4.0", "1.0.0"),
        ("V-04",),
    )
    return s
