"""host-local IPAM (plugins.md section 2): allocation, files on disk, DEL/CHECK, config errors."""

from __future__ import annotations

from ..checks import Dir, DistinctFiles, Field, File
from ..model import Concurrent, Deviation, Expect, Invoke, RemoveFile, Scenario, WriteFile
from .common import GW, IP1, IP2, SUBNET, SUBNET6, fails, hl_conf, ok, spec_error

NETDIR = "{netdir}"


def ipfile(ip: str, base: str = NETDIR) -> str:
    return f"{base}/{ip}"


def owner(cid: str = "{cid}", ifname: str = "eth0") -> str:
    return f"{cid}\r\n{ifname}"


def addr(ip: str, prefix: int = 24):
    return Field("ips.0.address", eq=f"{ip}/{prefix}")


def scenarios() -> list[Scenario]:
    s: list[Scenario] = []

    def scen(sid, title, *steps, refs=(), **kw):
        s.append(
            Scenario(
                id=f"host-local.{sid}",
                plugin="host-local",
                title=title,
                steps=tuple(steps),
                refs=tuple(refs),
                **kw,
            )
        )

    def add(conf=None, *checks, container=1, label="add", state=(), **kw):
        return Invoke(
            "ADD", conf or hl_conf(), container=container, label=label, expect=ok(*checks, state=state), **kw
        )

    def delete(conf=None, container=1, state=(), label="del", **kw):
        return Invoke(
            "DEL", conf or hl_conf(), container=container, label=label, expect=ok(state=state), **kw
        )

    mode_0600 = File(ipfile(IP1), mode=0o600)
    old_mode = Deviation("go-hl-mode", ok(state=(File(ipfile(IP1), mode=0o644),)))

    # --- allocation and the store ----------------------------------------------------------------
    scen(
        "add.first-address",
        "the first address is subnet+2 (network and default gateway .1 are skipped), gateway .1",
        add(None, addr(IP1), Field("ips.0.gateway", eq=GW)),
        refs=("2.3",),
    )
    scen(
        "store.ip-file",
        "one file per address under /var/lib/cni/networks/<name>, holding '<containerID>\\r\\n<ifname>'",
        add(None, state=(File(ipfile(IP1), content=owner()),)),
        refs=("2.2",),
    )
    scen(
        "store.ip-file-mode",
        "address files are private (mode 0600)",
        Invoke("ADD", hl_conf(), expect=ok(state=(mode_0600,)), deviations=(old_mode,)),
        refs=("2.2",),
    )
    scen(
        "store.last-reserved",
        "last_reserved_ip.<rangeset> holds the last address handed out",
        add(None, state=(File(f"{NETDIR}/last_reserved_ip.0", content=IP1),)),
        refs=("2.2",),
    )
    scen(
        "store.layout",
        "the network directory holds the lock, the address files and last_reserved_ip only",
        add(None, state=(Dir(NETDIR, exactly=("lock", IP1, "last_reserved_ip.0")),)),
        refs=("2.2",),
    )
    scen(
        "store.custom-datadir",
        "dataDir moves the store",
        add(
            hl_conf(subnet=SUBNET, dataDir="{tmp}/store"),
            state=(File("{tmp}/store/{net}/" + IP1, content=owner()), Dir(NETDIR, present=False)),
        ),
        refs=("2.1",),
    )
    scen(
        "store.ifname-in-file",
        "the file records the interface name of the attachment",
        add(None, ifname="net1", state=(File(ipfile(IP1), content=owner(ifname="net1")),)),
        refs=("2.2",),
    )
    scen(
        "add.second-container",
        "a second container gets the next address",
        add(None, addr(IP1)),
        add(None, addr(IP2), container=2, label="add2", state=(File(ipfile(IP2), content=owner("{cid2}")),)),
        containers=2,
        refs=("2.3",),
    )
    scen(
        "add.round-robin-after-release",
        "after a release the allocator continues after the last reserved address (round robin)",
        add(None, addr(IP1)),
        delete(),
        add(None, addr(IP2), container=2, label="add2"),
        containers=2,
        refs=("2.3",),
    )
    scen(
        "add.wraps-around",
        "at the end of the range the allocator wraps to rangeStart",
        add(hl_conf(subnet=SUBNET, rangeStart="10.10.0.10", rangeEnd="10.10.0.11"), addr("10.10.0.10")),
        add(
            hl_conf(subnet=SUBNET, rangeStart="10.10.0.10", rangeEnd="10.10.0.11"),
            addr("10.10.0.11"),
            container=2,
            label="add2",
        ),
        delete(hl_conf(subnet=SUBNET, rangeStart="10.10.0.10", rangeEnd="10.10.0.11")),
        add(
            hl_conf(subnet=SUBNET, rangeStart="10.10.0.10", rangeEnd="10.10.0.11"),
            addr("10.10.0.10"),
            container=3,
            label="add3",
        ),
        containers=3,
        refs=("2.3",),
    )
    scen(
        "add.exhausted",
        "no free address: an error naming the range set",
        add(hl_conf(subnet=SUBNET, rangeStart="10.10.0.10", rangeEnd="10.10.0.10"), addr("10.10.0.10")),
        Invoke(
            "ADD",
            hl_conf(subnet=SUBNET, rangeStart="10.10.0.10", rangeEnd="10.10.0.10"),
            container=2,
            expect=fails(msg="no IP addresses available in range set: 10.10.0.10-10.10.0.10"),
        ),
        containers=2,
        refs=("2.3",),
    )
    scen(
        "add.duplicate-id",
        "a second ADD for the same container and ifname is refused (no second address)",
        add(None, addr(IP1)),
        Invoke(
            "ADD",
            hl_conf(),
            label="again",
            expect=fails(
                msg="duplicate allocation is not allowed", state=(File(ipfile(IP2), present=False),)
            ),
        ),
        refs=("2.3", "V-05"),
    )
    scen(
        "add.same-id-other-ifname",
        "the same container may hold a second address for another ifname",
        add(None, addr(IP1)),
        add(
            None,
            addr(IP2),
            ifname="net1",
            label="add2",
            state=(File(ipfile(IP2), content=owner(ifname="net1")),),
        ),
        refs=("V-05", "V-74"),
    )
    scen(
        "add.range-start-end",
        "rangeStart/rangeEnd bound the allocation",
        add(hl_conf(subnet=SUBNET, rangeStart="10.10.0.100", rangeEnd="10.10.0.200"), addr("10.10.0.100")),
        refs=("2.1",),
    )
    scen(
        "add.custom-gateway",
        "a custom gateway is reported and .1 becomes allocatable",
        add(
            hl_conf(subnet=SUBNET, gateway="10.10.0.254"),
            addr("10.10.0.1"),
            Field("ips.0.gateway", eq="10.10.0.254"),
        ),
        refs=("2.1", "2.3"),
    )
    scen(
        "add.ranges-syntax",
        "the ranges syntax: a list of range sets, each a list of ranges",
        add(hl_conf(ranges=[[{"subnet": "10.10.0.0/24", "gateway": "10.10.0.1"}]]), addr(IP1)),
        refs=("2.1",),
    )
    scen(
        "add.rangeset-spans-subnets",
        "a range set of two subnets continues in the second when the first is full",
        add(
            hl_conf(ranges=[[{"subnet": "10.10.0.0/30"}, {"subnet": "10.20.0.0/24"}]]),
            Field("ips.0.address", eq="10.10.0.2/30"),
        ),
        add(
            hl_conf(ranges=[[{"subnet": "10.10.0.0/30"}, {"subnet": "10.20.0.0/24"}]]),
            Field("ips.0.address", eq="10.20.0.2/24"),
            container=2,
            label="add2",
        ),
        containers=2,
        refs=("2.3",),
    )
    scen(
        "add.legacy-and-ranges",
        "a legacy top-level subnet is allocated first, then each range set",
        add(
            hl_conf(subnet="10.30.0.0/24", ranges=[[{"subnet": SUBNET}]]),
            Field("ips", length=2),
            Field("ips.0.address", eq="10.30.0.2/24"),
            Field("ips.1.address", eq=f"{IP1}/24"),
        ),
        versions=("0.4.0", "1.0.0"),
        refs=("2.1",),
    )
    scen(
        "add.dual-stack",
        "an IPv4 and an IPv6 range set: one address each, last_reserved_ip per set",
        add(
            hl_conf(ranges=[[{"subnet": SUBNET}], [{"subnet": SUBNET6}]]),
            Field("ips.1.address", eq="2001:db8:10::2/64"),
            Field("ips.1.gateway", eq="2001:db8:10::1"),
            state=(
                File(f"{NETDIR}/2001:db8:10::2", content=owner()),
                File(f"{NETDIR}/last_reserved_ip.1", content="2001:db8:10::2"),
            ),
        ),
        requires=("ipv6",),
        refs=("2.2", "2.3"),
    )
    scen(
        "add.ipv6-file-name",
        "IPv6 file names use the compressed canonical form",
        add(
            hl_conf(subnet="2001:0db8:0020:0000::/64"),
            Field("ips.0.address", eq="2001:db8:20::2/64"),
            state=(File(f"{NETDIR}/2001:db8:20::2"),),
        ),
        requires=("ipv6",),
        refs=("2.2",),
    )
    scen(
        "add.runtime-ip-ranges",
        "runtimeConfig.ipRanges (capability ipRanges) comes before the configured ranges",
        add(
            {**hl_conf(subnet=SUBNET), "runtimeConfig": {"ipRanges": [[{"subnet": "10.40.0.0/24"}]]}},
            Field("ips.0.address", eq="10.40.0.2/24"),
            Field("ips.1.address", eq=f"{IP1}/24"),
        ),
        refs=("2.1", "3.5"),
    )
    scen(
        "add.routes",
        "configured routes are copied to the result",
        add(
            hl_conf(subnet=SUBNET, routes=[{"dst": "0.0.0.0/0"}, {"dst": "10.99.0.0/16", "gw": "10.10.0.9"}]),
            Field("routes.1.gw", eq="10.10.0.9"),
            Field("routes", length=2),
        ),
        refs=("2.1",),
    )
    resolv = "{tmp}/resolv.conf"
    scen(
        "add.resolv-conf",
        "resolvConf is parsed into dns: nameserver, domain, search, options; comments skipped",
        WriteFile(
            resolv,
            "# generated\nnameserver 192.0.2.1\nnameserver 192.0.2.2\ndomain example.org\n"
            "search a.example b.example\noptions ndots:2\n",
        ),
        add(
            hl_conf(subnet=SUBNET, resolvConf=resolv),
            Field("dns.nameservers", eq=["192.0.2.1", "192.0.2.2"]),
            Field("dns.domain", eq="example.org"),
            Field("dns.search", eq=["a.example", "b.example"]),
            Field("dns.options", eq=["ndots:2"]),
        ),
        refs=("2.3",),
    )
    scen(
        "add.resolv-conf-missing",
        "an unreadable resolvConf fails ADD and allocates nothing",
        Invoke(
            "ADD",
            hl_conf(subnet=SUBNET, resolvConf="{tmp}/nope.conf"),
            expect=fails(state=(File(ipfile(IP1), present=False),)),
        ),
        refs=("2.3",),
    )
    scen(
        "add.explicit-network-start",
        "an explicit rangeStart at the network address is allocatable (Go behaviour, #1295)",
        add(
            hl_conf(subnet=SUBNET, rangeStart="10.10.0.0", rangeEnd="10.10.0.5", gateway="10.10.0.254"),
            addr("10.10.0.0"),
        ),
        refs=("2.3",),
    )
    # --- requested addresses ----------------------------------------------------------------------
    scen(
        "request.cni-args-ip",
        "CNI_ARGS IP=<ip> requests that address",
        add(
            None,
            addr("10.10.0.50"),
            args="IP=10.10.0.50",
            state=(File(ipfile("10.10.0.50"), content=owner()),),
        ),
        refs=("2.1", "C-40"),
    )
    scen(
        "request.cni-args-ip-prefix",
        "CNI_ARGS IP=<ip>/<len>: the prefix is ignored",
        add(None, addr("10.10.0.51"), args="IP=10.10.0.51/24"),
        refs=("2.1",),
    )
    scen(
        "request.args-cni-ips",
        "args.cni.ips requests addresses (one per range set)",
        add(
            {
                **hl_conf(ranges=[[{"subnet": SUBNET}], [{"subnet": "10.11.0.0/24"}]]),
                "args": {"cni": {"ips": ["10.10.0.60", "10.11.0.60/24"]}},
            },
            addr("10.10.0.60"),
            Field("ips.1.address", eq="10.11.0.60/24"),
        ),
        refs=("C-31",),
    )
    scen(
        "request.runtime-config-ips",
        "runtimeConfig.ips (capability ips) requests an address",
        add({**hl_conf(), "runtimeConfig": {"ips": ["10.10.0.70/24"]}}, addr("10.10.0.70")),
        refs=("3.5",),
    )
    scen(
        "request.taken",
        "a requested address already in use: error",
        add(None, addr("10.10.0.50"), args="IP=10.10.0.50"),
        Invoke("ADD", hl_conf(), container=2, args="IP=10.10.0.50", expect=fails(msg="10.10.0.50")),
        containers=2,
        refs=("2.3",),
    )
    scen(
        "request.gateway",
        "requesting the gateway address: error",
        Invoke("ADD", hl_conf(), args="IP=10.10.0.1", expect=fails(msg="10.10.0.1")),
        refs=("2.3",),
    )
    scen(
        "request.outside",
        "a requested address outside every range: error, nothing kept",
        Invoke(
            "ADD",
            hl_conf(),
            args="IP=10.99.0.5",
            expect=fails(
                msg="10.99.0.5",
                state=(File(ipfile(IP1), present=False), File(ipfile("10.99.0.5"), present=False)),
            ),
        ),
        refs=("2.3",),
    )
    # --- DEL and CHECK ----------------------------------------------------------------------------
    scen(
        "del.releases",
        "DEL removes the address file; last_reserved_ip stays",
        add(None, addr(IP1)),
        delete(state=(File(ipfile(IP1), present=False), File(f"{NETDIR}/last_reserved_ip.0", content=IP1))),
        refs=("2.4", "V-10"),
    )
    scen(
        "del.only-own",
        "DEL releases only the addresses of that container and ifname",
        add(None, addr(IP1)),
        add(None, addr(IP2), container=2, label="add2"),
        delete(state=(File(ipfile(IP1), present=False), File(ipfile(IP2), content=owner("{cid2}")))),
        containers=2,
        refs=("2.4", "V-74"),
    )
    scen(
        "del.other-ifname-kept",
        "DEL of one ifname keeps the same container's other ifname",
        add(None, addr(IP1)),
        add(None, addr(IP2), ifname="net1", label="add2"),
        delete(state=(File(ipfile(IP1), present=False), File(ipfile(IP2)))),
        refs=("V-74",),
    )
    scen(
        "del.legacy-file",
        "DEL also releases a legacy file holding only the container id",
        WriteFile(ipfile("10.10.0.77"), "{cid}", mode=0o600),
        delete(state=(File(ipfile("10.10.0.77"), present=False),)),
        refs=("2.4",),
    )
    scen(
        "del.without-netns",
        "IPAM releases the address on DEL without CNI_NETNS",
        add(None, addr(IP1)),
        Invoke("DEL", hl_conf(), unset=("CNI_NETNS",), expect=ok(state=(File(ipfile(IP1), present=False),))),
        refs=("V-12",),
    )
    scen(
        "del.after-netns-gone",
        "IPAM releases the address after the container netns is gone",
        add(None, addr(IP1)),
        Invoke(
            "DEL",
            hl_conf(),
            netns="/run/netns/does-not-exist",
            expect=ok(state=(File(ipfile(IP1), present=False),)),
        ),
        refs=("V-12",),
    )
    scen(
        "del.bad-config",
        "DEL with an invalid IPAM config reports the error",
        Invoke("DEL", hl_conf(subnet="10.10.0.1/24"), **spec_error(7, "10.10.0.0")),
        refs=("2.4",),
    )
    scen(
        "check.ok",
        "CHECK finds the container's address",
        add(None, addr(IP1)),
        Invoke("CHECK", hl_conf(), prev="add", expect=ok()),
        versions=("0.4.0", "1.0.0", "1.1.0"),
        refs=("2.4", "V-20"),
    )
    scen(
        "check.released",
        "CHECK fails once the reservation is gone",
        add(None, addr(IP1)),
        RemoveFile(ipfile(IP1)),
        Invoke("CHECK", hl_conf(), prev="add", expect=fails(msg="{cid}")),
        versions=("0.4.0", "1.0.0"),
        refs=("2.4", "V-22"),
    )
    scen(
        "check.unknown",
        "CHECK of a container that has no reservation fails",
        Invoke("CHECK", hl_conf(), prev={"ips": [{"address": f"{IP1}/24"}]}, expect=fails()),
        refs=("2.4",),
    )
    # --- concurrency ------------------------------------------------------------------------------
    parallel = tuple(
        Invoke("ADD", hl_conf(), cid=f"{{cid}}-p{i}", label=f"p{i}", expect=ok()) for i in range(6)
    )
    scen(
        "lock.parallel-adds",
        "six concurrent ADDs get six different addresses (the store is locked)",
        Concurrent(parallel, state=(DistinctFiles(NETDIR, 6),)),
        refs=("V-71", "2.2"),
    )
    # --- config errors ----------------------------------------------------------------------------
    errors = [
        (
            "conf.no-ipam",
            "a config without ipam",
            {"name": "{net}", "type": "host-local"},
            "IPAM config missing 'ipam' key",
        ),
        ("conf.no-ranges", "ipam without any range", hl_conf(dataDir="{tmp}/x"), "no IP ranges specified"),
        ("conf.host-bits", "a subnet with host bits set", hl_conf(subnet="10.10.0.1/24"), "10.10.0.0"),
        ("conf.too-small", "a /31 subnet is too small", hl_conf(subnet="10.10.0.0/31"), "too small"),
        (
            "conf.start-outside",
            "rangeStart outside the subnet",
            hl_conf(subnet=SUBNET, rangeStart="10.20.0.5"),
            "10.20.0.5",
        ),
        (
            "conf.end-outside",
            "rangeEnd outside the subnet",
            hl_conf(subnet=SUBNET, rangeEnd="10.20.0.5"),
            "10.20.0.5",
        ),
        ("conf.empty-set", "an empty range set", hl_conf(ranges=[[]]), "empty range set"),
        (
            "conf.mixed-families",
            "IPv4 and IPv6 ranges in one set",
            hl_conf(ranges=[[{"subnet": SUBNET}, {"subnet": SUBNET6}]]),
            "mixed address families",
        ),
        (
            "conf.overlap-in-set",
            "overlapping ranges in one set",
            hl_conf(ranges=[[{"subnet": SUBNET}, {"subnet": "10.10.0.0/25"}]]),
            "overlap",
        ),
        (
            "conf.overlap-between-sets",
            "overlapping range sets",
            hl_conf(ranges=[[{"subnet": SUBNET}], [{"subnet": SUBNET}]]),
            "overlap",
        ),
        ("conf.bad-subnet", "a subnet that is not an address", hl_conf(subnet="ten.ten/24"), "ten.ten"),
    ]
    for sid, title, conf, msg in errors:
        scen(
            sid,
            f"{title}: invalid config (code 7)",
            Invoke("ADD", conf, **spec_error(7, msg)),
            refs=("2.1", "1.5"),
        )
    scen(
        "conf.wrong-type",
        "ranges given as a string: undecodable config (code 6)",
        Invoke("ADD", hl_conf(ranges="10.10.0.0/24"), **spec_error(6, "ranges")),
        refs=("0.2", "1.5"),
    )
    scen(
        "conf.bad-cni-args-ip",
        "CNI_ARGS IP that is not an address: error",
        Invoke("ADD", hl_conf(), args="IP=not-an-ip", expect=fails(msg="not-an-ip")),
        refs=("2.1",),
    )
    # --- GC / STATUS (spec 1.1) -------------------------------------------------------------------
    gc_conf = {**hl_conf(), "cni.dev/valid-attachments": [{"containerID": "{cid}", "ifname": "eth0"}]}
    scen(
        "gc.releases-stale",
        "GC releases reservations of attachments missing from cni.dev/valid-attachments",
        add(None, addr(IP1)),
        add(None, addr(IP2), container=2, label="add2"),
        Invoke(
            "GC",
            gc_conf,
            expect=ok(state=(File(ipfile(IP1), content=owner()), File(ipfile(IP2), present=False))),
            deviations=(Deviation("go-gc", ok(state=(File(ipfile(IP2)),))),),
        ),
        versions=("1.1.0",),
        containers=2,
        refs=("V-40", "V-41"),
    )
    scen(
        "gc.keeps-valid",
        "GC keeps every reservation that is listed as valid",
        add(None, addr(IP1)),
        Invoke("GC", gc_conf, expect=ok(state=(File(ipfile(IP1), content=owner()),))),
        versions=("1.1.0",),
        refs=("V-41",),
    )
    scen(
        "gc.legacy-key",
        "GC also understands the older cni.dev/attachments key",
        add(None, addr(IP1)),
        Invoke(
            "GC",
            {**hl_conf(), "cni.dev/attachments": [{"containerID": "{cid}", "ifname": "eth0"}]},
            expect=ok(state=(File(ipfile(IP1), content=owner()),)),
        ),
        versions=("1.1.0",),
        refs=("V-40",),
    )
    scen(
        "status.exhausted",
        "STATUS of an exhausted range: code 50 (cannot serve ADD)",
        add(hl_conf(subnet=SUBNET, rangeStart="10.10.0.10", rangeEnd="10.10.0.10"), addr("10.10.0.10")),
        Invoke(
            "STATUS",
            hl_conf(subnet=SUBNET, rangeStart="10.10.0.10", rangeEnd="10.10.0.10"),
            expect=fails(50),
            deviations=(Deviation("go-status", Expect(ok=True)),),
        ),
        versions=("1.1.0",),
        refs=("V-51", "V-53"),
    )
    return s
