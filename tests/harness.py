"""Kernel test harness: private namespaces, plugin runners, and kernel-state readers.

Everything here assumes the test run is inside tests/isolated (a private network and mount
namespace). Each test gets its own "host" netns and container netns, named uniquely and
deleted afterwards even when the test fails, so tests cannot see each other's objects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

# Modules a plugin's ADD/DEL/CHECK must not load (each costs 2 to 15 ms of a cold call; issue 14):
# checked statically (tests/unit/test_plugin_cold_imports.py), per core module
# (tests/unit/test_lean_stdlib.py) and in every process of real chains (tests/kernel/test_cold_imports*.py).
COSTLY_MODULES = frozenset(
    {
        *("json", "re", "enum", "socket", "subprocess", "signal", "threading", "selectors", "shlex"),
        *("dataclasses", "inspect", "ast", "typing", "contextlib", "sqlite3", "datetime", "argparse"),
        *("ctypes", "pydantic", "pydantic_core", "pyroute2"),
    }
)
GO_PLUGIN_DIR = "/usr/lib/cni"


def in_private_netns() -> bool:
    """True when this process's netns is not the one tests/isolated was started from."""
    outer = os.environ.get("CNI_TEST_OUTER_NETNS", "")
    try:
        return outer.isdigit() and os.stat("/proc/self/ns/net").st_ino != int(outer)
    except OSError:
        return False


def kernel_tests_allowed() -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "kernel tests need root"
    if not in_private_netns() or os.environ.get("CNI_TEST_ISOLATED") != "1":
        return False, "kernel tests only run inside tests/isolated (a private netns), never on the real host"
    return True, ""


def unique(prefix: str, length: int = 8) -> str:
    return prefix + uuid.uuid4().hex[:length]


def sh(*argv: str, check: bool = True, input: str | None = None) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, input=input, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


@dataclass
class Netns:
    """A named netns (bind-mounted under /run/netns, which tests/isolated made private)."""

    name: str

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    @classmethod
    def create(cls, prefix: str = "cnit-") -> Netns:
        ns = cls(unique(prefix))
        sh("ip", "netns", "add", ns.name)
        ns.run("ip", "link", "set", "lo", "up")
        return ns

    def delete(self) -> None:
        sh("ip", "netns", "delete", self.name, check=False)

    def run(self, *argv: str, check: bool = True, input: str | None = None) -> str:
        return sh("nsenter", f"--net={self.path}", "--", *argv, check=check, input=input)

    def json(self, *argv: str) -> Any:
        out = self.run(*argv)
        return json.loads(out) if out.strip() else []

    def links(self) -> list[dict]:
        return self.json("ip", "-j", "-d", "link", "show")

    def link(self, name: str) -> dict | None:
        for link in self.links():
            if link.get("ifname") == name:
                return link
        return None

    def addrs(self, ifname: str) -> list[str]:
        data = self.json("ip", "-j", "addr", "show", "dev", ifname)
        return [f"{a['local']}/{a['prefixlen']}" for item in data for a in item.get("addr_info", [])]

    def routes(self, family: str = "-4") -> list[dict]:
        return self.json("ip", "-j", family, "route", "show")

    def sysctl(self, name: str) -> str:
        return self.run("cat", "/proc/sys/" + name.replace(".", "/")).strip()


@dataclass
class PluginRun:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else None

    def ok(self) -> PluginRun:
        assert self.code == 0, f"plugin failed ({self.code}): {self.stdout} {self.stderr}"
        return self


@dataclass
class PluginRunner:
    """Executes plugin binaries from `bin_dir` inside `host` the way a runtime would."""

    bin_dir: str
    host: Netns
    extra_path: list[str] = field(default_factory=list)

    @property
    def cni_path(self) -> str:
        return ":".join([self.bin_dir, *self.extra_path])

    def run(
        self,
        plugin: str,
        command: str,
        conf: dict | str | bytes,
        *,
        container_id: str = "",
        netns: str = "",
        ifname: str = "eth0",
        args: str = "",
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> PluginRun:
        stdin = (
            conf
            if isinstance(conf, bytes)
            else (conf if isinstance(conf, str) else json.dumps(conf)).encode()
        )
        environ = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": container_id,
            "CNI_NETNS": netns,
            "CNI_IFNAME": ifname,
            "CNI_ARGS": args,
            "CNI_PATH": self.cni_path,
            # every call cold unless CNI_TEST_WARM=1 (`make test-warm`: the same tests through warm
            # servers, which must not change a result; they exit soon after the last call)
            "CNI_PY_WARM": os.environ.get("CNI_TEST_WARM", "0"),
        }
        if environ["CNI_PY_WARM"] == "1":
            environ["CNI_PY_WARM_IDLE"] = "5"
        environ.update(env or {})
        proc = subprocess.run(
            ["nsenter", f"--net={self.host.path}", "--", os.path.join(self.bin_dir, plugin)],
            input=stdin,
            capture_output=True,
            env=environ,
            timeout=timeout,
            check=False,
        )
        return PluginRun(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


ECHO_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "portmap", "echo_server.py")


def start_echo_server(ns: Netns, ident: str, port: int) -> subprocess.Popen:
    """tests/portmap/echo_server.py in `ns` on `port` (TCP and UDP, v4 and v6), answering
    '<ident> <peer>'; returns once it serves."""
    server = subprocess.Popen(
        ["nsenter", f"--net={ns.path}", "--", sys.executable, ECHO_SERVER, ident, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stderr is not None
    line = server.stdout.readline()
    assert line.strip() == "ready", f"echo server did not start: {line} {server.stderr.read()}"
    return server


def stop_server(server: subprocess.Popen | None) -> None:
    if server is not None:
        server.kill()
        server.wait()


# A listener of another uid (nobody) on a warm server's abstract address: it greets whoever
# connects and reports how many bytes it then received ("got N"). Used to prove that a warm
# client (the Python one and the launcher) hands nothing to a server that is not its own uid's.
_SQUATTER = """
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind({addr!r}); s.listen(8); print("ready", flush=True)
conn, _ = s.accept(); conn.settimeout(20)
try:
    conn.sendall({hello!r})
    data = conn.recv(65536)
except (BrokenPipeError, ConnectionResetError):  # the client hung up first, or with our HELLO unread
    data = b""
print("got", len(data), flush=True)
"""


class Squatter:
    """`with Squatter(ns, address) as squatter:` ... `squatter.received()` -> bytes it was sent."""

    def __init__(self, ns: Netns, address: bytes) -> None:
        from launcher.warm import protocol

        code = _SQUATTER.format(addr=address, hello=protocol.hello(1))
        self.proc = subprocess.Popen(
            ["nsenter", f"--net={ns.path}", "--", "setpriv", "--reuid=65534", "--regid=65534"]
            + ["--clear-groups", "/usr/bin/python3", "-I", "-c", code],
            stdout=subprocess.PIPE,
            text=True,
        )

    def __enter__(self) -> Squatter:
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        return self

    def received(self) -> int:
        out, _ = self.proc.communicate(timeout=30)
        return int(out.strip().removeprefix("got "))

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()
