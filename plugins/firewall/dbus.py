"""A minimal D-Bus client for method calls with string arguments (the system bus, no deps).

Enough of the wire protocol for the firewalld backend: connect to the system bus
(DBUS_SYSTEM_BUS_ADDRESS, else /var/run/dbus/system_bus_socket; `unix:path=` and
`unix:abstract=` addresses), authenticate with EXTERNAL, say Hello, call a method whose arguments
are strings and read back a string or boolean reply or an error.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Mapping

DEFAULT_SYSTEM_BUS = "unix:path=/var/run/dbus/system_bus_socket"
BUS_NAME = "org.freedesktop.DBus"
BUS_PATH = "/org/freedesktop/DBus"
TIMEOUT = 25.0  # Go's godbus default call timeout is none; ours is bounded

_METHOD_CALL, _METHOD_RETURN, _ERROR = 1, 2, 3
_F_PATH, _F_INTERFACE, _F_MEMBER, _F_ERROR_NAME, _F_REPLY_SERIAL, _F_DESTINATION = 1, 2, 3, 4, 5, 6
_F_SIGNATURE = 8


class DBusError(Exception):
    """A call failed: `name` is the D-Bus error name ('' for a transport failure)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def system_bus_addresses(env: Mapping[str, str]) -> list[str]:
    return [a for a in env.get("DBUS_SYSTEM_BUS_ADDRESS", DEFAULT_SYSTEM_BUS).split(";") if a]


def socket_target(address: str) -> str | bytes | None:
    """The socket a `unix:` address names (abstract as a NUL-prefixed name); None otherwise."""
    kind, _, rest = address.partition(":")
    if kind != "unix":
        return None
    params = dict(p.partition("=")[::2] for p in rest.split(",") if p)
    if "path" in params:
        return _unescape(params["path"])
    if "abstract" in params:
        return "\0" + _unescape(params["abstract"])
    return None


def _unescape(value: str) -> str:
    out = bytearray()
    i = 0
    raw = value.encode()
    while i < len(raw):
        if raw[i : i + 1] == b"%" and i + 3 <= len(raw):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode(errors="replace")


def _pad(buf: bytearray, align: int) -> None:
    buf.extend(b"\0" * (-len(buf) % align))


def _string(buf: bytearray, text: str) -> None:
    data = text.encode()
    _pad(buf, 4)
    buf.extend(struct.pack("<I", len(data)))
    buf.extend(data + b"\0")


def _signature(buf: bytearray, sig: str) -> None:
    buf.append(len(sig))
    buf.extend(sig.encode() + b"\0")


def encode_call(serial: int, destination: str, path: str, interface: str, member: str, args: tuple) -> bytes:
    body = bytearray()
    for arg in args:
        _string(body, arg)
    fields = bytearray()
    for code, sig, value in (
        (_F_PATH, "o", path),
        (_F_INTERFACE, "s", interface),
        (_F_MEMBER, "s", member),
        (_F_DESTINATION, "s", destination),
        (_F_SIGNATURE, "g", "s" * len(args)),
    ):
        if code == _F_SIGNATURE and not args:
            continue
        _pad(fields, 8)
        fields.append(code)
        _signature(fields, sig)
        if sig == "g":
            _signature(fields, value)
        else:
            _string(fields, value)
    head = bytearray(b"l" + bytes([_METHOD_CALL, 0, 1]))
    head.extend(struct.pack("<III", len(body), serial, len(fields)))
    head.extend(fields)
    _pad(head, 8)
    return bytes(head + body)


class _Reader:
    def __init__(self, data: bytes, endian: str) -> None:
        self.data, self.pos, self.endian = data, 0, endian

    def align(self, n: int) -> None:
        self.pos += -self.pos % n

    def u32(self) -> int:
        self.align(4)
        (value,) = struct.unpack_from(self.endian + "I", self.data, self.pos)
        self.pos += 4
        return value

    def string(self) -> str:
        size = self.u32()
        text = self.data[self.pos : self.pos + size].decode(errors="replace")
        self.pos += size + 1
        return text

    def signature(self) -> str:
        size = self.data[self.pos]
        text = self.data[self.pos + 1 : self.pos + 1 + size].decode()
        self.pos += size + 2
        return text

    def value(self, sig: str):
        if sig in ("s", "o"):
            return self.string()
        if sig == "g":
            return self.signature()
        if sig in ("u", "b"):
            return self.u32()
        raise DBusError("", f"unsupported D-Bus type {sig!r}")


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.serial = 0
        self.buffer = b""

    @classmethod
    def system(cls, env: Mapping[str, str], timeout: float = TIMEOUT) -> Connection:
        """Connect and authenticate to the system bus named by `env` (the caller's environment:
        a warm server's own may differ); DBusError('', ...) when it cannot."""
        last = "no usable system bus address"
        for address in system_bus_addresses(env):
            target = socket_target(address)
            if target is None:
                last = f"unsupported D-Bus address {address}"
                continue
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(target)
                conn = cls(sock)
                conn._auth()
                conn.call(BUS_NAME, BUS_PATH, BUS_NAME, "Hello")
                return conn
            except OSError as err:
                sock.close()
                last = f"dial unix {address.partition('=')[2]}: {err.strerror or err}"
            except DBusError:
                sock.close()
                raise
        raise DBusError("", last)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _auth(self) -> None:
        uid = str(os.geteuid()).encode().hex()
        self.sock.sendall(b"\0AUTH EXTERNAL " + uid.encode() + b"\r\n")
        reply = self._line()
        if not reply.startswith(b"OK"):
            raise DBusError("", f"D-Bus authentication failed: {reply.decode(errors='replace')}")
        self.sock.sendall(b"BEGIN\r\n")

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise DBusError("", "D-Bus connection closed")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(max(4096, size - len(self.buffer)))
            if not chunk:
                raise DBusError("", "D-Bus connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _message(self) -> tuple[int, dict[int, object], bytes, str]:
        fixed = self._read(16)
        endian = "<" if fixed[0:1] == b"l" else ">"
        kind = fixed[1]
        body_len, _serial, fields_len = struct.unpack(endian + "III", fixed[4:16])
        rest = self._read(fields_len + (-(16 + fields_len) % 8) + body_len)
        reader = _Reader(fixed + rest, endian)
        reader.pos = 16
        end = 16 + fields_len
        fields: dict[int, object] = {}
        while reader.pos < end:
            reader.align(8)
            code = reader.data[reader.pos]
            reader.pos += 1
            fields[code] = reader.value(reader.signature())
        reader.pos = end
        reader.align(8)
        return kind, fields, reader.data[reader.pos :], endian

    def call(self, destination: str, path: str, interface: str, member: str, *args: str):
        """Call a method; the first reply value (str, or int for u/b), or None."""
        self.serial += 1
        serial = self.serial
        try:
            self.sock.sendall(encode_call(serial, destination, path, interface, member, args))
            while True:
                kind, fields, body, endian = self._message()
                if fields.get(_F_REPLY_SERIAL) != serial or kind not in (_METHOD_RETURN, _ERROR):
                    continue  # signals (NameAcquired) and other traffic
                sig = str(fields.get(_F_SIGNATURE, ""))
                reader = _Reader(body, endian)
                first = reader.value(sig[0]) if sig else None
                if kind == _ERROR:
                    raise DBusError(str(fields.get(_F_ERROR_NAME, "")), str(first or ""))
                return first
        except OSError as err:
            raise DBusError("", f"D-Bus call {member} failed: {err}") from None
