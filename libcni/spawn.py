"""Running programs with their stdio on pipes: plugins (libcni.invoke) and host tools (pkg.command).

os.posix_spawn and select.poll, not `subprocess`: that module (with signal, threading, selectors
and contextlib) costs ~12 ms of every cold call that runs anything, more than the program run.
What subprocess does for its callers is done here too: the executable is looked up in the
child's own PATH, SIGPIPE and SIGXFSZ are back at their defaults in the child (Python ignores
SIGPIPE), no descriptor of ours but the three pipes reaches the child, stdin is fed while stdout
and stderr are drained (no deadlock on big outputs), and a child that outlives its timeout is
killed (with its process group when it was started in one).
"""

from __future__ import annotations

import os
import select
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping, Sequence

# Linux signal numbers (`signal` would cost its enums): SIGPIPE and SIGXFSZ are reset to their
# defaults in the child, SIGKILL ends one that outlived its timeout.
_RESET_SIGNALS = (13, 25)
_SIGKILL = 9
_DRAIN_AFTER_KILL = 2.0  # seconds to collect what a killed child still had in its pipes
_CHUNK = 65536


class Completed:
    """A finished program: subprocess.CompletedProcess's fields, plus `error` (the OSError that
    kept it from starting: returncode is then 127) and `timed_out` (it was killed)."""

    __slots__ = ("args", "returncode", "stdout", "stderr", "error", "timed_out")

    def __init__(self, args: list[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.error: OSError | None = None
        self.timed_out = False

    def __repr__(self) -> str:
        return f"Completed(args={self.args!r}, returncode={self.returncode})"


def run_all(
    commands: Sequence[tuple[Sequence[str], bytes | None]],
    env: Mapping[str, str],
    timeout: float | None = None,
    own_group: bool = False,
) -> list[Completed]:
    """Start every command at once, feed each its stdin, collect each's output; results in order.
    `own_group`: each child leads a new process group, killed as a whole on timeout."""
    search = env.get("PATH", os.defpath).split(os.pathsep)
    stray = _inherited_fds()
    children = [_Child(list(argv), data, env, search, stray, own_group) for argv, data in commands]
    try:
        _serve([c for c in children if c.pid], timeout, own_group)
    finally:
        for child in children:
            child.close()
    return [child.result() for child in children]


def _inherited_fds() -> list[int]:
    """Descriptors above 2 a child would inherit (left open by whoever started us)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return []
    found = []
    for name in names:
        fd = int(name)
        if fd > 2:
            try:
                if os.get_inheritable(fd):
                    found.append(fd)
            except OSError:
                pass  # the listing's own descriptor, closed meanwhile
    return found


def _executable(name: str, search: list[str]) -> str:
    if "/" in name:
        return name
    for directory in search:
        path = os.path.join(directory or ".", name)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    raise FileNotFoundError(2, "No such file or directory", name)


class _Child:
    """One started program and its pipes: what is left to write, what was read."""

    def __init__(
        self,
        argv: list[str],
        data: bytes | None,
        env: Mapping[str, str],
        search: list[str],
        stray: list[int],
        own_group: bool,
    ) -> None:
        self.argv = argv
        self.pid = 0
        self.status = 127
        self.data = data or b""
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.error: OSError | None = None
        self.timed_out = False
        self.fds: dict[int, list[bytes] | None] = {}  # our pipe ends -> sink (None: child's stdin)
        try:
            path = _executable(argv[0], search)
        except OSError as err:
            self.error = err
            return
        pipes = [os.pipe2(os.O_CLOEXEC) for _ in range(3)]
        actions: list[tuple] = [(os.POSIX_SPAWN_DUP2, pipes[0][0], 0)]
        actions += [(os.POSIX_SPAWN_DUP2, pipes[1][1], 1), (os.POSIX_SPAWN_DUP2, pipes[2][1], 2)]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in stray]
        try:
            if own_group:
                self.pid = os.posix_spawn(
                    path, argv, env, file_actions=actions, setsigdef=_RESET_SIGNALS, setpgroup=0
                )
            else:
                self.pid = os.posix_spawn(path, argv, env, file_actions=actions, setsigdef=_RESET_SIGNALS)
        except OSError as err:
            self.error = err
        finally:
            for fd in (pipes[0][0], pipes[1][1], pipes[2][1]):
                os.close(fd)
        mine = (pipes[0][1], pipes[1][0], pipes[2][0])
        if not self.pid:
            for fd in mine:
                os.close(fd)
            return
        for fd in mine:
            os.set_blocking(fd, False)
        self.fds = {pipes[0][1]: None, pipes[1][0]: self.out, pipes[2][0]: self.err}
        if not self.data:
            self.close_fd(pipes[0][1])

    def close_fd(self, fd: int) -> None:
        if self.fds.pop(fd, ()) != ():
            os.close(fd)

    def close(self) -> None:
        for fd in list(self.fds):
            self.close_fd(fd)

    def kill(self, own_group: bool) -> None:
        self.timed_out = True
        try:
            if own_group:
                os.killpg(self.pid, _SIGKILL)
            else:
                os.kill(self.pid, _SIGKILL)
        except ProcessLookupError:
            pass

    def result(self) -> Completed:
        done = Completed(self.argv, self.status, b"".join(self.out), b"".join(self.err))
        if self.error is not None:
            done.error = self.error
            done.stderr = str(self.error).encode()
        done.timed_out = self.timed_out
        return done


def _serve(children: list[_Child], timeout: float | None, own_group: bool) -> None:
    """Feed every child's stdin and drain its stdout and stderr until all are closed, then reap.
    Children still holding their pipes at the timeout are killed; what they still write within
    a short grace is kept (a killed group's pipes close at once)."""
    owner: dict[int, _Child] = {fd: child for child in children for fd in child.fds}
    poller = select.poll()
    for fd, child in owner.items():
        poller.register(fd, select.POLLOUT if child.fds[fd] is None else select.POLLIN)
    _pump(poller, owner, None if timeout is None else time.monotonic() + timeout)
    if owner:
        for child in set(owner.values()):
            child.kill(own_group)
        _pump(poller, owner, time.monotonic() + _DRAIN_AFTER_KILL)
    for child in children:
        child.close()  # a grandchild outside the group may hold a pipe: stop reading it
        _, status = os.waitpid(child.pid, 0)
        child.status = os.waitstatus_to_exitcode(status)


def _pump(poller: select.poll, owner: dict[int, _Child], deadline: float | None) -> None:
    while owner:
        wait = None
        if deadline is not None:
            wait = (deadline - time.monotonic()) * 1000
            if wait <= 0:
                return
        for fd, _event in poller.poll(wait):
            child = owner[fd]
            sink = child.fds[fd]
            try:
                if sink is None:
                    sent = os.write(fd, child.data[:_CHUNK])
                    child.data = child.data[sent:]
                    done = not child.data
                else:
                    chunk = os.read(fd, _CHUNK)
                    sink.append(chunk)
                    done = not chunk
            except BlockingIOError:
                continue
            except OSError:  # EPIPE: the child closed its stdin early
                done = True
            if done:
                poller.unregister(fd)
                del owner[fd]
                child.close_fd(fd)
