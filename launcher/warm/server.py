"""The warm server: import everything the plugins need once, then fork one worker per call.

The parent only accepts, checks the peer's credentials and forks; each worker greets its client,
receives the caller's stdio, working directory, umask, argv and environment, and runs the same
entry a cold process runs. Fork isolates everything a call changes (setns, globals, cwd).
The server exits after CNI_PY_WARM_IDLE seconds without calls (default 120) and as soon as its
program changed on disk (an upgrade, or an edited checkout); it then releases its address first,
so the next cold call starts a fresh server while running workers finish their calls.

A worker never outlives its client: the server keeps its own end of every worker's connection and
polls it for the client's hang-up (POLLRDHUP). A client that goes away before its worker replied
was killed (a runtime's timeout, which then runs DEL), so the server SIGKILLs the worker and every
process it started (e.g. a delegated IPAM plugin, in a group of its own) right away, before it
accepts any later connection: the call ends as the killed cold process would have, and no ADD
completes after its runtime gave up on it. A worker reports its call complete (its pid on a pipe)
just before it replies, so the normal hang-up after a reply costs nothing. Workers also die with
the server (PR_SET_PDEATHSIG), so none runs unwatched.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback

from . import protocol
from .client import SERVED
from .context import ROOT, address, file_identity, program_paths

DEFAULT_IDLE = 120.0
TICK = 1.0  # seconds between idle / program checks while nothing happens
RESCAN_EVERY = 1.0  # seconds between full scans of the loaded module files
SKIP_PRELOAD = ("launcher.warm", "launcher.shims", "libcni.cnitool")


_log_fd = 2  # a worker keeps the server's stderr here before taking over the caller's


def log(message: str) -> None:
    try:
        os.write(_log_fd, f"cni warm server [{os.getpid()}]: {message}\n".encode(errors="replace"))
    except OSError:
        pass


# -- who may be served ---------------------------------------------------------------------------


def peer_credentials(conn: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process that connected (SO_PEERCRED, taken at connect time)."""
    size = struct.calcsize("3i")
    return struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size))


def effective_capabilities(pid: int | str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        return None
    return None


def refusal(conn: socket.socket, euid: int, capabilities: int | None) -> str | None:
    """Why the peer must not be served, or None: it must have our euid and every capability we have
    (a root process with fewer capabilities must not get them through us)."""
    pid, uid, _gid = peer_credentials(conn)
    if uid != euid:
        return f"pid {pid}: uid {uid} is not the server's uid {euid}"
    if capabilities:
        theirs = effective_capabilities(pid)
        if theirs is None:
            return f"pid {pid}: cannot read its capabilities"
        if capabilities & ~theirs:
            return f"pid {pid}: lacks capabilities {capabilities & ~theirs:#x}"
    return None


# -- what is warm --------------------------------------------------------------------------------


def preload() -> None:
    """Import every module a call may need and run the lazy one-time set-ups once, so that the
    forked workers start with them done."""
    from launcher.programs import ENTRIES

    for name in sorted(SERVED):
        module = importlib.import_module(ENTRIES[name])
        importlib.import_module(module.PLUGIN.commands)
    for package in ("libcni", "pkg", "plugins", "ipam"):
        for name in submodules(package, os.path.join(ROOT, package)):
            if name.startswith(SKIP_PRELOAD):
                continue
            try:
                importlib.import_module(name)
            except Exception as err:  # noqa: BLE001 - a module that cannot load here loads (or fails) in the call
                log(f"preload {name}: {err}")
    _warm_netlink()


def submodules(package: str, directory: str) -> list[str]:
    """Every module under a package directory, from its files: .py from source, .pyc in the frozen
    bundle (where pkgutil sees none of them)."""
    found: list[str] = []
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return found
    for entry in entries:
        path = os.path.join(directory, entry)
        stem, ext = os.path.splitext(entry)
        if ext in (".py", ".pyc") and stem != "__init__" and stem.isidentifier():
            found.append(f"{package}.{stem}")
        elif entry.isidentifier() and any(
            os.path.exists(os.path.join(path, init)) for init in ("__init__.py", "__init__.pyc")
        ):
            found.append(f"{package}.{entry}")
            found += submodules(f"{package}.{entry}", path)
    return sorted(set(found))


def _warm_netlink() -> None:
    """One netlink round of each kind, so that a call's first one finds everything loaded."""
    from pkg.netlink import NetlinkError, Rtnl

    try:
        with Rtnl.open() as nl:
            nl.links()
            nl.addrs()
            nl.routes()
    except NetlinkError as err:  # only a warm-up
        log(f"netlink warm-up: {err}")


@contextlib.contextmanager
def _lowered_priority():
    try:
        before = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, min(before + 10, 19))
    except OSError:
        yield
        return
    try:
        yield
    finally:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, before)
        except OSError:  # not allowed to raise it again (no CAP_SYS_NICE): workers would run slowly
            log("cannot restore the priority after warming up; exiting")
            raise SystemExit(0) from None


