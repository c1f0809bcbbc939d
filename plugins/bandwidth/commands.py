"""bandwidth verbs: ADD shapes the pod's host veth (ingress: a tbf at its root; egress: a redirect
to an ifb device with its own tbf), DEL removes the ifb and those qdiscs, CHECK compares them.

Everything that can be refused (config, prevResult, the host interface) is refused before the
kernel is touched; a failed ADD removes what it made.
"""

from __future__ import annotations

import errno

from libcni.types.errors import CNIError, ErrCode
from pkg.ns import NetNS, NetNSNotFound

from . import shaping
from .config import Bandwidth, load
from .rtnl import (
    Link,
    Rtnl,
    encode_ifb_add,
    encode_ingress_add,
    encode_link_del,
    encode_qdisc_del,
    encode_redirect_filter_add,
    encode_tbf_add,
)

TYPE_CHECKING = False  # `typing` costs ~4 ms of a cold call; annotations are strings
if TYPE_CHECKING:  # pragma: no cover
    from libcni.skel import CmdArgs
    from libcni.types.results import AnyResult, Result

PSCHED = "/proc/net/psched"


def _fail(text: str) -> CNIError:
    return CNIError(ErrCode.INTERNAL, text)


def _go_errno(err: OSError) -> str:
    """An errno as Go prints it ("file exists")."""
    text = err.strerror or str(err)
    return text[:1].lower() + text[1:]


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
    with Rtnl(ns.netlink_socket()) as inside:
        try:
            link = inside.link(ifname)
        except OSError as err:
            text = f'could not look up "{ifname}": {_go_errno(err)}'
            raise _fail(f"container interface {ifname} has no veth peer: {text}") from None
    if link is None:
        raise _fail(
            f'container interface {ifname} has no veth peer: could not look up "{ifname}": Link not found'
        )
    if link.kind != "veth":
        raise _fail(
            f'container interface {ifname} has no veth peer: interface "{ifname}" was not a veth interface'
        )
    if link.peer_index <= 0:
        raise _fail(f"container interface {ifname} has no veth peer: no peer index")
    peer = host.link(index=link.peer_index)
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


def cmd_add(args: CmdArgs) -> AnyResult:
    bw = load(args)
    prev = _prev_result(bw)
    if bw.entry is None or bw.entry.is_zero:
        if prev is None:  # Go dereferences a nil result here and crashes
            from libcni.types.results import Result

            return Result(cniVersion=args.config_version)
        return prev
    if prev is None:
        raise _fail("must be called as chained plugin")
    _check_rates(bw)
    plan = shaping.plan(bw.entry, bw.name, args.container_id, _ticks_per_usec())

    with _open_netns(args.netns) as ns, Rtnl() as host:
        veth = _host_interface(prev, args.ifname, ns, host)
        undo: list[bytes] = []
        try:
            ifb = _shape(host, veth, plan, undo)
        except BaseException:
            for request in reversed(undo):
                try:
                    host.request(request)
                except OSError:
                    pass
            raise
    if ifb is not None:
        from libcni.types.results import Interface

        prev.interfaces.append(Interface(name=ifb.name, mac=ifb.mac))
    return prev


def _step(host: Rtnl, request: bytes, what: str) -> None:
    try:
        host.request(request)
    except OSError as err:
        if err.errno in (errno.EBUSY, errno.EAGAIN):
            raise CNIError(ErrCode.TRY_AGAIN_LATER, f"{what}: {_go_errno(err)}") from None
        raise _fail(f"{what}: {_go_errno(err)}") from None


def _shape(host: Rtnl, veth: Link, plan: shaping.Plan, undo: list[bytes]) -> Link | None:
    """Make the plan's qdiscs, filter and ifb in Go's order, recording how to undo each step."""
    if plan.ingress is not None:
        _step(host, encode_tbf_add(veth.index, plan.ingress), "create qdisc")
        undo.append(encode_qdisc_del(veth.index, shaping.TBF_HANDLE, shaping.ROOT_PARENT))
    if plan.egress is None:
        return None
    _step(host, encode_ifb_add(plan.ifb, veth.mtu), "adding link")
    ifb = host.link(plan.ifb)
    if ifb is None:
        raise _fail(f"get ifb device: Link not found: {plan.ifb}")
    undo.append(encode_link_del(ifb.index))
    _step(host, encode_ingress_add(veth.index), "create ingress qdisc")
    undo.append(encode_qdisc_del(veth.index, shaping.INGRESS_HANDLE, shaping.INGRESS_PARENT))
    _step(host, encode_redirect_filter_add(veth.index, ifb.index), "add filter")
    _step(host, encode_tbf_add(ifb.index, plan.egress), "create ifb qdisc: create qdisc")
    return ifb


