"""The bridge plugin's verbs: parse, validate, act, report (Go's plugins/main/bridge)."""

from __future__ import annotations

import time

from libcni.skel import CmdArgs
from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import Interface, Result, convert
from libcni.types.version import FAMILY_020, family_of
from pkg import ipam, sysctl
from pkg.rollback import Rollback

from .config import BridgeRecord, load, validate_for_add
from .gateways import calc_gateways

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from pkg.netlink import Link, Rtnl
    from pkg.ns import NetNS

PORT_UP_WAITS = (0, 0.05, 0.5, 1.0, 1.0)
FORWARDING = {4: "net/ipv4/ip_forward", 6: "net/ipv6/conf/all/forwarding"}


def unique_id(container_id: str, ifname: str) -> str:
    return f"{container_id}-{ifname}"


def open_netns(path: str) -> NetNS:
    from pkg.ns import NetNS

    try:
        return NetNS.open(path)
    except CNIError as err:
        raise type(err)(err.code, f'failed to open netns "{path}": {err.msg}') from None


# ---------------------------------------------------------------- ADD


def prepare(args: CmdArgs) -> BridgeRecord:
    """The pure half of DEL, CHECK, GC and STATUS: the configuration and CNI_ARGS."""
    return load(args.conf, args.args)


def prepare_add(args: CmdArgs) -> BridgeRecord:
    """Everything ADD refuses before touching the kernel."""
    conf = prepare(args)
    validate_for_add(conf)
    if not conf.is_layer3 and family_of(args.config_version) is FAMILY_020:
        # Go creates everything and then fails to print; fail before touching anything.
        raise CNIError(ErrCode.INTERNAL, "cannot convert: no valid IP addresses")
    return conf


# The pure half of each verb (the fuzzer runs these alone; IPAM is the delegate's own).
PREPARE = {"ADD": prepare_add, "DEL": prepare, "CHECK": prepare, "GC": prepare, "STATUS": prepare}


def cmd_add(args: CmdArgs) -> Result:
    conf = prepare_add(args)

    from pkg.netlink import Rtnl

    nl = Rtnl.open()
    netns: NetNS | None = None
    try:
        with _empty_bridge_tracking(nl, conf) as track, Rollback() as rollback:
            from .bridge_link import ensure_bridge

            bridge = track.ensure(
                lambda: ensure_bridge(nl, conf.bridge, conf.mtu, conf.promiscMode, conf.vlan_filtering),
                rollback,
            )
            netns = open_netns(args.netns)
            result = _add(args, conf, nl, netns, bridge, rollback)
            convert(result, args.config_version)  # a result that cannot be printed rolls back too
            track.done(result)
            return result
    finally:
        nl.close()
        if netns is not None:
            netns.close()


class _NotTracking:
    """The tracker when removeEmptyBridge is off: it only makes the bridge (a context manager that
    is itself, so the default ADD imports neither empty_bridge.py nor contextlib)."""

    def __enter__(self) -> _NotTracking:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def ensure(self, make, rollback):
        return make()

    def done(self, result) -> None:
        pass


def _empty_bridge_tracking(nl: Rtnl, conf: BridgeRecord):
    """removeEmptyBridge (empty_bridge.py): ADD records a bridge it made; off, nothing is done."""
    if not conf.removeEmptyBridge:
        return _NotTracking()
    from .empty_bridge import tracking  # contextlib and json: only with removeEmptyBridge

    return tracking(nl, conf.bridge, True)


