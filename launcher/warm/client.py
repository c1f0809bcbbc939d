"""The thin client every plugin runs before any heavy import, from source.

The frozen build's launcher (launcher/stub/stub.c) is the same client in C: a runtime executes it,
and a warm call then starts no Python at all. Both must stay in agreement (the address of
context.py, the wire format of protocol.py, the rules below): tests/unit/test_stub.py and
tests/kernel/test_built_bundle.py compare them. This one serves the source shims.

Cheap on purpose (builtins, `_socket`, `_blake2`): it is on the path of every call. When a warm
server serves this exact context, the call runs there and this process only relays the exit
code; otherwise the executable runs cold as it always did, and afterwards starts a server.

Exactly once: a call is "accepted" when the server's worker greets us (HELLO); before that, any
failure (no server, refused, busy for ACCEPT_TIMEOUT) means the worker cannot have seen the
request, so running cold is safe. After HELLO we never fall back.

A killed client: the server watches every worker's connection; when the client's end closes
before the worker has replied (a runtime's timeout killed the plugin), the server SIGKILLs the
worker and all it started at once, as the runtime killed the cold process: no call completes after
its client died (server.py, Server._client_gone).
"""

from __future__ import annotations

import _socket
import os
import sys

from launcher.programs import ENTRIES, TOOLS
from libcni.paths import DEFAULT_PATH

from . import protocol
from .context import ROOT, address

# every plugin of launcher/programs.py (the tools, cnitool and cni-install, are never served)
SERVED = frozenset(ENTRIES) - TOOLS

# Set by the launcher of the frozen build (launcher/stub/stub.c, the same client in C) when it tried
# the server and then ran the frozen program cold; that program removes it from its environment.
LAUNCHER_TRIED = "_CNI_PY_WARM_TRIED"


def call_warm(name: str) -> None:
    """Run this process's call in a warm server and exit with its code; return to run cold."""
    addr = address()
    if addr is None:
        return
    try:
        cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        code = _exchange(sock, addr, name, cwd)
    finally:
        sock.close()
        os.close(cwd)
    if code is not None:
        os._exit(code)


def _exchange(sock, addr: bytes, name: str, cwd: int) -> int | None:
    """The call's exit code, or None when no server accepted it (then nothing ran)."""
    sock.settimeout(protocol.ACCEPT_TIMEOUT)
    try:
        sock.connect(addr)
        if not _trusted(sock):
            return None
        worker = protocol.hello_pid(protocol.recv_exact(sock, protocol.HELLO_SIZE) or b"")
    except OSError:  # no server, refused, or too busy to answer in time
        return None
    if worker is None:
        return None
    sock.settimeout(None)
    request = protocol.frame(_request_items(name))
    fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2, cwd))
    try:
        sent = sock.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        if sent < len(request):
            sock.sendall(request[sent:])
    except OSError:  # e.g. a closed stdio fd: the worker never got a whole request
        return None
    try:
        reply = protocol.recv_exact(sock, 5)
    except OSError:
        reply = None
    if reply is None or reply[:1] != b"E":
        _stderr(f"cni warm server: worker {worker} ended without an exit status (killed?)\n")
        return 1
    return int.from_bytes(reply[1:], "little", signed=True)


def _trusted(sock) -> bool:
    """Whoever listens on the address must be our own uid. Abstract names have no permissions, so
    another user could squat on ours; we never hand them our stdio, environment or config."""
    cred = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # struct ucred: pid, uid, gid
    return int.from_bytes(cred[4:8], sys.byteorder) == os.geteuid()


def _request_items(name: str) -> list[bytes]:
    umask = os.umask(0o022)
    os.umask(umask)
    items = [protocol.KIND_RUN, name.encode(), str(umask).encode(), str(len(sys.argv)).encode()]
    items += [os.fsencode(arg) for arg in sys.argv]
    items += [key + b"=" + value for key, value in os.environb.items()]
    return items


def _stderr(text: str) -> None:
    try:
        os.write(2, text.encode())
    except OSError:
        pass


