"""Helpers to run host-local in-process (through the skeleton) or as a real process.

host-local touches no network namespace, so none of these tests need root or tests/isolated:
each uses its own temporary dataDir.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import Any

import pytest

from ipam.host_local import PLUGIN
from libcni.skel import dispatch

GO_HOST_LOCAL = "/usr/lib/cni/host-local"
NETWORK = "mynet"


@dataclass
class Reply:
    code: int
    stdout: str
    stderr: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else None

    def ok(self) -> Reply:
        assert self.code == 0, f"plugin failed ({self.code}): {self.stdout} {self.stderr}"
        return self

    def error(self) -> dict:
        assert self.code != 0, f"expected a failure, got {self.stdout}"
        return self.json

    def addresses(self) -> list[str]:
        return [i["address"] for i in self.ok().json["ips"]]


def environment(command: str, container_id: str, ifname: str, args: str, cni_path: str = "/nowhere") -> dict:
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": "/run/netns/host-local-test-none",
        "CNI_IFNAME": ifname,
        "CNI_ARGS": args,
        "CNI_PATH": cni_path,
    }


@dataclass
class HostLocal:
    """Runs host-local against one dataDir; `binary` empty = in-process through the skeleton."""

    data_dir: str
    binary: str = ""
    cni_path: str = "/nowhere"
    network: str = NETWORK
    calls: list[str] = field(default_factory=list)

    @property
    def net_dir(self) -> str:
        return os.path.join(self.data_dir, self.network)

    def conf(self, version: str = "1.0.0", top: dict | None = None, **ipam: Any) -> dict:
        ipam.setdefault("dataDir", self.data_dir)
        return {
            "cniVersion": version,
            "name": self.network,
            "type": "bridge",
            "ipam": {"type": "host-local", **ipam},
            **(top or {}),
        }

    def run(
        self,
        command: str,
        conf: dict | bytes,
        container_id: str = "dummy",
        ifname: str = "eth0",
        args: str = "",
    ) -> Reply:
        stdin = conf if isinstance(conf, bytes) else json.dumps(conf).encode()
        env = environment(command, container_id, ifname, args, self.cni_path)
        self.calls.append(command)
        if not self.binary:
            out = dispatch(PLUGIN, env, lambda: stdin)
            return Reply(out.exit_code, out.stdout.decode(), out.stderr.decode())
        proc = subprocess.run(
            [self.binary], input=stdin, env=env, capture_output=True, timeout=60, check=False
        )
        return Reply(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    def in_process(self) -> HostLocal:
        """The same dataDir, served by our plugin in this process (no start-up cost)."""
        return HostLocal(self.data_dir, network=self.network)

    def add(self, conf: dict, container_id: str = "dummy", ifname: str = "eth0", args: str = "") -> Reply:
        return self.run("ADD", conf, container_id, ifname, args)

    def delete(self, conf: dict, container_id: str = "dummy", ifname: str = "eth0", args: str = "") -> Reply:
        return self.run("DEL", conf, container_id, ifname, args)

    def files(self) -> dict[str, bytes]:
        """The network directory's files and their bytes."""
        out = {}
        for name in sorted(os.listdir(self.net_dir)):
            with open(os.path.join(self.net_dir, name), "rb") as f:
                out[name] = f.read()
        return out

    def allocations(self) -> dict[str, str]:
        skip = {"lock"}
        return {
            name: data.decode()
            for name, data in self.files().items()
            if name not in skip and not name.startswith("last_reserved_ip.")
        }


def _warm_up(stdin: bytes) -> None:
    """Import the verb module and build the models once here, not once per forked child."""
    from ipam.host_local.config import load_ipam_config
    from libcni.gojson import decode_text
    from libcni.types.results import IPConfig, Result, to_json

    load_ipam_config(decode_text(stdin), "")
    to_json(Result(cniVersion="1.1.0", ips=[IPConfig(address="10.0.0.2/24", gateway="10.0.0.1")]), "1.0.0")


def fork_dispatch(
    jobs: list[tuple[str, bytes, str]], kill_after: dict[int, float] | None = None
) -> list[Reply]:
    """Run our plugin's verbs as concurrent processes forked from this (already warm) test
    process: each child runs one (command, stdin, container ID) through the skeleton and exits.

    Every child holds the store's real flock like a plugin process does; forking skips only the
    interpreter start-up, which is not what concurrency tests examine. Children wait on a pipe
    so they all start together; `kill_after` SIGKILLs child i that many seconds after the start.
    """
    import signal
    import time

    _warm_up(jobs[0][1])
    go_r, go_w = os.pipe()
    children: list[tuple[int, int]] = []
    for command, stdin, container_id in jobs:
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                os.close(go_w)
                os.read(go_r, 1)
                env = environment(command, container_id, "eth0", "")
                outcome = dispatch(PLUGIN, env, lambda stdin=stdin: stdin)
                os.write(out_w, json.dumps([outcome.exit_code, outcome.stdout.decode()]).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(out_w)
        children.append((pid, out_r))
    os.close(go_r)
    os.close(go_w)  # releases every child at once
    start = time.monotonic()
    for index, delay in sorted((kill_after or {}).items(), key=lambda item: item[1]):
        time.sleep(max(0.0, start + delay - time.monotonic()))
        os.kill(children[index][0], signal.SIGKILL)
    replies = []
    for pid, out_r in children:
        chunks = []
        while chunk := os.read(out_r, 65536):
            chunks.append(chunk)
        os.close(out_r)
        os.waitpid(pid, 0)
        if chunks:
            code, stdout = json.loads(b"".join(chunks))
            replies.append(Reply(code, stdout))
        else:
            replies.append(Reply(-9, ""))
    return replies


@pytest.fixture
def hl(tmp_path) -> HostLocal:
    """host-local in-process on a fresh dataDir."""
    return HostLocal(str(tmp_path / "data"))


@pytest.fixture
def hl_proc(tmp_path, cni_bin) -> HostLocal:
    """Our host-local as a real process (the launcher in cni_bin)."""
    return HostLocal(str(tmp_path / "data"), binary=os.path.join(cni_bin, "host-local"), cni_path=cni_bin)


@pytest.fixture
def hl_go(hl_proc) -> HostLocal:
    """The Go reference (Debian 1.1.1) on the same dataDir as hl_proc."""
    if not os.access(GO_HOST_LOCAL, os.X_OK):
        pytest.skip(f"{GO_HOST_LOCAL} is not installed (Debian package containernetworking-plugins)")
    return HostLocal(hl_proc.data_dir, binary=GO_HOST_LOCAL, cni_path=hl_proc.cni_path)