def _add(
    args: CmdArgs, conf: BridgeRecord, nl: Rtnl, netns: NetNS, bridge: Link, rollback: Rollback
) -> Result:
    from pkg.link import create_veth, delete_link
    from pkg.netlink import NetlinkError, to_cni_error

    from .bridge_link import lookup, setup_port

    host_name = create_veth(
        nl, args.ifname, netns, mtu=conf.mtu, container_mac=conf.mac, master=bridge.index, up=True
    )
    rollback.push(f"delete {host_name}", lambda: delete_link(nl, host_name))
    try:
        sysctl.write(f"net/ipv6/conf/{host_name}/accept_ra", "0")
    except OSError:
        pass
    host_link = lookup(nl, host_name)
    setup_port(
        nl,
        host_link.index,
        host_name,
        hairpin=conf.hairpinMode,
        isolated=conf.portIsolation,
        vlan=conf.vlan,
        vlans=conf.vlans,
        preserve_default_vlan=conf.preserveDefaultVlan,
    )

    cnl = netns.rtnl()
    try:
        container_link = lookup(cnl, args.ifname)
        container = Interface(name=args.ifname, mac=container_link.mac, sandbox=args.netns)
        bridge_iface = Interface(name=conf.bridge, mac=bridge.mac)
        host_iface = Interface(name=host_name, mac=host_link.mac)
        result = Result(cniVersion=args.config_version, interfaces=[bridge_iface, host_iface, container])

        if conf.macspoofchk:
            from pkg import spoofcheck  # nft: only with macspoofchk

            ref = unique_id(args.container_id, args.ifname)
            spoofcheck.setup(host_name, container.mac, ref)
            rollback.push("spoof-check teardown", lambda: spoofcheck.teardown_quietly(ref))

        if conf.is_layer3:
            _add_layer3(args, conf, nl, cnl, netns, bridge, container_link, result, rollback)
        elif not conf.disableContainerInterface:
            try:
                cnl.set_up(container_link.index)
            except NetlinkError as err:
                raise to_cni_error(err, f'failed to set "{args.ifname}" up') from None
    finally:
        cnl.close()

    host_link = lookup(nl, host_name) if conf.disableContainerInterface else _wait_port_up(nl, host_name)
    # Both MACs can change after enslaving and addressing: report what they are now.
    host_iface.mac = host_link.mac
    from .bridge_link import bridge_by_name

    bridge_iface.mac = bridge_by_name(nl, conf.bridge).mac
    if not conf.dns.is_empty():
        result.dns = conf.dns.replace()
    return result


def _add_layer3(
    args: CmdArgs,
    conf: BridgeRecord,
    nl: Rtnl,
    cnl: Rtnl,
    netns: NetNS,
    bridge: Link,
    container_link: Link,
    result: Result,
    rollback: Rollback,
) -> None:
    from pkg.configure import configure_iface

    from .bridge_link import ensure_addr, ensure_vlan_gateway

    ipam_result = ipam.exec_add(conf.ipam_type, args)
    rollback.push("IPAM DEL", lambda: ipam.exec_del(conf.ipam_type, args))
    result.ips = ipam_result.ips
    result.routes = ipam_result.routes
    result.dns = ipam_result.dns
    if not result.ips:
        raise CNIError(ErrCode.INTERNAL, "IPAM plugin returned missing IP config")
    gateways = calc_gateways(result, conf.is_gateway, conf.isDefaultGateway)

    with netns.entered():
        _try_sysctls(args.ifname, conf.enabledad)
    configure_iface(cnl, netns, args.ifname, result, container_link)

    if conf.is_gateway:
        vlan_iface: Interface | None = None
        target: Link
        for family in (4, 6):
            for gateway in gateways.by_family[family]:
                if conf.vlan:
                    from pkg.ns import NetNS

                    with NetNS.current() as host:
                        try:
                            target = ensure_vlan_gateway(
                                nl, bridge, conf.vlan, conf.preserveDefaultVlan, host
                            )
                        except CNIError as err:
                            raise CNIError(err.code, f"failed to create vlan interface: {err.msg}") from None
                    if vlan_iface is None:
                        vlan_iface = Interface(name=target.name, mac=target.mac)
                        result.interfaces.append(vlan_iface)
                    what = "failed to set vlan interface for bridge with addr"
                else:
                    target = bridge
                    what = "failed to set bridge addr"
                try:
                    ensure_addr(nl, target, family, gateway, conf.forceAddress)
                except CNIError as err:
                    raise CNIError(err.code, f"{what}: {err.msg}") from None
            if gateways.by_family[family]:
                try:
                    sysctl.ensure(FORWARDING[family], "1")
                except OSError as err:
                    raise CNIError(ErrCode.INTERNAL, f"failed to enable forwarding: {err}") from None

    if conf.ipMasq:
        from pkg import ipmasq  # iptables or nft: only with ipMasq

        cidrs = [ipc.address for ipc in result.ips]
        ipmasq.setup(conf.ipMasqBackend, cidrs, conf.name, args.ifname, args.container_id)
        rollback.push("ipMasq teardown", lambda: ipmasq.teardown(conf.name, args.ifname, args.container_id))


def _try_sysctls(ifname: str, enable_dad: bool) -> None:
    """DAD and ARP-notify settings of the container interface; errors ignored like Go."""
    settings = [(f"net/ipv6/conf/{ifname}/accept_dad", "1" if enable_dad else "0")]
    if enable_dad:
        settings.insert(0, (f"net/ipv6/conf/{ifname}/enhanced_dad", "1"))
    settings.append((f"net/ipv4/conf/{ifname}/arp_notify", "1"))
    for name, value in settings:
        try:
            sysctl.write(name, value)
        except OSError:
            pass


