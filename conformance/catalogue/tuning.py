"""tuning (plugins.md section 3): sysctls, interface attributes, backup and restore, CHECK."""

from __future__ import annotations

from ..checks import Field, File, Link, SameAsPrev, Sysctl
from ..model import Deviation, Invoke, RemoveFile, Run, Scenario, WriteFile
from .common import container_result, container_veth, fails, ok, spec_error, tuning_conf

ORIG_MAC = "0e:aa:00:00:00:01"
MAC = "0e:11:22:33:44:55"
BACKUP = "/run/cni/tuning/{cid}_eth0.json"
PREV = container_result()
ALLOWLIST = "/etc/cni/tuning/allowlist.conf"


def veth(**link):
    return container_veth(address=ORIG_MAC, **link)


def scenarios() -> list[Scenario]:
    s: list[Scenario] = []

    def scen(sid, title, *steps, refs=(), **kw):
        s.append(
            Scenario(
                id=f"tuning.{sid}", plugin="tuning", title=title, steps=tuple(steps), refs=tuple(refs), **kw
            )
        )

    def add(conf, *checks, state=(), label="add", prev=PREV, **kw):
        return Invoke("ADD", conf, prev=prev, label=label, expect=ok(*checks, state=state), **kw)

    def add_fails(conf, msg=None, prev=PREV, **kw):
        return Invoke("ADD", conf, prev=prev, expect=fails(msg=msg), **kw)

    def delete(conf, state=(), **kw):
        return Invoke("DEL", conf, prev="add", label="del", expect=ok(state=state), **kw)

    def check(conf, **kw):
        return Invoke("CHECK", conf, prev="add", label="check", expect=ok(), **kw)

    def check_fails(conf, msg=None, **kw):
        return Invoke("CHECK", conf, prev="add", label="check", expect=fails(msg=msg), **kw)

    # --- sysctls ---------------------------------------------------------------------------------
    martians = tuning_conf(sysctl={"net.ipv4.conf.all.log_martians": "1"})
    scen(
        "sysctl.container-only",
        "a sysctl is written inside the container netns, not on the host",
        *veth(),
        add(
            martians,
            SameAsPrev(),
            state=(
                Sysctl("c1", "net.ipv4.conf.all.log_martians", "1"),
                Sysctl("host", "net.ipv4.conf.all.log_martians", "0"),
            ),
        ),
        refs=("3.2", "3.3"),
    )
    scen(
        "sysctl.ifname-token",
        "IFNAME in a sysctl key stands for CNI_IFNAME",
        *veth(),
        add(
            tuning_conf(sysctl={"net.ipv4.conf.IFNAME.proxy_arp": "1"}),
            state=(Sysctl("c1", "net/ipv4/conf/eth0/proxy_arp", "1"),),
        ),
        refs=("3.2",),
    )
    scen(
        "sysctl.slashes",
        "a sysctl key may be given with slashes",
        *veth(),
        add(
            tuning_conf(sysctl={"net/ipv4/conf/eth0/arp_ignore": "2"}),
            state=(Sysctl("c1", "net/ipv4/conf/eth0/arp_ignore", "2"),),
        ),
        refs=("3.2",),
    )
    scen(
        "sysctl.several",
        "several sysctls are all written",
        *veth(),
        add(
            tuning_conf(
                sysctl={
                    "net.ipv4.conf.eth0.arp_ignore": "1",
                    "net.ipv4.conf.eth0.arp_announce": "2",
                    "net.ipv6.conf.eth0.hop_limit": "33",
                }
            ),
            state=(
                Sysctl("c1", "net/ipv4/conf/eth0/arp_ignore", "1"),
                Sysctl("c1", "net/ipv4/conf/eth0/arp_announce", "2"),
                Sysctl("c1", "net/ipv6/conf/eth0/hop_limit", "33"),
            ),
        ),
        requires=("ipv6",),
        refs=("3.2",),
    )
    scen(
        "sysctl.dotted-ifname",
        "IFNAME substitution works for interface names with dots (eth0.100)",
        *container_veth(ifname="eth0.100"),
        add(
            tuning_conf(sysctl={"net.ipv4.conf.IFNAME.proxy_arp": "1"}),
            ifname="eth0.100",
            prev=container_result(ifname="eth0.100"),
            state=(Sysctl("c1", "net/ipv4/conf/eth0.100/proxy_arp", "1"),),
        ),
        claims="1.1.0",
        refs=("3.2", "7 (#779)"),
    )
    scen(
        "sysctl.not-net",
        "a sysctl outside net.*: error",
        *veth(),
        add_fails(tuning_conf(sysctl={"kernel.domainname": "x"}), msg="invalid net sysctl key"),
        refs=("3.2",),
    )
    scen(
        "sysctl.escape",
        "a sysctl key that tries to climb out of /proc/sys/net: error",
        *veth(),
        add_fails(tuning_conf(sysctl={"net/../kernel/domainname": "x"})),
        refs=("3.2",),
    )
    scen(
        "sysctl.missing",
        "a sysctl that does not exist: error",
        *veth(),
        add_fails(tuning_conf(sysctl={"net.ipv4.conf.eth0.no_such_knob": "1"})),
        refs=("3.3",),
    )
    scen(
        "sysctl.not-reverted",
        "sysctls are not reverted on DEL",
        *veth(),
        add(martians),
        delete(martians, state=(Sysctl("c1", "net.ipv4.conf.all.log_martians", "1"),)),
        refs=("3.4",),
    )
    scen(
        "sysctl.wrong-type",
        "a sysctl value that is not a string: undecodable config",
        *veth(),
        Invoke(
            "ADD",
            tuning_conf(sysctl={"net.ipv4.conf.all.log_martians": 1}),
            prev=PREV,
            **spec_error(6, "sysctl"),
        ),
        refs=("0.2",),
    )
    scen(
        "sysctl.duplicate-keys",
        "duplicated sysctl keys are rejected",
        *veth(),
        Invoke(
            "ADD",
            stdin='{"cniVersion":"{version}","name":"{net}","type":"tuning","sysctl":{"net.ipv4.conf.all.log_martians":"1",'
            '"net.ipv4.conf.all.log_martians":"0"},"prevResult":{"cniVersion":"{version}","interfaces":[{"name":"eth0",'
            '"sandbox":"{netns}"}],"ips":[{"interface":0,"address":"10.10.0.2/24"}]}}',
            expect=fails(msg="duplicated"),
        ),
        versions=("1.1.0",),
        refs=("3.2",),
    )
    # --- interface attributes ---------------------------------------------------------------------
    scen(
        "mac.config",
        "mac sets the interface MAC and the result's interface shows it",
        *veth(),
        add(
            tuning_conf(mac=MAC),
            Field("interfaces.0.mac", eq=MAC),
            SameAsPrev(ignore=("interfaces.0.mac",)),
            state=(Link("c1", "eth0", mac=MAC),),
        ),
        refs=("3.1", "3.3", "7 (#605)"),
    )
    scen(
        "mac.restored",
        "DEL restores the original MAC",
        *veth(),
        add(tuning_conf(mac=MAC)),
        delete(tuning_conf(mac=MAC), state=(Link("c1", "eth0", mac=ORIG_MAC),)),
        refs=("3.4",),
    )
    scen(
        "mac.cni-args",
        "CNI_ARGS MAC sets the MAC",
        *veth(),
        add(tuning_conf(), args=f"MAC={MAC}", state=(Link("c1", "eth0", mac=MAC),)),
        refs=("3.1",),
    )
    scen(
        "mac.runtime-config",
        "runtimeConfig.mac (capability mac) sets the MAC",
        *veth(),
        add(
            {**tuning_conf(), "runtimeConfig": {"mac": MAC}},
            Field("interfaces.0.mac", eq=MAC),
            state=(Link("c1", "eth0", mac=MAC),),
        ),
        refs=("3.1", "3.5"),
    )
    scen(
        "mac.args",
        "args.cni.mac sets the MAC",
        *veth(),
        add({**tuning_conf(), "args": {"cni": {"mac": MAC}}}, state=(Link("c1", "eth0", mac=MAC),)),
        refs=("3.1",),
    )
    scen(
        "mac.precedence",
        "args.cni.mac wins over runtimeConfig.mac, which wins over CNI_ARGS MAC",
        *veth(),
        add(
            {**tuning_conf(), "runtimeConfig": {"mac": "0e:00:00:00:00:02"}, "args": {"cni": {"mac": MAC}}},
            args="MAC=0e:00:00:00:00:03",
            state=(Link("c1", "eth0", mac=MAC),),
        ),
        refs=("3.1",),
    )
    scen(
        "mac.invalid",
        "an invalid MAC: error",
        *veth(),
        add_fails(tuning_conf(mac="zz:zz")),
        refs=("3.1",),
    )
    scen(
        "mtu.config",
        "mtu sets the MTU; DEL restores it",
        *veth(),
        add(tuning_conf(mtu=1400), SameAsPrev(), state=(Link("c1", "eth0", mtu=1400),)),
        delete(tuning_conf(mtu=1400), state=(Link("c1", "eth0", mtu=1500),)),
        refs=("3.1", "3.4"),
    )
    scen(
        "mtu.args",
        "args.cni.mtu overrides the config mtu",
        *veth(),
        add({**tuning_conf(mtu=1400), "args": {"cni": {"mtu": 1300}}}, state=(Link("c1", "eth0", mtu=1300),)),
        refs=("3.1",),
    )
    scen(
        "mtu.invalid",
        "an MTU the interface cannot take: error",
        *veth(),
        add_fails(tuning_conf(mtu=10)),
        refs=("3.3",),
    )
    scen(
        "promisc.config",
        "promisc turns promiscuous mode on; DEL turns it off again",
        *veth(),
        add(tuning_conf(promisc=True), state=(Link("c1", "eth0", promisc=True),)),
        delete(tuning_conf(promisc=True), state=(Link("c1", "eth0", promisc=False),)),
        refs=("3.1", "3.4"),
    )
    scen(
        "promisc.args",
        "args.cni.promisc turns promiscuous mode on",
        *veth(),
        add({**tuning_conf(), "args": {"cni": {"promisc": True}}}, state=(Link("c1", "eth0", promisc=True),)),
        refs=("3.1",),
    )
    scen(
        "allmulti.args",
        "args.cni.allmulti sets IFF_ALLMULTI",
        *veth(),
        add(
            {**tuning_conf(), "args": {"cni": {"allmulti": True}}}, state=(Link("c1", "eth0", allmulti=True),)
        ),
        refs=("3.1",),
    )
    scen(
        "sysctl.args-merged",
        "args.cni.sysctl entries are merged into the configured sysctls",
        *veth(),
        add(
            {
                **tuning_conf(sysctl={"net.ipv4.conf.all.log_martians": "1"}),
                "args": {"cni": {"sysctl": {"net.ipv4.conf.eth0.arp_ignore": "1"}}},
            },
            state=(
                Sysctl("c1", "net.ipv4.conf.all.log_martians", "1"),
                Sysctl("c1", "net/ipv4/conf/eth0/arp_ignore", "1"),
            ),
        ),
        refs=("3.1",),
    )
    scen(
        "allmulti.on",
        "allmulti true sets IFF_ALLMULTI; DEL clears it",
        *veth(),
        add(tuning_conf(allmulti=True), state=(Link("c1", "eth0", allmulti=True),)),
        delete(tuning_conf(allmulti=True), state=(Link("c1", "eth0", allmulti=False),)),
        refs=("3.1", "3.4"),
    )
    scen(
        "allmulti.off",
        "allmulti false clears IFF_ALLMULTI; DEL sets it back",
        *veth(),
        Run("c1", ("ip", "link", "set", "eth0", "allmulticast", "on")),
        add(tuning_conf(allmulti=False), state=(Link("c1", "eth0", allmulti=False),)),
        delete(tuning_conf(allmulti=False), state=(Link("c1", "eth0", allmulti=True),)),
        refs=("3.1", "3.4"),
    )
    scen(
        "txqlen.config",
        "txQLen sets the transmit queue length; DEL restores it",
        *veth(),
        Run("c1", ("ip", "link", "set", "eth0", "txqueuelen", "1000")),
        add(tuning_conf(txQLen=500), state=(Link("c1", "eth0", txqlen=500),)),
        delete(tuning_conf(txQLen=500), state=(Link("c1", "eth0", txqlen=1000),)),
        claims="1.1.0",
        refs=("3.1", "3.4"),
    )
    scen(
        "all-attributes",
        "mac, mtu and promisc together, all restored by DEL",
        *veth(),
        add(
            tuning_conf(mac=MAC, mtu=1400, promisc=True),
            state=(Link("c1", "eth0", mac=MAC, mtu=1400, promisc=True),),
        ),
        delete(
            tuning_conf(mac=MAC, mtu=1400, promisc=True),
            state=(Link("c1", "eth0", mac=ORIG_MAC, mtu=1500, promisc=False),),
        ),
        refs=("3.3", "3.4"),
    )
    # --- backup files -----------------------------------------------------------------------------
    scen(
        "backup.written",
        "changing attributes writes a backup of the old values to /run/cni/tuning/<id>_<ifname>.json",
        *veth(),
        add(tuning_conf(mtu=1400), state=(File(BACKUP, matches=r'"mtu":\s*1500'),)),
        refs=("3.3",),
    )
    scen(
        "backup.removed",
        "DEL removes the backup after restoring",
        *veth(),
        add(tuning_conf(mtu=1400)),
        delete(tuning_conf(mtu=1400), state=(File(BACKUP, present=False),)),
        refs=("3.4",),
    )
    scen(
        "backup.sysctl-only",
        "sysctls alone write no backup",
        *veth(),
        add(martians, state=(File(BACKUP, present=False),)),
        refs=("3.3",),
    )
    scen(
        "backup.data-dir",
        "dataDir moves the backup",
        *veth(),
        add(
            tuning_conf(mtu=1400, dataDir="{tmp}/tuning"),
            state=(File("{tmp}/tuning/{cid}_eth0.json", matches=r'"mtu"'), File(BACKUP, present=False)),
        ),
        delete(
            tuning_conf(mtu=1400, dataDir="{tmp}/tuning"),
            state=(File("{tmp}/tuning/{cid}_eth0.json", present=False), Link("c1", "eth0", mtu=1500)),
        ),
        refs=("3.1",),
    )
    # --- failures ---------------------------------------------------------------------------------
    scen(
        "fail.no-prev-result",
        "tuning is a chained plugin: ADD without prevResult fails",
        *veth(),
        add_fails(martians, prev=None),
        refs=("3.3",),
    )
    scen(
        "fail.interface-missing",
        "an attribute change on a missing interface: error",
        add_fails(tuning_conf(mtu=1400)),
        refs=("3.3",),
    )
    # --- DEL --------------------------------------------------------------------------------------
    scen(
        "del.no-backup",
        "DEL without a backup file succeeds and changes nothing",
        *veth(),
        Invoke("DEL", tuning_conf(mtu=1400), expect=ok(state=(Link("c1", "eth0", mtu=1500),))),
        refs=("3.4",),
    )
    scen(
        "del.netns-gone",
        "DEL after the container netns is gone succeeds",
        *veth(),
        add(tuning_conf(mtu=1400)),
        Invoke("DEL", tuning_conf(mtu=1400), netns="/run/netns/does-not-exist", expect=ok()),
        refs=("V-12", "3.4"),
    )
    scen(
        "del.interface-gone",
        "DEL after the interface is gone succeeds",
        *veth(),
        add(tuning_conf(mtu=1400)),
        Run("c1", ("ip", "link", "del", "eth0")),
        delete(tuning_conf(mtu=1400)),
        refs=("V-12", "3.4"),
    )
    # --- CHECK ------------------------------------------------------------------------------------
    full = tuning_conf(mtu=1400, promisc=True, sysctl={"net.ipv4.conf.all.log_martians": "1"})
    scen(
        "check.ok",
        "CHECK after ADD succeeds",
        *veth(),
        add(full),
        check(full),
        versions=("0.4.0", "1.0.0", "1.1.0"),
        refs=("3.5",),
    )
    scen(
        "check.mtu-changed",
        "CHECK fails when the MTU changed",
        *veth(),
        add(full),
        Run("c1", ("ip", "link", "set", "eth0", "mtu", "1300")),
        check_fails(full),
        refs=("3.5",),
    )
    scen(
        "check.sysctl-changed",
        "CHECK fails when a sysctl changed",
        *veth(),
        add(full),
        Run("c1", ("sh", "-c", "echo 0 > /proc/sys/net/ipv4/conf/all/log_martians")),
        check_fails(full),
        refs=("3.5",),
    )
    scen(
        "check.promisc-unexpected",
        "CHECK fails when promisc is on but not configured",
        *veth(),
        add(tuning_conf(mtu=1400)),
        Run("c1", ("ip", "link", "set", "eth0", "promisc", "on")),
        check_fails(tuning_conf(mtu=1400)),
        refs=("3.5",),
    )
    scen(
        "check.mac-changed",
        "CHECK fails when the MAC changed",
        *veth(),
        add(tuning_conf(mac=MAC)),
        Run("c1", ("ip", "link", "set", "eth0", "address", "0e:99:99:99:99:99")),
        check_fails(tuning_conf(mac=MAC)),
        refs=("3.5",),
    )
    scen(
        "check.ifname-token",
        "CHECK substitutes IFNAME in sysctl keys like ADD does",
        *veth(),
        add(tuning_conf(sysctl={"net.ipv4.conf.IFNAME.proxy_arp": "1"})),
        Invoke(
            "CHECK",
            tuning_conf(sysctl={"net.ipv4.conf.IFNAME.proxy_arp": "1"}),
            prev="add",
            expect=ok(),
            deviations=(Deviation("go-885", fails()),),
        ),
        refs=("3.5", "7 (#885)"),
    )
    scen(
        "check.no-prev-result",
        "CHECK without prevResult fails",
        *veth(),
        add(full),
        Invoke("CHECK", full, expect=fails()),
        refs=("3.5",),
    )
    # --- allow-list (a machine-wide file: these run alone) ----------------------------------------
    scen(
        "allowlist.rejects",
        "with /etc/cni/tuning/allowlist.conf a sysctl not listed is rejected",
        WriteFile(ALLOWLIST, "^net\\.ipv4\\.conf\\.all\\.log_martians$\n"),
        *veth(),
        add_fails(tuning_conf(sysctl={"net.ipv4.conf.all.arp_ignore": "1"}), msg="is not allowed"),
        claims="1.1.0",
        exclusive=True,
        cleanup=(RemoveFile(ALLOWLIST),),
        refs=("3.2",),
    )
    scen(
        "allowlist.accepts",
        "a sysctl matching the allow-list is written",
        WriteFile(ALLOWLIST, "^net\\.ipv4\\.conf\\.all\\.log_martians$\n"),
        *veth(),
        add(martians, state=(Sysctl("c1", "net.ipv4.conf.all.log_martians", "1"),)),
        claims="1.1.0",
        exclusive=True,
        cleanup=(RemoveFile(ALLOWLIST),),
        refs=("3.2",),
    )
    return s
