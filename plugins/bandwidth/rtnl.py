"""The kernel edge: the few rtnetlink messages bandwidth needs, packed by hand over a plain socket.

Go's plugin talks netlink (vishvananda/netlink), not `tc`, and so do we: the messages below are
byte for byte what that library sends (an ifb link, tbf and ingress qdiscs, a u32 filter with two
mirred actions), so the kernel holds the same objects. Packing them with `struct` costs no imports;
pyroute2's tc classes cost ~20 ms of imports and `tc` exec ~2-3 ms a call plus different kernel
state (link layer, rate tables): see README.md.

`encode_*`/`parse_*` are pure (bytes in, bytes or records out); `Rtnl` does the socket I/O.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections import namedtuple

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

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWQDISC, RTM_DELQDISC, RTM_GETQDISC = 36, 37, 38
RTM_NEWTFILTER, RTM_GETTFILTER = 44, 46
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x1, 0x4, 0x200, 0x400, 0x300
NLA_TYPE_MASK = 0x3FFF
IFF_UP = 0x1

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_TXQLEN, IFLA_LINKINFO = 1, 3, 4, 5, 13, 18
IFLA_INFO_KIND = 1
TCA_KIND, TCA_OPTIONS = 1, 2
TCA_TBF_PARMS, TCA_TBF_RATE64 = 1, 4
TCA_U32_CLASSID, TCA_U32_SEL, TCA_U32_ACT = 1, 5, 7
TCA_ACT_KIND, TCA_ACT_OPTIONS = 1, 2
TCA_MIRRED_PARMS = 2
TC_U32_TERMINAL = 1

_NLMSG = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_TCMSG = struct.Struct("=BxxxiIII")
_ATTR = struct.Struct("=HH")
_RATESPEC = struct.Struct("=BBHhHI")
_TBF_QOPT = struct.Struct("=12s12sIII")
_U32_SEL = struct.Struct("=BBBxHHhhI")
_U32_KEY = struct.Struct("=IIii")
_MIRRED = struct.Struct("=IIiiiiI")
_U32 = struct.Struct("=I")

Link = namedtuple("Link", "index name kind mtu mac peer_index")
Action = namedtuple("Action", "kind action eaction ifindex")
Filter = namedtuple("Filter", "kind parent priority protocol classid actions")


# --- encoding ------------------------------------------------------------------------------------


def attr(kind: int, payload: bytes = b"") -> bytes:
    size = _ATTR.size + len(payload)
    return _ATTR.pack(size, kind) + payload + b"\0" * (-size % 4)


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def message(kind: int, flags: int, body: bytes, seq: int = 0) -> bytes:
    return _NLMSG.pack(_NLMSG.size + len(body), kind, NLM_F_REQUEST | flags, seq, 0) + body


def encode_link_get(name: str = "", index: int = 0) -> bytes:
    body = _IFINFO.pack(0, 0, index, 0, 0) + (attr(IFLA_IFNAME, _cstr(name)) if name else b"")
    return message(RTM_GETLINK, NLM_F_ACK, body)


def encode_link_del(index: int) -> bytes:
    return message(RTM_DELLINK, NLM_F_ACK, _IFINFO.pack(0, 0, index, 0, 0))


def encode_ifb_add(name: str, mtu: int) -> bytes:
    """An ifb device, up, with the host veth's MTU and txqueuelen 0 (Go's CreateIfb)."""
    body = (
        _IFINFO.pack(0, 0, 0, IFF_UP, IFF_UP)
        + attr(IFLA_IFNAME, _cstr(name))
        + attr(IFLA_MTU, _U32.pack(mtu))
        + attr(IFLA_TXQLEN, _U32.pack(0))
        + attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"ifb"))
    )
    return message(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)


def _tcmsg(ifindex: int, handle: int, parent: int, info: int = 0) -> bytes:
    return _TCMSG.pack(0, ifindex, handle, parent, info)


def encode_tbf_add(ifindex: int, params: Tbf) -> bytes:
    rate = _RATESPEC.pack(0, 0, 0, 0, 0, params.rate & 0xFFFFFFFF)
    options = attr(TCA_TBF_PARMS, _TBF_QOPT.pack(rate, bytes(12), params.limit, params.buffer, 0))
    if params.rate >= 1 << 32:
        options += attr(TCA_TBF_RATE64, struct.pack("=Q", params.rate))
    body = _tcmsg(ifindex, TBF_HANDLE, ROOT_PARENT) + attr(TCA_KIND, b"tbf\0") + attr(TCA_OPTIONS, options)
    return message(RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)


def encode_ingress_add(ifindex: int) -> bytes:
    body = _tcmsg(ifindex, INGRESS_HANDLE, INGRESS_PARENT) + attr(TCA_KIND, b"ingress\0") + attr(TCA_OPTIONS)
    return message(RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)


def encode_qdisc_del(ifindex: int, handle: int, parent: int) -> bytes:
    return message(RTM_DELQDISC, NLM_F_ACK, _tcmsg(ifindex, handle, parent))


def encode_redirect_filter_add(ifindex: int, ifb_index: int) -> bytes:
    """u32 match-all on ffff: (prio 1, all protocols, flowid 1:1) redirecting to the ifb."""
    sel = _U32_SEL.pack(TC_U32_TERMINAL, 0, 1, 0, 0, 0, 0, 0) + _U32_KEY.pack(0, 0, 0, 0)
    actions = b"".join(
        attr(
            tab,
            attr(TCA_ACT_KIND, b"mirred\0")
            + attr(
                TCA_ACT_OPTIONS,
                attr(TCA_MIRRED_PARMS, _MIRRED.pack(0, 0, a.action, 0, 0, a.eaction, ifb_index)),
            ),
        )
        for tab, a in enumerate(REDIRECT_ACTIONS, start=1)
    )
    options = (
        attr(TCA_U32_SEL, sel) + attr(TCA_U32_CLASSID, _U32.pack(FILTER_CLASSID)) + attr(TCA_U32_ACT, actions)
    )
    info = (FILTER_PRIORITY << 16) | socket.htons(ETH_P_ALL)
    body = _tcmsg(ifindex, 0, INGRESS_HANDLE, info) + attr(TCA_KIND, b"u32\0") + attr(TCA_OPTIONS, options)
    return message(RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)


def encode_qdisc_dump() -> bytes:
    return message(RTM_GETQDISC, NLM_F_DUMP, _tcmsg(0, 0, 0))


def encode_filter_dump(ifindex: int, parent: int) -> bytes:
    return message(RTM_GETTFILTER, NLM_F_DUMP, _tcmsg(ifindex, 0, parent))


# --- decoding ------------------------------------------------------------------------------------


def attrs(data: bytes, offset: int = 0, end: int | None = None) -> dict[int, bytes]:
    """Attributes from data[offset:end] by type (the last of a repeated type wins)."""
    end = len(data) if end is None else end
    out: dict[int, bytes] = {}
    while offset + _ATTR.size <= end:
        size, kind = _ATTR.unpack_from(data, offset)
        if size < _ATTR.size:
            break
        out[kind & NLA_TYPE_MASK] = data[offset + _ATTR.size : offset + size]
        offset += (size + 3) & ~3
    return out


def _text(value: bytes | None) -> str:
    return value.split(b"\0", 1)[0].decode(errors="replace") if value else ""


def _u32(value: bytes | None) -> int:
    return _U32.unpack_from(value)[0] if value and len(value) >= 4 else 0


def parse_link(body: bytes) -> Link:
    _, _, index, _, _ = _IFINFO.unpack_from(body)
    found = attrs(body, _IFINFO.size)
    info = attrs(found.get(IFLA_LINKINFO, b""))
    mac = found.get(IFLA_ADDRESS, b"")
    return Link(
        index=index,
        name=_text(found.get(IFLA_IFNAME)),
        kind=_text(info.get(IFLA_INFO_KIND)),
        mtu=_u32(found.get(IFLA_MTU)),
        mac=":".join(f"{b:02x}" for b in mac),
        peer_index=_u32(found.get(IFLA_LINK)),
    )


def parse_qdisc(body: bytes) -> tuple[int, Qdisc]:
    """(ifindex, qdisc) from an RTM_NEWQDISC message body."""
    _, ifindex, handle, parent, _ = _TCMSG.unpack_from(body)
    found = attrs(body, _TCMSG.size)
    kind = _text(found.get(TCA_KIND))
    params = None
    if kind == "tbf":
        options = attrs(found.get(TCA_OPTIONS, b""))
        parms = options.get(TCA_TBF_PARMS)
        if parms and len(parms) >= _TBF_QOPT.size:
            rate_spec, _, limit, buffer, _ = _TBF_QOPT.unpack_from(parms)
            rate = _RATESPEC.unpack(rate_spec)[5]
            if TCA_TBF_RATE64 in options:
                rate = struct.unpack_from("=Q", options[TCA_TBF_RATE64])[0]
            params = Tbf(rate=rate, limit=limit, buffer=buffer)
    return ifindex, Qdisc(kind=kind, handle=handle, parent=parent, tbf=params)


def parse_filter(body: bytes) -> Filter:
    _, _, _, parent, info = _TCMSG.unpack_from(body)
    found = attrs(body, _TCMSG.size)
    kind = _text(found.get(TCA_KIND))
    options = attrs(found.get(TCA_OPTIONS, b""))
    actions = []
    table = found.get(TCA_OPTIONS) and options.get(TCA_U32_ACT, b"")
    for _, entry in sorted(attrs(table or b"").items()):
        act = attrs(entry)
        act_kind = _text(act.get(TCA_ACT_KIND))
        parms = attrs(act.get(TCA_ACT_OPTIONS, b"")).get(TCA_MIRRED_PARMS, b"")
        if act_kind == "mirred" and len(parms) >= _MIRRED.size:
            _, _, action, _, _, eaction, ifindex = _MIRRED.unpack_from(parms)
            actions.append(Action(act_kind, action, eaction, ifindex))
        else:
            actions.append(Action(act_kind, 0, 0, 0))
    return Filter(
        kind=kind,
        parent=parent,
        priority=info >> 16,
        protocol=socket.ntohs(info & 0xFFFF),
        classid=_u32(options.get(TCA_U32_CLASSID)),
        actions=tuple(actions),
    )


# --- I/O -----------------------------------------------------------------------------------------


class Rtnl:
    """A NETLINK_ROUTE socket (made in the netns it should act in) sending one request at a time."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self.sock = sock or socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE
        )
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, request: bytes) -> int:
        self.seq += 1
        data = bytearray(request)
        struct.pack_into("=I", data, 8, self.seq)
        self.sock.sendto(bytes(data), (0, 0))
        return self.seq

    def _replies(self, seq: int):
        """Yield (type, body) of the replies to `seq` until an ack, an error or the end of a dump."""
        while True:
            data = self.sock.recv(1 << 20)
            offset = 0
            while offset + _NLMSG.size <= len(data):
                length, kind, _, msg_seq, _ = _NLMSG.unpack_from(data, offset)
                if length < _NLMSG.size:
                    break
                body = data[offset + _NLMSG.size : offset + length]
                offset += (length + 3) & ~3
                if msg_seq != seq:
                    continue
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", body)
                    if code:
                        raise OSError(-code, os.strerror(-code))
                    return
                yield kind, body

    def request(self, msg: bytes) -> list[bytes]:
        return [body for _, body in self._replies(self._send(msg))]

    def link(self, name: str = "", index: int = 0) -> Link | None:
        """The link by name or index, or None when there is none."""
        try:
            replies = self.request(encode_link_get(name, index))
        except OSError as err:
            if err.errno in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return parse_link(replies[0]) if replies else None

    def qdiscs(self, ifindex: int) -> list[Qdisc]:
        out = []
        for body in self.request(encode_qdisc_dump()):
            index, qdisc = parse_qdisc(body)
            if index == ifindex:
                out.append(qdisc)
        return out

    def filters(self, ifindex: int, parent: int) -> list[Filter]:
        try:
            return [parse_filter(body) for body in self.request(encode_filter_dump(ifindex, parent))]
        except OSError as err:
            if err.errno in (errno.EINVAL, errno.ENOENT, errno.ENODEV):
                return []
            raise
