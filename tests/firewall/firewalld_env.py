"""A real firewalld for the tests, confined: its own D-Bus system bus (a dbus-daemon whose socket
is in a temporary directory) and the daemon itself started inside a given network namespace (never
the machine's own: refused outside tests/isolated), with its configuration, state and log in that
temporary directory. The daemon comes from scripts/fetch-firewalld (.cache/firewalld, or
FIREWALLD_ROOT), unpacked, not installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from tests.harness import Netns, in_private_netns

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT = os.environ.get("FIREWALLD_ROOT", os.path.join(REPO, ".cache", "firewalld"))
SYSTEM_PYTHON = "/usr/bin/python3"

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
"""

# Runs firewalld with its paths moved into the temporary directory.
LAUNCHER = """
import runpy, sys
root, state = sys.argv[1], sys.argv[2]
sys.path.insert(0, root + "/usr/lib/python3/dist-packages")
from firewall import config
config.FIREWALLD_TEMPDIR = state + "/run"
config.FIREWALLD_PIDFILE = state + "/firewalld.pid"
config.FIREWALLD_LOGFILE = state + "/firewalld.log"
sys.argv = ["firewalld", "--nofork", "--nopid", "--system-config", state + "/etc",
            "--default-config", root + "/usr/lib/firewalld", "--log-target", "console"]
runpy.run_path(root + "/usr/sbin/firewalld", run_name="__main__")
"""


def unavailable() -> str | None:
    """Why a firewalld cannot be run here, or None."""
    if not in_private_netns():
        return "firewalld tests run only inside tests/isolated"
    if not os.path.isfile(os.path.join(ROOT, "usr", "sbin", "firewalld")):
        return f"no firewalld unpacked in {ROOT} (run scripts/fetch-firewalld)"
    if shutil.which("dbus-daemon") is None or shutil.which("busctl") is None:
        return "dbus-daemon and busctl are needed"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import dbus, gi"], capture_output=True, check=False)
    if probe.returncode != 0:
        return "firewalld needs python3-dbus and python3-gi"
    return None


class Firewalld:
    """A private bus and a firewalld in `ns`; `env` points a plugin at that bus."""

    def __init__(self, ns: Netns) -> None:
        if not in_private_netns():
            raise RuntimeError("refusing to start firewalld outside a private network namespace")
        self.ns = ns
        self.dir = tempfile.mkdtemp(prefix="fwd-")
        self.socket = os.path.join(self.dir, "bus")
        self.env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={self.socket}"}
        self.bus: subprocess.Popen | None = None
        self.daemon: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Firewalld:
        os.makedirs(os.path.join(self.dir, "run"))
        shutil.copytree(os.path.join(ROOT, "etc", "firewalld"), os.path.join(self.dir, "etc"))
        config = os.path.join(self.dir, "bus.conf")
        with open(config, "w") as f:
            f.write(BUS_CONFIG.format(socket=self.socket))
        self.bus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait(lambda: os.path.exists(self.socket), timeout, "the private bus")
        env = {**os.environ, **self.env}
        with open(os.path.join(self.dir, "daemon.log"), "w") as log:
            self.daemon = subprocess.Popen(
                ["nsenter", f"--net={self.ns.path}", "--", SYSTEM_PYTHON, "-c", LAUNCHER, ROOT, self.dir],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self._wait(self._ready, timeout, "firewalld")
        return self

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.daemon is not None and self.daemon.poll() is not None:
                raise RuntimeError(f"firewalld exited: {self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not come up: {self.log()}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        state = self.busctl(
            "get-property",
            "org.fedoraproject.FirewallD1",
            "/org/fedoraproject/FirewallD1",
            "org.fedoraproject.FirewallD1",
            "state",
            check=False,
        )
        return '"RUNNING"' in state

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "daemon.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def busctl(self, *argv: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["busctl", "--system", *argv],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
            timeout=30,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"busctl {argv}: {proc.stderr}")
        return proc.stdout.strip()

    def zone_call(self, method: str, *args: str) -> str:
        return self.busctl(
            "call",
            "org.fedoraproject.FirewallD1",
            "/org/fedoraproject/FirewallD1",
            "org.fedoraproject.FirewallD1.zone",
            method,
            "s" * len(args),
            *args,
        )

    def zone_of(self, source: str) -> str:
        """The zone a source is bound to ('' for none), asked with busctl."""
        out = self.zone_call("getZoneOfSource", source)
        return out.split(" ", 1)[1].strip('"') if out.startswith("s ") else ""

    def stop(self) -> None:
        for proc in (self.daemon, self.bus):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
