"""bandwidth verbs: ADD shapes the pod's host veth (ingress: a tbf at its root; egress: a redirect
to an ifb device with its own tbf), DEL removes the ifb and those qdiscs, CHECK compares them.

Everything that can be refused (config, prevResult, the host interface) is refused before the
kernel is touched; a failed ADD removes what it made.
"""

from __future__ import annotations

from collections import namedtuple

from libcni.types.errors import CNIError, ErrCode
from pkg.netlink import NetlinkError, Rtnl, to_cni_error
from pkg.ns import NetNS
from pkg.rollback import Rollback

from . import kernel, shaping, tcmsg
from .config import Bandwidth, load

TYPE_CHECKING = False  # `typing` costs ~4 ms of a cold call; annotations are strings
if TYPE_CHECKING:  # pragma: no cover
    from libcni.skel import CmdArgs
    from libcni.types.results import AnyResult, Result
    from pkg.netlink import Link

PSCHED = "/proc/net/psched"


def _fail(text: str) -> CNIError:
    return CNIError(ErrCode.INTERNAL, text)


def _prev_result(bw: Bandwidth) -> Result | None:
    """prevResult parsed by the config's version and converted to the newest (Go: ParsePrevResult
    and NewResultFromResult), or None when there is none."""
    if bw.prev_result is None:
        return None
    from libcni.types.results import as_current, convert, parse_result

    try:
        parsed = parse_result(bw.prev_result, bw.cni_version)
    except CNIError as err:  # Go's text in front; the code and the field named stay
        raise CNIError(err.code, f"could not parse prevResult: {err.msg}", err.details) from None
    try:
        return as_current(convert(parsed, bw.cni_version or parsed.cniVersion))
    except CNIError as err:
        raise CNIError(
            err.code, f"could not convert result to current version: {err.msg}", err.details
        ) from None


def _ticks_per_usec() -> float:
    try:
        with open(PSCHED) as f:
            ticks = shaping.tick_in_usec(f.read())
    except OSError:
        ticks = 0.0
    if ticks <= 0:
        raise _fail(f"cannot read the kernel's packet scheduler clock from {PSCHED}")
    return ticks


def _check_rates(bw: Bandwidth) -> None:
    """A shaped direction needs at least one byte per second (Go divides by zero below 8 bit/s)."""
    entry = bw.entry
    for direction, rate, shaped in (
        ("ingress", entry.ingress_rate, entry.shapes_ingress),
        ("egress", entry.egress_rate, entry.shapes_egress),
    ):
        if shaped and rate < 8:
            field = f"{bw.where}{direction}Rate"
            raise CNIError(
                ErrCode.INVALID_NETWORK_CONFIG,
                f'invalid "{field}": a rate must be at least 8 bits/s (got {rate})',
                field,
            )


def _host_interface(result: Result, ifname: str, ns: NetNS, host: Rtnl) -> Link:
    """The host end of the container's veth, which must be one of the result's host interfaces
    (Go's getHostInterface, same messages)."""
    if not result.interfaces:
        raise _fail("no interfaces provided")
    prefix = f"container interface {ifname} has no veth peer"
    try:
        with ns.rtnl() as inside:
            link = inside.get_link(ifname)
    except NetlinkError as err:
        raise _fail(f'{prefix}: could not look up "{ifname}": {err}') from None
    if link is None:
        raise _fail(f'{prefix}: could not look up "{ifname}": Link not found')
    if link.kind != "veth":
        raise _fail(f'{prefix}: interface "{ifname}" was not a veth interface')
    if link.peer_index <= 0:
        raise _fail(f"{prefix}: no peer index")
    peer = host.get_link_by_index(link.peer_index)
    if peer is None:
        raise _fail(f"veth peer with index {link.peer_index} is not in host ns")
    if not any(iface.sandbox == "" and iface.name == peer.name for iface in result.interfaces):
        raise _fail("no veth peer of container interface found in host ns")
    return peer


def _open_netns(path: str) -> NetNS:
    try:
        return NetNS.open(path)
    except CNIError as err:
        raise _fail(f'failed to open netns "{path}": {err.msg}') from None


# --- ADD -----------------------------------------------------------------------------------------


class AddPlan(namedtuple("AddPlan", "bw prev shaping")):  # not typing.NamedTuple: typing costs ~3 ms
    """What ADD will do, decided before the kernel is touched (shaping None: nothing to shape)."""

    __slots__ = ()
    bw: Bandwidth
    prev: Result | None
    shaping: shaping.Plan | None


def prepare_add(args: CmdArgs) -> AddPlan:
    bw = load(args)
    prev = _prev_result(bw)
    if bw.entry is None or bw.entry.is_zero:
        return AddPlan(bw, prev, None)
    if prev is None:
        raise _fail("must be called as chained plugin")
    _check_rates(bw)
    return AddPlan(bw, prev, shaping.plan(bw.entry, bw.name, args.container_id, _ticks_per_usec()))


def prepare(args: CmdArgs) -> tuple[Bandwidth, Result | None]:
    """The pure half of DEL and CHECK: the configuration and the previous result."""
    bw = load(args)
    return bw, _prev_result(bw)


# The pure half of each verb (the fuzzer runs these alone).
PREPARE = {"ADD": prepare_add, "DEL": prepare, "CHECK": prepare}


