"""The launcher (launcher/stub/stub.c) as the warm server's client, against the Python side.

The launcher is built here from its source into a fake frozen layout (a launcher beside a support
directory whose "frozen program" is a shell script), so that nothing needs `make build`:
- what it computes (the BLAKE2b digest, the address, CNI_PY_WARM, the flags) equals what
  launcher/warm/context.py, launcher/multicall.py and hashlib compute;
- the request it sends to a server (a stand-in here, reading it with the real server's
  receive_request) is the one launcher/warm/client.py would send, with the caller's stdio and cwd;
- before HELLO every failure runs the frozen program (cold, told the launcher tried); after it the
  worker's exit code is the call's, and a missing reply is reported as client.py does.
tests/kernel/test_built_bundle.py runs the built launchers against the real server.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from launcher import multicall
from launcher.programs import SUPPORT_DIR
from launcher.warm import client, context, protocol
from launcher.warm.server import receive_request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUB = os.path.join(ROOT, "launcher", "stub", "stub.c")
PROGRAM = "bridge"
FROZEN = """#!/bin/sh
# stands in for the frozen program: says it ran, whether the launcher tried the server, and its argv
printf 'cold tried=%s\\n' "${_CNI_PY_WARM_TRIED-unset}"
for arg in "$@"; do printf '%s\\n' "$arg"; done
"""


def compile_stub(out: str, *defines: str) -> None:
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.skip("no C compiler")
    subprocess.run(
        [cc, "-O2", "-Wall", "-Wextra", "-Werror", f'-DPROGRAM="{PROGRAM}"', f'-DSUPPORT="{SUPPORT_DIR}"']
        + [*defines, "-o", out, STUB],
        check=True,
    )


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> str:
    """bin/: the launcher `bridge` (-DWARM_CLIENT) and `stub-test` (-DWARM_TEST) beside a support
    directory holding a fake frozen `bridge` and the module file the address names."""
    bin_dir = tmp_path_factory.mktemp("layout") / "bin"
    support = bin_dir / SUPPORT_DIR
    (support / "launcher" / "warm").mkdir(parents=True)
    (support / PROGRAM).write_text(FROZEN)
    (support / PROGRAM).chmod(0o755)
    (support / "launcher" / "warm" / "context.pyc").write_bytes(b"not really bytecode")
    compile_stub(str(bin_dir / PROGRAM), "-DWARM_CLIENT")
    compile_stub(str(bin_dir / "stub-test"), "-DWARM_TEST")
    return str(bin_dir)


def stub_test(layout: str, *argv: str, stdin: bytes = b"", env: dict | None = None) -> str:
    proc = subprocess.run(
        [os.path.join(layout, "stub-test"), *argv],
        input=stdin,
        env=env or {},
        capture_output=True,
        check=True,
    )
    return proc.stdout.decode()


def python_address(monkeypatch, root: str) -> bytes | None:
    """What launcher/warm/context.py computes in a frozen program whose support directory is root."""
    with monkeypatch.context() as patch:
        patch.setattr(sys, "frozen", True, raising=False)
        patch.setattr(context, "ROOT", root)
        patch.setattr(context, "__file__", os.path.join(root, "launcher", "warm", "context.pyc"))
        return context.address()


# -- what the launcher computes --------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 63, 127, 128, 129, 255, 256, 257, 1000, 4096, 70000])
def test_blake2b_equals_hashlib(layout, size):
    data = os.urandom(size)
    assert (
        stub_test(layout, "blake2b", stdin=data).strip() == hashlib.blake2b(data, digest_size=16).hexdigest()
    )


VALUES = [
    "1",
    "true",
    "TRUE",
    "Yes",
    "on",
    " on\n",
    "\ton\x1c",
    "\u00a0yes\u3000",
    "\u2003true\u200a",
    "\x85on",
]
VALUES += ["", "0", "false", "off", "no", "2", "o n", "onn", "\u200bon", "tru", "1 1", "yes!"]


@pytest.mark.parametrize("value", VALUES)
def test_cni_py_warm_is_read_as_warm_requested_reads_it(layout, value):
    expected = multicall.warm_requested({"CNI_PY_WARM": value})
    assert stub_test(layout, "requested", env={"CNI_PY_WARM": value}).strip() == str(int(expected))
    assert stub_test(layout, "requested").strip() == "0"  # unset


@pytest.mark.parametrize(
    "argv", [[], ["--version"], ["--serve", "--fd", "3"], ["--warm-status"], ["--warm-stop"]]
)
@pytest.mark.parametrize("more", [[], ["--help"], ["ADD"], ["-"]])
def test_the_flags_are_those_the_frozen_program_handles(layout, argv, more):
    args = [*argv, *more]
    expected = bool(args) and args[0] in multicall.FLAGS
    assert stub_test(layout, "flag", *args).strip() == str(int(expected))


def test_the_address_is_the_one_context_py_computes(layout, monkeypatch):
    support = os.path.join(layout, SUPPORT_DIR)
    expected = python_address(monkeypatch, support)
    assert expected is not None and expected.startswith(b"\0cni-py-warm/")
    assert stub_test(layout, "address").strip().encode() == expected[1:]
    # a new build (the module file changes) is a new address, for both
    module = os.path.join(support, "launcher", "warm", "context.pyc")
    st = os.stat(module)
    try:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        changed = python_address(monkeypatch, support)
        assert changed != expected
        assert stub_test(layout, "address").strip().encode() == changed[1:]
    finally:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_symlinked_support_directory_is_named_by_its_real_path(layout, tmp_path, monkeypatch):
    """The frozen program's support directory is the real directory of its executable (the
    bootloader resolves it), so the launcher resolves the link too."""
    shutil.copy2(os.path.join(layout, "stub-test"), tmp_path / "stub-test")
    os.symlink(os.path.join(layout, SUPPORT_DIR), tmp_path / SUPPORT_DIR)
    out = subprocess.run([str(tmp_path / "stub-test"), "address"], capture_output=True, check=True).stdout
    assert out.strip() == python_address(monkeypatch, os.path.join(layout, SUPPORT_DIR))[1:]


def test_the_constants_agree():
    with open(STUB) as f:
        source = f.read()

    def define(name: str) -> str:
        found = re.search(rf"^#define {name} (.+)$", source, re.MULTILINE)
        assert found, name
        return found.group(1).strip()

    assert define("WARM_PREFIX") == f'"{context.PREFIX}"'
    assert define("WARM_MAGIC") == f'"{protocol.MAGIC.decode()}"'
    assert int(define("WARM_HELLO_SIZE")) == protocol.HELLO_SIZE
    assert int(define("WARM_ACCEPT_TIMEOUT_MS")) == int(protocol.ACCEPT_TIMEOUT * 1000)
    assert int(define("WARM_FDS")) == protocol.FDS
    assert define("WARM_TRIED") == f'"{client.LAUNCHER_TRIED}"'
    assert context.NAMESPACES == ("mnt", "pid", "user")
    assert '{"mnt", "pid", "user"}' in source


# -- the launcher against a stand-in server ------------------------------------------------------


class StandIn:
    """A listener on the launcher's address, answering one connection as `answer` says (none:
    it never accepts)."""

    def __init__(self, address: bytes, answer=None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(address)
        self.sock.listen(8)
        self.answer = answer
        self.result: dict = {}
        self.thread = None
        if answer is not None:
            self.thread = threading.Thread(target=self._serve, daemon=True)
            self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(30)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(30)
            self.answer(conn, self.result)

    def close(self) -> int:
        """Stop; the connections still waiting to be accepted."""
        if self.thread is not None:
            self.thread.join(30)
        self.sock.setblocking(False)
        waiting = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                break
            conn.close()
            waiting += 1
        self.sock.close()
        return waiting


def address_of(layout: str) -> bytes:
    return b"\0" + stub_test(layout, "address").strip().encode()


def launch(layout: str, argv: list, env: dict, cwd: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        executable=os.path.join(layout, PROGRAM),
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        timeout=60,
        check=False,
        umask=0o027,
    )


def serve_one_call(code: int):
    def answer(conn: socket.socket, result: dict) -> None:
        conn.sendall(protocol.hello(4242))
        items, fds = receive_request(conn)
        result["items"] = items
        result["fds"] = [os.fstat(fd) for fd in fds]
        os.write(fds[1], b"out from the worker\n")
        os.write(fds[2], b"err from the worker\n")
        result["stdin"] = os.read(fds[0], 100)
        for fd in fds:
            os.close(fd)
        conn.sendall(protocol.exit_reply(code))

    return answer


def test_a_call_goes_to_the_server_as_the_python_client_sends_it(layout, tmp_path, monkeypatch):
    env = {"PATH": "/usr/bin:/bin", "CNI_COMMAND": "ADD", "CNI_PY_WARM": " Yes", "ODD": "a=b=c", "EMPTY": ""}
    server = StandIn(address_of(layout), serve_one_call(7))
    try:
        proc = launch(layout, [PROGRAM], env, str(tmp_path), stdin=b'{"cniVersion": "1.0.0"}')
    finally:
        assert server.close() == 0
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == b"out from the worker\n" and proc.stderr == b"err from the worker\n"
    assert server.result["stdin"] == b'{"cniVersion": "1.0.0"}'
    # what client.py sends for the same process (argv, environment, umask)
    monkeypatch.setattr(sys, "argv", [PROGRAM])
    monkeypatch.setattr(os, "environb", {k.encode(): v.encode() for k, v in env.items()})
    umask = os.umask(0o027)
    try:
        expected = client._request_items(PROGRAM)
    finally:
        os.umask(umask)
    assert server.result["items"] == expected
    assert expected[:4] == [b"run", b"bridge", b"23", b"1"]
    # the fds: the caller's stdin, stdout and stderr (three pipes) and its working directory
    stdin, stdout, stderr, cwd = server.result["fds"]
    assert len({stdin.st_ino, stdout.st_ino, stderr.st_ino}) == 3
    assert (cwd.st_dev, cwd.st_ino) == (os.stat(tmp_path).st_dev, os.stat(tmp_path).st_ino)


def test_argv_and_the_exit_code_pass_unchanged(layout, tmp_path, monkeypatch):
    argv = [PROGRAM, "ADD", b"caf\xe9", ""]
    server = StandIn(address_of(layout), serve_one_call(-1))
    try:
        proc = launch(layout, argv, {"CNI_PY_WARM": "1"}, str(tmp_path))
    finally:
        server.close()
    assert proc.returncode == 255  # os._exit(-1) in client.py: the same
    items = server.result["items"]
    assert items[3] == b"4" and items[5:8] == [b"ADD", b"caf\xe9", b""]
    assert items[8:] == [b"CNI_PY_WARM=1"]


def test_no_reply_after_hello_is_reported_and_not_run_again(layout, tmp_path):
    def answer(conn: socket.socket, result: dict) -> None:
        conn.sendall(protocol.hello(4242))
        result["items"], fds = receive_request(conn)
        for fd in fds:
            os.close(fd)  # and hang up without a reply: the worker was killed

    server = StandIn(address_of(layout), answer)
    try:
        proc = launch(layout, [PROGRAM], {"CNI_PY_WARM": "1"}, str(tmp_path))
    finally:
        assert server.close() == 0
    assert proc.returncode == 1
    assert proc.stdout == b""  # the frozen program did not run
    assert proc.stderr == b"cni warm server: worker 4242 ended without an exit status (killed?)\n"
    assert server.result["items"][0] == b"run"


def test_no_server_runs_the_frozen_program_told_the_launcher_tried(layout, tmp_path):
    proc = launch(layout, [PROGRAM, "x y"], {"CNI_PY_WARM": "on"}, str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"cold tried=1\nx y\n"


def test_a_listener_that_hangs_up_before_hello_means_cold(layout, tmp_path):
    server = StandIn(address_of(layout), lambda conn, result: None)
    try:
        proc = launch(layout, [PROGRAM], {"CNI_PY_WARM": "1"}, str(tmp_path))
    finally:
        assert server.close() == 0
    assert proc.stdout == b"cold tried=1\n"


def test_a_wrong_hello_means_cold(layout, tmp_path):
    def answer(conn: socket.socket, result: dict) -> None:
        conn.sendall(b"HTTP/1.1 ")  # as long as a HELLO, but not one
        result["rest"] = conn.recv(100)

    server = StandIn(address_of(layout), answer)
    try:
        proc = launch(layout, [PROGRAM], {"CNI_PY_WARM": "1"}, str(tmp_path))
    finally:
        server.close()
    assert proc.stdout == b"cold tried=1\n"
    assert server.result["rest"] == b""  # nothing was sent


@pytest.mark.parametrize(
    "argv, env",
    [
        pytest.param([PROGRAM], {}, id="unset"),
        pytest.param([PROGRAM], {"CNI_PY_WARM": "0"}, id="0"),
        pytest.param([PROGRAM], {"CNI_PY_WARM": "enabled"}, id="enabled"),
        pytest.param([PROGRAM, "--version"], {"CNI_PY_WARM": "1"}, id="--version"),
        pytest.param([PROGRAM, "--warm-status"], {"CNI_PY_WARM": "1"}, id="--warm-status"),
    ],
)
def test_not_requested_or_a_flag_runs_the_frozen_program_untouched(layout, tmp_path, argv, env):
    """The listener sees no connection, and the frozen program gets the environment as it was."""
    server = StandIn(address_of(layout))
    try:
        proc = launch(layout, argv, env, str(tmp_path))
    finally:
        assert server.close() == 0  # never connected
    assert proc.stdout.decode().splitlines() == ["cold tried=unset", *argv[1:]]
