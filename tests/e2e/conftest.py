"""End-to-end fixtures: real containerd and podman invoking the plugins under test.

These tests run only inside tests/e2e/run (`make test-e2e`), which makes the private network,
mount and PID namespaces, bind-mounts the plugin directory over /opt/cni/bin and /usr/lib/cni
and sets CNI_E2E=1. Anywhere else (e.g. `make test`) they are not even collected.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import uuid
from dataclasses import dataclass

import pytest

if os.environ.get("CNI_E2E") != "1":
    collect_ignore_glob = ["test_*.py"]
else:
    # Ctrl-C and SIGTERM (CI timeout, kill) unwind the run, so every fixture below cleans up.
    # unshare started us with SIGINT ignored: restore Python's KeyboardInterrupt.
    def _terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)

from tests.e2e import image as image_builder  # noqa: E402
from tests.e2e import lifecycle as lc  # noqa: E402
from tests.e2e.netconf import Network  # noqa: E402
from tests.e2e.runtimes import Containerd, Podman, wait_for  # noqa: E402

REFERENCE_DIR = "/usr/lib/cni"
# plugin -> the module that must exist before that plugin of ours can work
COMMAND_MODULES = {
    "bridge": "plugins.bridge.commands",
    "host-local": "ipam.host_local.commands",
    "tuning": "plugins.tuning.commands",
    "portmap": "plugins.portmap.commands",
    "loopback": "plugins.loopback.commands",
}
WEB_ARGV = ["httpd", "-f", "-p", "80", "-h", "/www"]


@dataclass(frozen=True)
class PluginsUnderTest:
    source: str  # what tests/e2e/run bound over /opt/cni/bin: a directory, or "shims"
    directory: str  # where it is inside the run
    reference: bool  # the Go plugins (to validate the harness itself)
    missing: tuple[str, ...]  # our plugins whose commands module does not exist yet
    borrowed: tuple[str, ...] = ()  # Go plugins copied in by E2E_BORROW (not ours yet)


@pytest.fixture(scope="session")
def work_dir() -> str:
    work = os.environ["E2E_WORK"]
    outer = os.environ.get("E2E_OUTER_NETNS", "")
    if outer and os.stat("/proc/self/ns/net").st_ino == int(outer):
        pytest.exit("e2e tests must run in the private netns made by tests/e2e/run", returncode=4)
    return work


@pytest.fixture(scope="session")
def run_id() -> str:
    return os.environ["E2E_RUN_ID"]


@pytest.fixture(scope="session")
def plugins(work_dir) -> PluginsUnderTest:
    source = os.environ.get("E2E_PLUGIN_SOURCE", "shims")
    reference = source != "shims" and os.path.realpath(source) == REFERENCE_DIR
    missing = (
        ()
        if reference
        else tuple(
            name for name, module in COMMAND_MODULES.items() if importlib.util.find_spec(module) is None
        )
    )
    borrowed = tuple(name for name in os.environ.get("E2E_BORROW", "").split(",") if name)
    return PluginsUnderTest(source, os.path.join(work_dir, "plugins"), reference, missing, borrowed)


def skip_unless_written(plugins: PluginsUnderTest) -> None:
    if plugins.missing:
        pytest.skip(
            "our plugins are not all written yet: no commands module for "
            + ", ".join(f"{n} ({COMMAND_MODULES[n]})" for n in plugins.missing)
        )


@pytest.fixture(scope="session")
def image_archive(work_dir) -> str:
    path = os.path.join(work_dir, "busybox-oci.tar")
    image_builder.oci_archive(path)
    return path


@pytest.fixture(scope="session")
def containerd(work_dir, run_id, image_archive):
    # The ctr namespace names the cgroups (/<namespace>/<container>): the run's id, so
    # tests/e2e/run can find and remove them.
    daemon = Containerd(os.path.join(work_dir, "containerd"), namespace=run_id)
    try:
        daemon.start()
        daemon.import_image(image_archive)
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def podman(work_dir, run_id):
    engine = Podman(
        os.path.join(work_dir, "podman"),
        network_dir=os.path.join(work_dir, "podman", "cni"),
        cgroup_parent=f"/{run_id}/podman",
    )
    engine.setup()
    try:
        yield engine
    finally:
        engine.remove_all()


@pytest.fixture(scope="session")
def podman_with_image(podman, image_archive):
    podman.load(image_archive)
    return podman


# One network per scenario: its own name, bridge, subnet (inside the fake host only) and host port.
NETWORKS = {
    "containerd": Network("e2e-ctr", "cnie2ectr0", "10.240.1.0/24"),
    "podman": Network("e2e-podman", "cnie2epod0", "10.240.2.0/24"),
    "containerd-nftables": Network("e2e-ctr-nft", "cnie2ectrn0", "10.240.3.0/24", firewall="nftables"),
    "podman-nftables": Network("e2e-podman-nft", "cnie2epodn0", "10.240.4.0/24", "nftables", host_port=8081),
}


def _containerd_lifecycle(containerd: Containerd, network: Network):
    # ctr reads the first conflist of /etc/cni/net.d (a tmpfs of the run)
    conflist = network.write("/etc/cni/net.d", f"10-{network.name}.conflist")
    name = "web-" + uuid.uuid4().hex[:8]
    cni_id = f"{containerd.namespace}-{name}"  # what ctr passes as CNI_CONTAINERID
    proc = containerd.run_cni(image_builder.IMAGE_NAME, name, WEB_ARGV)
    try:
        wait_for(
            lambda: proc.poll() is not None or containerd.task_status(name) == "RUNNING",
            60,
            "ctr run --cni to start the task",
        )
        if proc.poll() is not None:
            raise AssertionError(f"ctr run --cni exited {proc.returncode}: {proc.stderr.read()}")
        running = lc.observe_running(
            "containerd",
            network.firewall or "default",
            cni_id,
            network,
            lambda *argv: containerd.exec(name, *argv),
            lambda ip: {"container ip, port 80": (ip, 80)},
        )
        # ctr run (foreground) sees the task die, calls CNI DEL, deletes task and container
        containerd.kill(name)
        out, err = proc.communicate(timeout=120)
        how = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        yield lc.Lifecycle(running, lc.observe_removed(network, cni_id, how))
    finally:
        if proc.poll() is None:
            containerd.kill(name)
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        containerd.force_remove(name)
        os.remove(conflist)


def _podman_lifecycle(podman: Podman, network: Network):
    conflist = network.write(podman.network_dir, f"{network.name}.conflist")
    name = "web-" + uuid.uuid4().hex[:8]
    try:
        cid = podman.run_detached(
            name, image_builder.IMAGE_NAME, network.name, [f"{network.host_port}:80"], WEB_ARGV
        )
        running = lc.observe_running(
            "podman",
            network.firewall or "default",
            cid,  # podman passes the full container id as CNI_CONTAINERID
            network,
            lambda *argv: podman.exec(name, *argv),
            lambda ip: {
                f"hostPort via {network.gateway}:{network.host_port}": (network.gateway, network.host_port),
                f"hostPort via 127.0.0.1:{network.host_port}": ("127.0.0.1", network.host_port),
                "container ip, port 80": (ip, 80),
            },
        )
        how = podman.remove(name)
        yield lc.Lifecycle(running, lc.observe_removed(network, cid, how))
    finally:
        podman.remove(name)
        os.remove(conflist)


@pytest.fixture(scope="module", params=list(NETWORKS))
def lifecycle(request, plugins):
    """Start a web server container through the runtime, observe it, remove it, observe again."""
    skip_unless_written(plugins)
    network = NETWORKS[request.param]
    if network.firewall == "nftables" and plugins.reference:
        pytest.skip("the Go plugins 1.1.1 have no nftables backend (ipMasqBackend, portmap backend)")
    if request.param.startswith("containerd"):
        gen = _containerd_lifecycle(request.getfixturevalue("containerd"), network)
    else:
        gen = _podman_lifecycle(request.getfixturevalue("podman_with_image"), network)
    try:
        yield next(gen)
    finally:
        gen.close()
