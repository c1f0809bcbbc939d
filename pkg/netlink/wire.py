"""The netlink wire format, pure: message headers, attributes (TLVs), reply parsing. No sockets.

Layout (linux/netlink.h): a message is a 16-byte `nlmsghdr` (length, type, flags, seq, port id)
and a payload; attributes are 4-byte `nlattr` headers (length, type) with their payload padded to
4 bytes. Everything is in host byte order except where a protocol says otherwise (ctnetlink
ports, marked by NLA_F_NET_BYTEORDER).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from .constants import NLA_F_NESTED, NLA_F_NET_BYTEORDER

HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
ATTR = struct.Struct("=HH")  # nlattr: len, type
U8, U16, U32, I32 = struct.Struct("=B"), struct.Struct("=H"), struct.Struct("=I"), struct.Struct("=i")
NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xFFFF


def align(length: int) -> int:
    return (length + 3) & ~3


def message(kind: int, flags: int, seq: int, payload: bytes) -> bytes:
    return HEADER.pack(HEADER.size + len(payload), kind, flags, seq, 0) + payload


def messages(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(type, flags, seq, payload) of every message in one received datagram."""
    offset, end = 0, len(data)
    while offset + HEADER.size <= end:
        length, kind, flags, seq, _ = HEADER.unpack_from(data, offset)
        if length < HEADER.size or offset + length > end:
            return  # truncated: the kernel never sends this on a datagram it did not cut
        yield kind, flags, seq, data[offset + HEADER.size : offset + length]
        offset += align(length)


def error_code(payload: bytes) -> int:
    """The positive errno of an NLMSG_ERROR (0 for an ACK) or of a dump's NLMSG_DONE."""
    if len(payload) < 4:
        return 0
    return -I32.unpack_from(payload)[0]


# -- attributes: encoding ------------------------------------------------------------------------


def attr(kind: int, payload: bytes) -> bytes:
    length = ATTR.size + len(payload)
    return ATTR.pack(length, kind) + payload + b"\0" * (align(length) - length)


def attr_u8(kind: int, value: int) -> bytes:
    return attr(kind, U8.pack(value))


def attr_u16(kind: int, value: int) -> bytes:
    return attr(kind, U16.pack(value))


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, U32.pack(value))


def attr_be16(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("!H", value))


def attr_str(kind: int, value: str) -> bytes:
    """A NUL-terminated string (names are given by the kernel as bytes; surrogates round-trip)."""
    return attr(kind, value.encode("utf-8", "surrogateescape") + b"\0")


def nested(kind: int, *children: bytes) -> bytes:
    """A nested attribute; pass `kind | NLA_F_NESTED` where the kernel requires the flag."""
    return attr(kind, b"".join(children))


# -- attributes: decoding ------------------------------------------------------------------------


def attrs(data: bytes, offset: int = 0) -> Iterator[tuple[int, bytes]]:
    """(type without flags, payload) of every attribute from `offset` on, in order."""
    end = len(data)
    while offset + ATTR.size <= end:
        length, kind = ATTR.unpack_from(data, offset)
        if length < ATTR.size:
            return
        yield kind & NLA_TYPE_MASK, data[offset + ATTR.size : offset + length]
        offset += align(length)


def attr_map(data: bytes, offset: int = 0) -> dict[int, bytes]:
    """Attributes by type (the last one wins, as in the kernel's nla_parse)."""
    return dict(attrs(data, offset))


def get_u8(table: dict[int, bytes], kind: int, default: int = 0) -> int:
    value = table.get(kind)
    return value[0] if value else default


def get_u32(table: dict[int, bytes], kind: int, default: int = 0) -> int:
    value = table.get(kind)
    return U32.unpack_from(value)[0] if value is not None and len(value) >= 4 else default


def get_i32(table: dict[int, bytes], kind: int, default: int = 0) -> int:
    value = table.get(kind)
    return I32.unpack_from(value)[0] if value is not None and len(value) >= 4 else default


def get_str(table: dict[int, bytes], kind: int) -> str:
    value = table.get(kind)
    if not value:
        return ""
    return value.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
