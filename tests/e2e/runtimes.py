"""A private containerd and a podman configured so that every file they write stays in the run's work dir.

Both are driven through their command line tools, exactly as a user would. The CNI side is
left at the runtimes' defaults where the tests rely on them (ctr: /etc/cni/net.d and
/opt/cni/bin, both bind-mounted by tests/e2e/run; podman: cni_plugin_dirs = /opt/cni/bin).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field

# Never let a runtime pick up a proxy or registry setting from the caller's environment.
_BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C",
}
# runc on this kind of machine cannot raise rlimits above the caller's hard limits.
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


class RuntimeFailure(RuntimeError):
    pass


def _run(argv: list[str], env: dict[str, str], timeout: float, check: bool) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeFailure(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Containerd:
    """containerd with its own root, state, sockets and config; `ctr` talks only to it."""

    directory: str
    namespace: str
    process: subprocess.Popen | None = None
    log_path: str = ""

    @property
    def address(self) -> str:
        return os.path.join(self.directory, "containerd.sock")

    def config(self) -> str:
        d = self.directory
        return f"""version = 2
root = "{d}/root"
state = "{d}/state"
# only what ctr run needs: no CRI server (it would load CNI on its own), no exotic snapshotters
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[debug]
  address = "{d}/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"""

    def start(self, timeout: float = 30) -> None:
        os.makedirs(self.directory, exist_ok=True)
        config_path = os.path.join(self.directory, "config.toml")
        with open(config_path, "w") as f:
            f.write(self.config())
        self.log_path = os.path.join(self.directory, "containerd.log")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                ["containerd", "--config", config_path],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=_BASE_ENV,
            )
        wait_for(
            lambda: self.process.poll() is not None or self.ctr("version", check=False).returncode == 0,
            timeout,
            "containerd to serve its socket",
        )
        if self.process.poll() is not None:
            raise RuntimeFailure(f"containerd exited ({self.process.returncode}):\n{self.log()}")

    def log(self) -> str:
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def ctr_argv(self, *args: str) -> list[str]:
        return ["ctr", "--address", self.address, "--namespace", self.namespace, *args]

    def ctr(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        return _run(self.ctr_argv(*args), _BASE_ENV, timeout, check)

    def import_image(self, archive: str) -> None:
        self.ctr("images", "import", archive)

    def run_cni(self, image: str, container: str, argv: list[str]) -> subprocess.Popen:
        """`ctr run --rm --cni` in the foreground, as a user would; it tears the network down on exit."""
        return subprocess.Popen(
            self.ctr_argv("run", "--rm", "--cni", "--null-io", image, container, *argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_BASE_ENV,
        )

    def task_status(self, container: str) -> str:
        out = self.ctr("tasks", "ls", check=False).stdout
        for line in out.splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == container:
                return fields[-1]
        return ""

    def exec(self, container: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        exec_id = "e" + uuid.uuid4().hex[:8]
        return self.ctr("tasks", "exec", "--exec-id", exec_id, container, *argv, timeout=timeout, check=False)

    def kill(self, container: str) -> None:
        self.ctr("tasks", "kill", "--signal", "SIGKILL", container, check=False)

    def force_remove(self, container: str) -> None:
        """Whatever a failed test left: the task, then the container (and its snapshot)."""
        self.ctr("tasks", "kill", "--signal", "SIGKILL", container, check=False)
        self.ctr("tasks", "delete", "--force", container, check=False)
        self.ctr("containers", "delete", container, check=False)


@dataclass
class Podman:
    """podman with the CNI backend and its own config, storage, run and temp dirs."""

    directory: str
    network_dir: str
    cgroup_parent: str
    env: dict[str, str] = field(default_factory=dict)

    def setup(self) -> None:
        d = self.directory
        for sub in ("root", "run", "tmp", "volumes", "static", "copytmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.makedirs(self.network_dir, exist_ok=True)
        files = {
            "containers.conf": f"""[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["/opt/cni/bin"]
network_config_dir = "{self.network_dir}"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
tmp_dir = "{d}/tmp"
volume_path = "{d}/volumes"
static_dir = "{d}/static"
image_copy_tmp_dir = "{d}/copytmp"
runtime = "runc"
""",
            "storage.conf": f"""[storage]
driver = "overlay"
graphroot = "{d}/root"
runroot = "{d}/run"
""",
            "registries.conf": "unqualified-search-registries = []\n",
        }
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        self.env = {
            **_BASE_ENV,
            "CONTAINERS_CONF": os.path.join(d, "containers.conf"),
            "CONTAINERS_STORAGE_CONF": os.path.join(d, "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": os.path.join(d, "registries.conf"),
            "TMPDIR": os.path.join(d, "copytmp"),
        }

    def podman(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return _run(["podman", *args], self.env, timeout, check)

    def network_backend(self) -> str:
        return self.podman("info", "--format", "{{.Host.NetworkBackend}}").stdout.strip()

    def load(self, archive: str) -> None:
        self.podman("load", "--input", archive)

    def run_detached(self, name: str, image: str, network: str, ports: list[str], argv: list[str]) -> str:
        """`podman run --detach`; network "" means podman's default network (no --network)."""
        args = ["run", "--detach", "--name", name, "--cgroup-parent", self.cgroup_parent]
        if network:
            args += ["--network", network]
        args += ["--cap-add", "NET_RAW", *ULIMITS]
        for port in ports:
            args += ["--publish", port]
        return self.podman(*args, image, *argv).stdout.strip()

    def exec(self, name: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return self.podman("exec", name, *argv, timeout=timeout, check=False)

    def remove(self, name: str) -> subprocess.CompletedProcess:
        return self.podman("rm", "--force", "--time", "0", name, check=False)

    def remove_all(self) -> None:
        self.podman("rm", "--all", "--force", "--time", "0", check=False)

    def inspect(self, name: str) -> dict:
        import json

        return json.loads(self.podman("inspect", "--type", "container", name).stdout)[0]