def _wait_port_up(nl: Rtnl, host_name: str) -> Link:
    from .bridge_link import lookup

    state = "unknown"
    for wait in PORT_UP_WAITS:
        time.sleep(wait)
        link = lookup(nl, host_name)
        if link.operstate == "up":
            return link
        state = link.operstate
    raise CNIError(ErrCode.INTERNAL, f"bridge port in error state: {state}")


# ---------------------------------------------------------------- DEL


def cmd_del(args: CmdArgs) -> None:
    """Idempotent: a missing netns, interface, rule or allocation is not an error."""
    conf = prepare(args)
    if args.netns:
        _delete_container_link(args)
    first_error: CNIError | None = None
    if conf.is_layer3:
        try:
            ipam.exec_del(conf.ipam_type, args)
        except CNIError as err:
            first_error = err
    if conf.macspoofchk:
        from pkg import spoofcheck

        spoofcheck.teardown_quietly(unique_id(args.container_id, args.ifname))
    if conf.is_layer3 and conf.ipMasq:
        from pkg import ipmasq

        # Found by chain name / comment hash: works without the netns or the container IPs.
        try:
            ipmasq.teardown(conf.name, args.ifname, args.container_id)
        except CNIError as err:
            first_error = first_error or err
    if conf.removeEmptyBridge:
        from pkg.netlink import Rtnl

        from .empty_bridge import remove_if_empty

        with Rtnl.open() as nl:
            remove_if_empty(nl, conf.bridge)
    if first_error is not None:
        raise first_error


def _delete_container_link(args: CmdArgs) -> None:
    from pkg.ns import NetNS, NetNSNotFound

    try:
        netns = NetNS.open(args.netns)
    except NetNSNotFound:
        return  # the runtime already removed the netns: nothing left inside to delete
    with netns:
        from pkg.link import delete_link

        with netns.rtnl() as nl:
            delete_link(nl, args.ifname)


# ---------------------------------------------------------------- CHECK, GC, STATUS


def cmd_check(args: CmdArgs) -> None:
    from .check import check

    conf = prepare(args)
    with open_netns(args.netns) as netns:
        if conf.is_layer3:  # Go delegates even without IPAM and so always fails in L2 mode
            ipam.exec_check(conf.ipam_type, args)
        prev = conf.prev_result()
        if prev is None:
            raise CNIError(ErrCode.INTERNAL, "Required prevResult missing")
        check(args, conf, netns, prev)


def cmd_gc(args: CmdArgs) -> None:
    """Remove the masquerade rules and spoof-check chains of this network's attachments that are
    no longer valid. Without a cni.dev/valid-attachments list nothing is known to be stale: nothing
    is removed here (IPAM is still asked, and follows the same rule)."""
    from libcni.gc import valid_attachments
    from pkg import ipmasq

    conf = prepare(args)
    valid = valid_attachments(conf)
    if valid is not None:
        ipmasq.gc(conf.name, list(valid))
        _gc_spoofcheck(conf, valid)
    if conf.is_layer3:
        ipam.exec_gc(conf.ipam_type, args)


def _gc_spoofcheck(conf, valid) -> None:
    """Spoof-check chains of attachments not in the list, on this network's ports only: the chains
    are named by attachment, not network, so a chain whose port is enslaved to another bridge
    (another network) is left alone; one whose port is gone is stale whatever its network."""
    from pkg import spoofcheck
    from pkg.netlink import Rtnl

    refs = {unique_id(cid, ifname) for cid, ifname in valid}
    found = spoofcheck.attachments()
    if not found:
        return
    stale = []
    with Rtnl.open() as nl:
        bridge = nl.get_link(conf.bridge)
        for ref, port in found.items():
            if ref in refs:
                continue
            link = nl.get_link(port) if port else None
            if link is None or (bridge is not None and link.master == bridge.index):
                stale.append(ref)
    for ref in stale:
        spoofcheck.teardown_quietly(ref)


def cmd_status(args: CmdArgs) -> None:
    conf = prepare(args)
    from pkg.netlink import Rtnl

    with Rtnl.open() as nl:
        link = nl.get_link(conf.bridge)
    if link is not None and link.kind != "bridge":
        raise CNIError(
            ErrCode.PLUGIN_NOT_AVAILABLE,
            f'"{conf.bridge}" already exists but is not a bridge',
            "the bridge plugin cannot attach containers to it",
        )
    if conf.is_layer3:
        ipam.exec_status(conf.ipam_type, args)
