"""The tc side of rtnetlink that bandwidth needs, pure: payloads out, records in. No sockets.

The payloads are byte for byte what Go's plugin sends through vishvananda/netlink (an ifb link
with txqueuelen 0, tbf and ingress qdiscs, a u32 filter with two mirred actions), so the kernel
holds the same objects. They go out through the shared netlink edge (pkg.netlink); pyroute2's tc
classes would cost ~20 ms of imports and `tc` execs give different kernel state: see README.md.
"""

from __future__ import annotations

import _socket  # the C module: socket.py costs ~8 ms of a cold call (enum, selectors)
import struct
from collections import namedtuple

from pkg.netlink import wire
from pkg.netlink.constants import IFF_UP, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, IFLA_TXQLEN

from .shaping import (
    ETH_P_ALL,
    FILTER_CLASSID,
    FILTER_PRIORITY,
    INGRESS_HANDLE,
    INGRESS_PARENT,
    REDIRECT_ACTIONS,
    ROOT_PARENT,
    TBF_HANDLE,
    Qdisc,
    Tbf,
)

# linux/rtnetlink.h, pkt_sched.h, pkt_cls.h, tc_act/tc_mirred.h
RTM_NEWQDISC, RTM_DELQDISC, RTM_GETQDISC = 36, 37, 38
RTM_NEWTFILTER, RTM_GETTFILTER = 44, 46
TCA_KIND, TCA_OPTIONS = 1, 2
TCA_TBF_PARMS, TCA_TBF_RATE64 = 1, 4
TCA_U32_CLASSID, TCA_U32_SEL, TCA_U32_ACT = 1, 5, 7
TCA_ACT_KIND, TCA_ACT_OPTIONS = 1, 2
TCA_MIRRED_PARMS = 2
TC_U32_TERMINAL = 1

_IFINFO = struct.Struct("=BxHiII")
_TCMSG = struct.Struct("=BxxxiIII")  # family, ifindex, handle, parent, info
_RATESPEC = struct.Struct("=BBHhHI")  # cell_log, linklayer, overhead, cell_align, mpu, rate
_TBF_QOPT = struct.Struct("=12s12sIII")  # rate, peakrate, limit, buffer, mtu
_U32_SEL = struct.Struct("=BBBxHHhhI")  # flags, offshift, nkeys, offmask, off, offoff, hoff, hmask
_U32_KEY = struct.Struct("=IIii")  # mask, val, off, offmask
_MIRRED = struct.Struct("=IIiiiiI")  # tc_gen (index, capab, action, refcnt, bindcnt), eaction, ifindex

Action = namedtuple("Action", "kind action eaction ifindex")
Filter = namedtuple("Filter", "kind parent priority protocol classid actions")


# --- payloads ------------------------------------------------------------------------------------


def ifb_link(name: str, mtu: int) -> bytes:
    """RTM_NEWLINK: an ifb, up, with the host veth's MTU and txqueuelen 0 (Go's CreateIfb)."""
    return (
        _IFINFO.pack(0, 0, 0, IFF_UP, IFF_UP)
        + wire.attr_str(IFLA_IFNAME, name)
        + wire.attr_u32(IFLA_MTU, mtu)
        + wire.attr_u32(IFLA_TXQLEN, 0)
        + wire.nested(IFLA_LINKINFO, wire.attr(IFLA_INFO_KIND, b"ifb"))
    )


def tcmsg(ifindex: int = 0, handle: int = 0, parent: int = 0, info: int = 0) -> bytes:
    return _TCMSG.pack(0, ifindex, handle, parent, info)


def tbf_qdisc(ifindex: int, params: Tbf) -> bytes:
    """RTM_NEWQDISC: tbf 1: at the root; no rate table, link layer unspec (as Go's library)."""
    rate = _RATESPEC.pack(0, 0, 0, 0, 0, params.rate & 0xFFFFFFFF)
    options = wire.attr(TCA_TBF_PARMS, _TBF_QOPT.pack(rate, bytes(12), params.limit, params.buffer, 0))
    if params.rate >= 1 << 32:
        options += wire.attr(TCA_TBF_RATE64, struct.pack("=Q", params.rate))
    return (
        tcmsg(ifindex, TBF_HANDLE, ROOT_PARENT)
        + wire.attr(TCA_KIND, b"tbf\0")
        + wire.attr(TCA_OPTIONS, options)
    )


