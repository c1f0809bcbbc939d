"""The wire format between client and server (one unix stream connection per call).

1. server -> client  HELLO: MAGIC + the worker's pid (4 bytes). Until it arrives the call is not
   accepted: a client that gives up waiting may run cold without risk of running twice.
2. client -> server  REQUEST: a framed list of byte strings (kind, name, umask, argv, environment),
   sent with SCM_RIGHTS carrying the caller's fds 0, 1, 2 and its working directory.
3. server -> client  REPLY: b"E" + exit code (4 bytes, signed), or b"J" + length (4 bytes) + JSON
   for the status and stop requests (sent without fds).

Only builtins here: the client imports this before anything else.
"""

from __future__ import annotations

MAGIC = b"CNIW1"
HELLO_SIZE = len(MAGIC) + 4
ACCEPT_TIMEOUT = 2.0  # seconds a client waits for HELLO before running cold
REQUEST_TIMEOUT = 10.0  # seconds a worker waits for the request after HELLO
MAX_REQUEST = 16 << 20
FDS = 4  # stdin, stdout, stderr, working directory

KIND_RUN = b"run"
KIND_STATUS = b"status"
KIND_STOP = b"stop"


def frame(items: list[bytes]) -> bytes:
    body = b"".join(len(item).to_bytes(4, "little") + item for item in items)
    return len(body).to_bytes(4, "little") + body


def unframe(body: bytes) -> list[bytes]:
    items, at = [], 0
    while at < len(body):
        size = int.from_bytes(body[at : at + 4], "little")
        items.append(body[at + 4 : at + 4 + size])
        at += 4 + size
    return items


def hello(pid: int) -> bytes:
    return MAGIC + pid.to_bytes(4, "little")


def hello_pid(data: bytes) -> int | None:
    if len(data) != HELLO_SIZE or not data.startswith(MAGIC):
        return None
    return int.from_bytes(data[len(MAGIC) :], "little")


def exit_reply(code: int) -> bytes:
    return b"E" + code.to_bytes(4, "little", signed=True)


def json_reply(body: bytes) -> bytes:
    return b"J" + len(body).to_bytes(4, "little") + body


def recv_exact(sock, size: int) -> bytes | None:
    """Exactly `size` bytes, or None at end of stream."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