# -- starting a server -------------------------------------------------------------------------


DEFAULT_MAX_SERVERS = 4


def start_server() -> None:
    """Start a detached server for this context unless one holds the address already.

    The caller binds the address itself and hands the listening socket to the server: of many
    cold calls racing here exactly one binds, and only that one spawns. A server also holds one of
    CNI_PY_WARM_MAX (default 4) slots of its uid on this machine: a tool that runs plugins in many
    throwaway network namespaces gets a few servers, not one per namespace (about 40 MB each)."""
    addr = address()
    if addr is None:
        return
    slot = _take_slot()
    if slot is None:
        return
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.bind(addr)
        sock.listen(512)
        _spawn(sock.fileno(), slot)
    except OSError:
        pass
    finally:
        sock.close()
        os.close(slot)


def _slot_dir() -> str:
    uid = os.geteuid()
    # Root: beside the plugins' other run-time state in /run/cni (private in our test namespaces).
    return f"/run/cni/py-warm-{uid}" if uid == 0 else f"/tmp/cni-py-warm-{uid}"


def _take_slot() -> int | None:
    """An fd holding an exclusive flock on a free slot file, or None when all are taken."""
    import fcntl

    try:
        limit = int(os.environ.get("CNI_PY_WARM_MAX", DEFAULT_MAX_SERVERS))
    except ValueError:
        limit = DEFAULT_MAX_SERVERS
    directory = _slot_dir()
    try:
        os.makedirs(os.path.dirname(directory), 0o755, exist_ok=True)
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(directory)
    except OSError:
        return None
    if st.st_uid != os.geteuid() or st.st_mode & 0o077 or not os.path.isdir(directory):
        return None  # not ours alone: do not trust it
    for n in range(limit):
        try:
            fd = os.open(f"{directory}/slot{n}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            os.close(fd)
    return None


def server_argv(fd: int, slot: int) -> list[str]:
    args = ["--serve", "--fd", str(fd), "--slot", str(slot)]
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    code = f"import sys; sys.path.insert(0, {ROOT!r}); from launcher.multicall import main; main()"
    return [sys.executable, "-I", "-c", code, *args]


def _spawn(listener: int, slot: int) -> None:
    """posix_spawn the server in a new session: stdio on /dev/null, no fd of the caller's but
    the listener (a runtime waits for its pipes to close, so the daemon must not hold them)."""
    env = {"PATH": os.environ.get("PATH", DEFAULT_PATH)}
    env.update((k, v) for k, v in os.environ.items() if k.startswith("CNI_PY_WARM_"))
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        actions: list[tuple] = [(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)]
        for entry in os.listdir("/proc/self/fd"):
            fd = int(entry)
            if fd > 2 and fd not in (listener, slot) and _inheritable(fd):
                actions.append((os.POSIX_SPAWN_CLOSE, fd))
        os.set_inheritable(listener, True)
        os.set_inheritable(slot, True)  # the server holds the slot's lock for as long as it lives
        argv = server_argv(listener, slot)
        os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True, setsigmask=())
    finally:
        os.close(devnull)


def _inheritable(fd: int) -> bool:
    try:
        return os.get_inheritable(fd)
    except OSError:
        return False


# -- status and stop (tests, operators) ----------------------------------------------------------


def request(kind: bytes, addr: bytes | None = None, timeout: float = 30.0) -> dict | None:
    """Ask the server of this context (or of `addr`) for its status, or to stop; None if none."""
    import json

    addr = addr or address()
    if addr is None:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    sock.settimeout(timeout)
    try:
        sock.connect(addr)
        if not _trusted(sock):
            return None
        if protocol.hello_pid(protocol.recv_exact(sock, protocol.HELLO_SIZE) or b"") is None:
            return None
        sock.sendall(protocol.frame([kind]))
        head = protocol.recv_exact(sock, 5)
        if head is None or head[:1] != b"J":
            return None
        body = protocol.recv_exact(sock, int.from_bytes(head[1:], "little"))
        return json.loads(body) if body else None
    except OSError:
        return None
    finally:
        sock.close()