def ingress_qdisc(ifindex: int) -> bytes:
    """RTM_NEWQDISC: ingress ffff: (with the empty options attribute Go's library sends)."""
    return (
        tcmsg(ifindex, INGRESS_HANDLE, INGRESS_PARENT)
        + wire.attr(TCA_KIND, b"ingress\0")
        + wire.attr(TCA_OPTIONS, b"")
    )


def qdisc_ref(ifindex: int, handle: int, parent: int) -> bytes:
    """RTM_DELQDISC: which qdisc."""
    return tcmsg(ifindex, handle, parent)


def redirect_filter(ifindex: int, ifb_index: int) -> bytes:
    """RTM_NEWTFILTER: u32 match-all on ffff: (prio 1, all protocols, flowid 1:1), its mirred
    actions redirecting to the ifb."""
    sel = _U32_SEL.pack(TC_U32_TERMINAL, 0, 1, 0, 0, 0, 0, 0) + _U32_KEY.pack(0, 0, 0, 0)
    actions = b"".join(
        wire.attr(
            tab,
            wire.attr(TCA_ACT_KIND, b"mirred\0")
            + wire.attr(
                TCA_ACT_OPTIONS,
                wire.attr(TCA_MIRRED_PARMS, _MIRRED.pack(0, 0, a.action, 0, 0, a.eaction, ifb_index)),
            ),
        )
        for tab, a in enumerate(REDIRECT_ACTIONS, start=1)
    )
    options = (
        wire.attr(TCA_U32_SEL, sel)
        + wire.attr_u32(TCA_U32_CLASSID, FILTER_CLASSID)
        + wire.attr(TCA_U32_ACT, actions)
    )
    info = (FILTER_PRIORITY << 16) | _socket.htons(ETH_P_ALL)
    return (
        tcmsg(ifindex, 0, INGRESS_HANDLE, info)
        + wire.attr(TCA_KIND, b"u32\0")
        + wire.attr(TCA_OPTIONS, options)
    )


# --- records -------------------------------------------------------------------------------------


def _text(value: bytes | None) -> str:
    return value.split(b"\0", 1)[0].decode(errors="replace") if value else ""


def parse_qdisc(body: bytes) -> tuple[int, Qdisc]:
    """(ifindex, qdisc) from an RTM_NEWQDISC payload."""
    _, ifindex, handle, parent, _ = _TCMSG.unpack_from(body)
    found = wire.attr_map(body, _TCMSG.size)
    kind = _text(found.get(TCA_KIND))
    params = None
    if kind == "tbf":
        options = wire.attr_map(found.get(TCA_OPTIONS, b""))
        parms = options.get(TCA_TBF_PARMS)
        if parms and len(parms) >= _TBF_QOPT.size:
            rate_spec, _, limit, buffer, _ = _TBF_QOPT.unpack_from(parms)
            rate = _RATESPEC.unpack(rate_spec)[5]
            if len(options.get(TCA_TBF_RATE64, b"")) >= 8:
                rate = struct.unpack_from("=Q", options[TCA_TBF_RATE64])[0]
            params = Tbf(rate=rate, limit=limit, buffer=buffer)
    return ifindex, Qdisc(kind=kind, handle=handle, parent=parent, tbf=params)


def parse_filter(body: bytes) -> Filter:
    """A filter from an RTM_NEWTFILTER payload, with its mirred actions."""
    _, _, _, parent, info = _TCMSG.unpack_from(body)
    found = wire.attr_map(body, _TCMSG.size)
    options = wire.attr_map(found.get(TCA_OPTIONS, b""))
    actions = []
    for _, entry in sorted(wire.attr_map(options.get(TCA_U32_ACT, b"")).items()):
        act = wire.attr_map(entry)
        kind = _text(act.get(TCA_ACT_KIND))
        parms = wire.attr_map(act.get(TCA_ACT_OPTIONS, b"")).get(TCA_MIRRED_PARMS, b"")
        if kind == "mirred" and len(parms) >= _MIRRED.size:
            _, _, action, _, _, eaction, ifindex = _MIRRED.unpack_from(parms)
            actions.append(Action(kind, action, eaction, ifindex))
        else:
            actions.append(Action(kind, 0, 0, 0))
    classid = options.get(TCA_U32_CLASSID, b"")
    return Filter(
        kind=_text(found.get(TCA_KIND)),
        parent=parent,
        priority=info >> 16,
        protocol=_socket.ntohs(info & 0xFFFF),
        classid=struct.unpack_from("=I", classid)[0] if len(classid) >= 4 else 0,
        actions=tuple(actions),
    )