# --- DEL -----------------------------------------------------------------------------------------


def cmd_del(args: CmdArgs) -> None:
    """Remove the ifb (Go's DEL) and, when the host veth can still be found, the tbf and ingress
    qdiscs this config made on it. Missing netns, interfaces or qdiscs are not errors."""
    bw = load(args)
    prev = _prev_result(bw)
    ifb_name = shaping.ifb_name(bw.name, args.container_id)
    with Rtnl() as host:
        ifb = host.link(ifb_name)
        if prev is not None and bw.entry is not None and not bw.entry.is_zero and args.netns:
            _unshape_veth(bw, args, prev, host, ifb)
        if ifb is None:
            return
        if ifb.kind != "ifb":  # a device of that name that is not ours: leave it
            return
        try:
            host.request(encode_link_del(ifb.index))
        except OSError as err:
            if err.errno not in (errno.ENODEV, errno.ENOENT):
                raise _fail(f'failed to delete "{ifb_name}": {_go_errno(err)}') from None


def _unshape_veth(bw: Bandwidth, args: CmdArgs, prev: Result, host: Rtnl, ifb: Link | None) -> None:
    """Best effort: the root tbf if it has this config's numbers, the ingress qdisc if all it
    redirects to is this pod's ifb."""
    try:
        ns = NetNS.open(args.netns)
    except (NetNSNotFound, CNIError):
        return
    with ns:
        try:
            veth = _host_interface(prev, args.ifname, ns, host)
        except CNIError:
            return
    try:
        qdiscs = host.qdiscs(veth.index)
        plan = shaping.plan(bw.entry, bw.name, args.container_id, _ticks_per_usec())
        for qdisc in qdiscs:
            if (
                plan.ingress is not None
                and qdisc.parent == shaping.ROOT_PARENT
                and qdisc.handle == shaping.TBF_HANDLE
                and qdisc.tbf == plan.ingress
            ):
                _quiet(host, encode_qdisc_del(veth.index, qdisc.handle, qdisc.parent))
            elif ifb is not None and qdisc.kind == "ingress" and qdisc.handle == shaping.INGRESS_HANDLE:
                filters = [f for f in host.filters(veth.index, shaping.INGRESS_HANDLE) if f.actions]
                if filters and all(a.ifindex == ifb.index for f in filters for a in f.actions):
                    _quiet(host, encode_qdisc_del(veth.index, qdisc.handle, qdisc.parent))
    except (OSError, CNIError):
        return


def _quiet(host: Rtnl, request: bytes) -> None:
    try:
        host.request(request)
    except OSError:
        pass


# --- CHECK ---------------------------------------------------------------------------------------


def cmd_check(args: CmdArgs) -> None:
    bw = load(args)
    prev = _prev_result(bw)
    if prev is None:
        raise _fail("must be called as a chained plugin")
    with _open_netns(args.netns) as ns, Rtnl() as host:
        veth = _host_interface(prev, args.ifname, ns, host)
        if bw.entry is None or bw.entry.is_zero:
            return
        plan = shaping.plan(bw.entry, bw.name, args.container_id, _ticks_per_usec())
        if plan.ingress is not None:
            problem = shaping.tbf_mismatch(plan.ingress, host.qdiscs(veth.index))
            if problem:
                raise _fail(problem)
        if plan.egress is not None:
            ifb = host.link(plan.ifb)
            if ifb is None:
                raise _fail("get ifb device: Link not found")
            problem = shaping.tbf_mismatch(plan.egress, host.qdiscs(ifb.index))
            if problem:
                raise _fail(problem)
            problem = shaping.redirect_mismatch(
                host.qdiscs(veth.index), host.filters(veth.index, shaping.INGRESS_HANDLE), ifb.index, plan.ifb
            )
            if problem:
                raise _fail(problem)
