"""Real traffic between namespaces: ICMP echo and a one-shot TCP exchange."""

from __future__ import annotations

import subprocess
import sys

from .kernel import TOOL_PATH, Netns

# A Python that starts fast, for the small helpers run inside namespaces.
HELPER_PYTHON = [sys.executable, "-I", "-S"]
REPLY = "conformance-ok"


def ping(src: Netns, dst: str, tries: int = 3) -> bool:
    argv = ["ping", "-6" if ":" in dst else "-4", "-c", "1", "-W", "1", "-q", dst]
    for _ in range(tries):
        proc = subprocess.run(src.argv(argv), capture_output=True, check=False, env={"PATH": TOOL_PATH})
        if proc.returncode == 0:
            return True
    return False


def tcp(client: Netns, dst: str, port: int, server: Netns, server_port: int) -> bool:
    """A listener in `server` (any address, both families) answers one connection from `client`."""
    server_code = (
        "import socket\n"
        "s=socket.socket(socket.AF_INET6,socket.SOCK_STREAM)\n"
        "s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)\n"
        "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
        f"s.bind(('::',{server_port}));s.listen(4);s.settimeout(8)\n"
        "print('ready',flush=True)\n"
        f"try:\n c,_=s.accept();c.sendall(b'{REPLY}');c.close()\n"
        "except OSError:\n pass\n"
    )
    client_code = (
        f"import socket\nc=socket.create_connection(({dst!r},{port}),timeout=3)\nprint(c.recv(64).decode())\n"
    )
    proc = subprocess.Popen(
        server.argv([*HELPER_PYTHON, "-c", server_code]),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={"PATH": TOOL_PATH},
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            return False
        got = subprocess.run(
            client.argv([*HELPER_PYTHON, "-c", client_code]),
            capture_output=True,
            check=False,
            timeout=10,
            env={"PATH": TOOL_PATH},
        )
        return got.stdout.decode().strip() == REPLY
    finally:
        proc.kill()
        proc.wait()