class ProgramWatch:
    """Notices when the program on disk is no longer the one running: the executable (or python
    and checkout) cheaply on every call, every loaded module file of ours at most once a second."""

    def __init__(self) -> None:
        self.program = self._program()
        self.modules = self._modules()
        self.scanned = time.monotonic()

    @staticmethod
    def _program() -> list[str]:
        try:
            return [file_identity(path) for path in program_paths()]
        except OSError:
            return []

    @staticmethod
    def _modules() -> dict[str, tuple[int, int, int]]:
        found: dict[str, tuple[int, int, int]] = {}
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if not path or not os.path.abspath(path).startswith(ROOT + os.sep):
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            found[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
        return found

    def changed(self) -> bool:
        if self._program() != self.program:
            return True
        if time.monotonic() - self.scanned < RESCAN_EVERY:
            return False
        self.scanned = time.monotonic()
        for path, before in self.modules.items():
            try:
                st = os.stat(path)
            except OSError:
                return True
            if (st.st_ino, st.st_mtime_ns, st.st_size) != before:
                return True
        return False


# -- the server ----------------------------------------------------------------------------------


class Server:
    def __init__(self, listener: socket.socket, idle: float) -> None:
        self.listener = listener
        self.idle = idle
        self.address = listener.getsockname()
        self.euid = os.geteuid()
        self.capabilities = effective_capabilities("self")
        self.children: set[int] = set()
        self.clients: dict[int, tuple[int, socket.socket]] = {}  # fd -> (worker pid, its connection)
        self.poller = select.poll()
        self.served = 0
        self.refused = 0
        self.started = time.time()
        self.last_activity = time.monotonic()
        self.stopping = ""
        self.watch: ProgramWatch | None = None
        self.wake_read, self.wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # a worker writes its pid here when its call is complete, before it replies: its client
        # may then go away without the worker being killed (nothing is left to abort)
        self.done_read, self.done_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def run(self) -> None:
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that SIGCHLD wakes select
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        with _lowered_priority():  # started by a call: warming up must not slow the calls running now
            preload()
        self.watch = ProgramWatch()
        gc.collect()
        gc.freeze()  # workers then do not touch (and copy) every page of the preloaded heap
        self.listener.setblocking(False)
        self.poller.register(self.listener, select.POLLIN)
        self.poller.register(self.wake_read, select.POLLIN)
        self.poller.register(self.done_read, select.POLLIN)
        log(f"serving {self.address!r} (idle exit after {self.idle:g} s)")
        while not self.stopping:
            ready = self._wait()
            if self.listener.fileno() in ready:
                self._accept_all()
            if self.watch.changed():
                self.stopping = "its program changed on disk"
            elif not self.children and time.monotonic() - self.last_activity > self.idle:
                self.stopping = "idle"
        self.shutdown()

    def shutdown(self) -> None:
        """Release the address at once (the next cold call may start a new server), then let the
        running workers finish: they report to their clients themselves."""
        log(f"exiting: {self.stopping}")
        self.poller.unregister(self.listener)
        self.listener.close()
        while self.children:  # still watching their clients
            self._wait()

    def _wait(self) -> set[int]:
        """Poll once: kill the workers whose client is gone (first), reap the ended ones; return
        the other ready fds."""
        try:
            events = self.poller.poll(TICK * 1000)
        except InterruptedError:
            events = []
        self._drain_wakeups()
        self._drain_done()  # first: a completed call's client may already have gone
        for fd, _mask in events:
            if fd in self.clients:
                self._client_gone(fd)
        self._reap()
        return {fd for fd, _mask in events}

    def _watch(self, pid: int, conn: socket.socket) -> None:
        self.clients[conn.fileno()] = (pid, conn)
        self.poller.register(conn, select.POLLRDHUP)  # POLLHUP and POLLERR come anyway

    def _unwatch(self, fd: int) -> tuple[int, socket.socket] | None:
        entry = self.clients.pop(fd, None)
        if entry is not None:
            self.poller.unregister(fd)
            entry[1].close()
        return entry

    def _client_gone(self, fd: int) -> None:
        """The client closed its end: if its worker still runs, it runs for nobody. Kill it and
        everything it started, as the runtime's kill would have ended a cold call."""
        entry = self._unwatch(fd)
        if entry is None or entry[0] not in self.children:
            return
        kill_tree(entry[0])

    def _drain_done(self) -> None:
        try:
            data = os.read(self.done_read, 4096)
        except (BlockingIOError, InterruptedError):
            return
        done = {int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data) - 3, 4)}
        for fd in [fd for fd, entry in self.clients.items() if entry[0] in done]:
            self._unwatch(fd)

    def _stop(self, signum: int, _frame) -> None:
        self.stopping = f"signal {signum}"

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_read, 512):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _reap(self) -> None:
        while self.children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            self.children.discard(pid)
            for fd in [fd for fd, entry in self.clients.items() if entry[0] == pid]:
                self._unwatch(fd)  # the client now sees end of stream if the worker never replied
            self.last_activity = time.monotonic()

    def _accept_all(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # EMFILE and the like: leave the rest queued for the next round
                log(f"accept: {err}")
                return
            if not self._handle(conn):
                conn.close()

    def _handle(self, conn: socket.socket) -> bool:
        """Serve one connection; True when a worker took it (and the server watches its client)."""
        self.last_activity = time.monotonic()
        why = refusal(conn, self.euid, self.capabilities)
        if why is not None:
            self.refused += 1
            log(f"refused {why}")
            return False  # closing without HELLO: the client runs cold
        if self.watch is not None and self.watch.changed():
            self.stopping = "its program changed on disk"
            return False
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError as err:
            log(f"fork: {err}")
            return False
        if pid == 0:
            worker(conn, self, parent)  # never returns
        self.children.add(pid)
        self._watch(pid, conn)
        self.served += 1
        return True

    def status(self) -> dict:
        return {
            "pid": os.getpid(),
            "address": self.address.decode(errors="replace").lstrip("\0"),
            "served": self.served,
            "refused": self.refused,
            "workers": len(self.children),
            "started": self.started,
            "idle_timeout": self.idle,
            "program": program_paths(),
        }


def kill_tree(root: int) -> None:
    """SIGKILL a process and every descendant, even those in a group of their own (a delegated
    plugin runs in its own process group). Stop them first, until no new one appears, so that
    none can fork or be reparented away while the tree is read; then kill them all."""
    stopped: set[int] = set()
    while True:
        tree = {root} | descendants(root)
        new = tree - stopped
        if not new:
            break
        for pid in new:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
        stopped |= new
    for pid in stopped:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


# -- one call ------------------------------------------------------------------------------------


def worker(conn: socket.socket, server: Server, parent: int) -> None:
    """The forked child serving one connection; always ends the process."""
    global _log_fd
    code = 0
    try:
        _die_with(parent)
        _log_fd = os.dup(2)
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        server.listener.close()
        for _pid, other in server.clients.values():
            other.close()  # the other workers' clients must see their end of stream, not ours
        os.close(server.wake_read)
        os.close(server.wake_write)
        os.close(server.done_read)
        gc.unfreeze()  # this short-lived worker collects again (the server froze its preloaded heap)
        conn.setblocking(True)
        conn.settimeout(protocol.REQUEST_TIMEOUT)
        status = dict(server.status(), pid=os.getppid(), worker=os.getpid())
        conn.sendall(protocol.hello(os.getpid()))
        items, fds = receive_request(conn)
        if not items:
            return
        kind = items[0]
        if kind == protocol.KIND_STATUS:
            _done(server)
            conn.sendall(protocol.json_reply(json.dumps(status).encode()))
        elif kind == protocol.KIND_STOP:
            os.kill(os.getppid(), signal.SIGTERM)
            _done(server)
            conn.sendall(protocol.json_reply(json.dumps(status).encode()))
        elif kind == protocol.KIND_RUN and len(fds) == protocol.FDS:
            conn.settimeout(None)
            debug = _Debug() if os.environ.get("CNI_PY_WARM_DEBUG") else None
            code = run_call(items, fds)
            if debug is not None:
                debug.report(items[1].decode())
            _done(server)
            try:
                conn.sendall(protocol.exit_reply(code))
            except OSError:
                pass  # the caller is gone; the call is done all the same
        for fd in fds:
            _close(fd)
    except BaseException:  # noqa: BLE001 - a worker must never return into the server's loop
        log("worker failed:\n" + traceback.format_exc())
        code = 1
    finally:
        os._exit(code)


def _done(server: Server) -> None:
    """Tell the server this call is complete (before replying: the client leaves after the reply)."""
    with contextlib.suppress(OSError):
        os.write(server.done_write, os.getpid().to_bytes(4, "little"))


def _die_with(parent: int) -> None:
    """SIGKILL this worker when the server dies (no worker runs unwatched)."""
    from libcni import libc

    pr_set_pdeathsig = 1
    libc.call("prctl", pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the server died before the line above
        os._exit(1)


class _Debug:
    """CNI_PY_WARM_DEBUG=1 in the server's environment: log each call's time and the modules it
    still had to import (candidates for preload) to the server's stderr."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.modules = set(sys.modules)

    def report(self, name: str) -> None:
        late = sorted(set(sys.modules) - self.modules)
        log(f"{name}: {1000 * (time.perf_counter() - self.start):.1f} ms; imported {late}")


def receive_request(conn: socket.socket) -> tuple[list[bytes], list[int]]:
    fds: list[int] = []
    space = socket.CMSG_SPACE(protocol.FDS * 4)
    data, ancillary, _flags, _addr = conn.recvmsg(65536, space, socket.MSG_CMSG_CLOEXEC)
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds += [
                int.from_bytes(payload[i : i + 4], sys.byteorder, signed=True) for i in range(0, usable, 4)
            ]
    while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "little"):
        if len(data) >= 4 and int.from_bytes(data[:4], "little") > protocol.MAX_REQUEST:
            return [], fds
        chunk = conn.recv(65536)
        if not chunk:
            return [], fds
        data += chunk
    return protocol.unframe(data[4 : 4 + int.from_bytes(data[:4], "little")]), fds


def run_call(items: list[bytes], fds: list[int]) -> int:
    """Become the caller's process (stdio, cwd, umask, argv, environment), run the plugin as a cold
    process would, and return its exit code."""
    name = items[1].decode()
    umask = int(items[2])
    argc = int(items[3])
    argv = [os.fsdecode(arg) for arg in items[4 : 4 + argc]]
    stdin, stdout, stderr, cwd = fds
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
    os.fchdir(cwd)
    os.umask(umask)
    os.environb.clear()
    for item in items[4 + argc :]:
        key, sep, value = item.partition(b"=")
        if sep and key:
            try:
                os.environb[key] = value
            except ValueError:
                pass
    sys.argv = argv
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdio, like Python sets it up
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115
    from launcher.multicall import delegate_plugin
    from launcher.programs import ENTRIES
    from libcni.skel import run_call as skel_run_call
    from libcni.skel import set_delegate_resolver

    set_delegate_resolver(delegate_plugin)

    if name not in SERVED:
        sys.stderr.write(f"unknown program {name!r}\n")
        return 2
    return skel_run_call(importlib.import_module(ENTRIES[name]).PLUGIN)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


# -- entry ---------------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    """`--serve [--fd N]`: serve on an inherited listening socket (as started by a cold call), or
    bind this context's address and serve in the foreground (exits quietly if a server has it)."""
    idle = float(os.environ.get("CNI_PY_WARM_IDLE", DEFAULT_IDLE))
    if "--fd" in argv:
        fd = int(argv[argv.index("--fd") + 1])
        listener = socket.socket(fileno=fd)
        listener.set_inheritable(False)
        if "--slot" in argv:  # keep it open (it holds our slot) but out of the tools workers run
            os.set_inheritable(int(argv[argv.index("--slot") + 1]), False)
        if os.fork() > 0:  # the second fork: not a session leader, never gets a terminal
            os._exit(0)
        if listener.getsockname() != address():
            log("the program changed between the call that started this server and now")
            return
    else:
        addr = address()
        if addr is None:
            sys.exit("cni warm server: cannot tell this process's context (is /proc mounted?)")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(addr)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                log("a server already serves this context")
                return
            raise
        listener.listen(512)
    Server(listener, idle).run()