def cmd_add(args: CmdArgs) -> AnyResult:
    _bw, prev, plan = prepare_add(args)
    if plan is None:
        if prev is None:  # Go dereferences a nil result here and crashes
            from libcni.types.results import Result

            return Result(cniVersion=args.config_version)
        return prev
    assert prev is not None
    with _open_netns(args.netns) as ns, Rtnl.open() as host, Rollback() as rollback:
        veth = _host_interface(prev, args.ifname, ns, host)
        ifb = _shape(host, veth, plan, rollback)
    if ifb is not None:
        from libcni.types.results import Interface

        prev.interfaces.append(Interface(name=ifb.name, mac=ifb.mac))
    return prev


def _shape(host: Rtnl, veth: Link, plan: shaping.Plan, rollback: Rollback) -> Link | None:
    """Make the plan's qdiscs, filter and ifb in Go's order, each with its undo step."""

    def made_qdisc(ifindex: int, handle: int, parent: int) -> None:
        rollback.push("delete qdisc", lambda: kernel.delete_qdisc(host, ifindex, handle, parent))

    if plan.ingress is not None:
        kernel.create(host, tcmsg.RTM_NEWQDISC, tcmsg.tbf_qdisc(veth.index, plan.ingress), "create qdisc")
        made_qdisc(veth.index, shaping.TBF_HANDLE, shaping.ROOT_PARENT)
    if plan.egress is None:
        return None
    kernel.add_ifb(host, plan.ifb, veth.mtu)
    ifb = host.get_link(plan.ifb)
    if ifb is None:
        raise _fail("get ifb device: Link not found")
    rollback.push(f"delete {ifb.name}", lambda: host.del_link(index=ifb.index))
    kernel.create(host, tcmsg.RTM_NEWQDISC, tcmsg.ingress_qdisc(veth.index), "create ingress qdisc")
    made_qdisc(veth.index, shaping.INGRESS_HANDLE, shaping.INGRESS_PARENT)
    kernel.create(host, tcmsg.RTM_NEWTFILTER, tcmsg.redirect_filter(veth.index, ifb.index), "add filter")
    kernel.create(
        host, tcmsg.RTM_NEWQDISC, tcmsg.tbf_qdisc(ifb.index, plan.egress), "create ifb qdisc: create qdisc"
    )
    return ifb


# --- DEL -----------------------------------------------------------------------------------------


def cmd_del(args: CmdArgs) -> None:
    """Remove the ifb (Go's DEL) and, when the host veth can still be found, the tbf and ingress
    qdiscs this config made on it. Missing netns, interfaces or qdiscs are not errors."""
    bw, prev = prepare(args)
    ifb_name = shaping.ifb_name(bw.name, args.container_id)
    with Rtnl.open() as host:
        ifb = host.get_link(ifb_name)
        if prev is not None and bw.entry is not None and not bw.entry.is_zero and args.netns:
            _unshape_veth(bw, args, prev, host, ifb)
        if ifb is None or ifb.kind != "ifb":  # none, or a device of that name that is not ours
            return
        try:
            host.del_link(index=ifb.index)
        except NetlinkError as err:
            raise to_cni_error(err, f'failed to delete "{ifb_name}"') from None


def _unshape_veth(bw: Bandwidth, args: CmdArgs, prev: Result, host: Rtnl, ifb: Link | None) -> None:
    """Best effort: the root tbf if it has this config's numbers, the ingress qdisc if all it
    redirects to is this pod's ifb."""
    try:
        with NetNS.open(args.netns) as ns:
            veth = _host_interface(prev, args.ifname, ns, host)
        plan = shaping.plan(bw.entry, bw.name, args.container_id, _ticks_per_usec())
        for qdisc in kernel.qdiscs(host, veth.index):
            ours = False
            if qdisc.parent == shaping.ROOT_PARENT and qdisc.handle == shaping.TBF_HANDLE:
                ours = plan.ingress is not None and qdisc.tbf == plan.ingress
            elif ifb is not None and qdisc.kind == "ingress" and qdisc.handle == shaping.INGRESS_HANDLE:
                found = [f for f in kernel.filters(host, veth.index, shaping.INGRESS_HANDLE) if f.actions]
                ours = bool(found) and all(a.ifindex == ifb.index for f in found for a in f.actions)
            if ours:
                kernel.delete_qdisc(host, veth.index, qdisc.handle, qdisc.parent)
    except (OSError, CNIError):
        return


# --- CHECK ---------------------------------------------------------------------------------------


def cmd_check(args: CmdArgs) -> None:
    bw, prev = prepare(args)
    if prev is None:
        raise _fail("must be called as a chained plugin")
    with _open_netns(args.netns) as ns, Rtnl.open() as host:
        veth = _host_interface(prev, args.ifname, ns, host)
        if bw.entry is None or bw.entry.is_zero:
            return
        plan = shaping.plan(bw.entry, bw.name, args.container_id, _ticks_per_usec())
        on_veth = kernel.qdiscs(host, veth.index)
        if plan.ingress is not None:
            _raise_if(shaping.tbf_mismatch(plan.ingress, on_veth))
        if plan.egress is not None:
            ifb = host.get_link(plan.ifb)
            if ifb is None:
                raise _fail("get ifb device: Link not found")
            _raise_if(shaping.tbf_mismatch(plan.egress, kernel.qdiscs(host, ifb.index)))
            redirects = kernel.filters(host, veth.index, shaping.INGRESS_HANDLE)
            _raise_if(shaping.redirect_mismatch(on_veth, redirects, ifb.index, plan.ifb))


def _raise_if(problem: str) -> None:
    if problem:
        raise _fail(problem)
