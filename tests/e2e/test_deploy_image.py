"""The DaemonSet's image (make image, deploy/Containerfile) run by podman as the DaemonSet would
run it: host directories bind-mounted at /host/opt/cni/bin and /host/etc/cni/net.d.

It must install programs that run, a pod network conflist for the node's CIDRs and the loopback
config; a second run changes nothing; the pod CIDRs can come from the Node object through the
API (a stand-in on 127.0.0.1 of this run's netns, the service account mounted where Kubernetes
mounts it); the long-running mode stops on SIGTERM (podman stop). Then the demo chain runs with
the installed cnitool and the installed conflist, in namespaces of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest

from tests.deploy import artifacts
from tests.deploy.chain import run_chain
from tests.deploy.test_installer import snapshot
from tests.e2e.runtimes import ULIMITS
from tests.harness import Netns, unique

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
IMAGE = f"localhost/{artifacts.NAME}:v{artifacts.VERSION}"
PROGRAMS = ("bridge", "host-local", "tuning", "portmap", "cnitool")


@pytest.fixture(scope="module")
def image(podman, work_dir):
    directory = os.path.join(work_dir, "deploy-image")
    os.makedirs(directory, exist_ok=True)
    podman.load(artifacts.image_archive(directory))
    return IMAGE


@pytest.fixture
def node(tmp_path):
    """The node's directories the DaemonSet mounts."""
    paths = {"bin": tmp_path / "opt-cni-bin", "conf": tmp_path / "etc-cni-net.d"}
    for p in paths.values():
        p.mkdir()
    return paths


# as deploy/kubernetes/daemonset.yaml runs it: root without capabilities, read-only root filesystem
CONFINED = ["--user", "0", "--cap-drop", "ALL", "--read-only", "--security-opt", "no-new-privileges"]


def run_image(podman, image, node, env: dict, *args: str, network: str = "none", extra=()):
    argv = ["run", "--rm", "--network", network, "--cgroup-parent", podman.cgroup_parent, *ULIMITS, *CONFINED]
    argv += ["-v", f"{node['bin']}:/host/opt/cni/bin", "-v", f"{node['conf']}:/host/etc/cni/net.d"]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    return podman.podman(*argv, *extra, image, *args, check=False, timeout=120)


def test_installs_programs_and_configs_then_changes_nothing(podman, image, node):
    env = {"POD_CIDRS": "10.95.1.0/24", "CNI_BRIDGE": "cnidsimg0"}
    first = run_image(podman, image, node, env, "--once")
    assert first.returncode == 0, first.stdout + first.stderr
    installed = sorted(os.listdir(node["bin"]))
    for name in PROGRAMS:
        assert name in installed
    assert "cni-install" not in installed
    for name in PROGRAMS[:4]:  # they run on the host, from where they were installed
        version = subprocess.run(
            [str(node["bin"] / name)], env={"CNI_COMMAND": "VERSION"}, capture_output=True, text=True
        )
        assert version.returncode == 0 and '"1.1.0"' in version.stdout, version.stderr
    conf = json.loads((node["conf"] / "10-pycni.conflist").read_text())
    assert [p["type"] for p in conf["plugins"]] == ["bridge", "portmap", "tuning"]
    assert conf["plugins"][0]["bridge"] == "cnidsimg0"
    assert conf["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "10.95.1.0/24"}]]
    assert json.loads((node["conf"] / "99-loopback.conf").read_text())["type"] == "loopback"

    before = snapshot(node["bin"]) | {"conf/" + k: v for k, v in snapshot(node["conf"]).items()}
    second = run_image(podman, image, node, env, "--once")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "node already up to date" in second.stdout
    assert before == snapshot(node["bin"]) | {"conf/" + k: v for k, v in snapshot(node["conf"]).items()}


def test_pod_cidrs_from_the_api_with_the_service_account(podman, image, node, tmp_path):
    from tests.deploy.test_node_api import NodeAPI, serve

    with serve(tmp_path) as api:
        env = {"NODE_NAME": "worker-1", "CNI_INSTALL_API_SERVER": api["url"]}
        # the host network of this run's private netns: the stand-in listens on its 127.0.0.1
        proc = run_image(
            podman, image, node, env, "--once", network="host", extra=("-v", f"{api['sa']}:{SA_DIR}:ro")
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [path for path, _auth in NodeAPI.requests] == ["/api/v1/nodes/worker-1"]
    ranges = json.loads((node["conf"] / "10-pycni.conflist").read_text())["plugins"][0]["ipam"]["ranges"]
    assert ranges == [[{"subnet": "10.244.1.0/24"}], [{"subnet": "fd00:10:244:1::/64"}]]


def test_stays_running_and_stops_on_sigterm(podman, image, node):
    name = "cni-install-" + uuid.uuid4().hex[:8]
    env = {"POD_CIDRS": "10.95.2.0/24", "CNI_INSTALL_INTERVAL": "0.5"}
    argv = ["run", "--detach", "--name", name, "--network", "none", "--cgroup-parent", podman.cgroup_parent]
    argv += [*ULIMITS, *CONFINED, "-v", f"{node['bin']}:/host/opt/cni/bin"]
    argv += ["-v", f"{node['conf']}:/host/etc/cni/net.d"]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    podman.podman(*argv, image)
    try:
        conf = node["conf"] / "10-pycni.conflist"
        deadline = time.monotonic() + 60
        while not conf.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert conf.exists()
        os.unlink(node["bin"] / "bridge")  # someone removed a plugin: the next pass puts it back
        while not os.path.lexists(node["bin"] / "bridge") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert os.path.lexists(node["bin"] / "bridge")
        started = time.monotonic()
        podman.podman("stop", "--time", "20", name)
        assert time.monotonic() - started < 15  # SIGTERM did it, not the SIGKILL after 20 s
        state = podman.podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        logs = podman.podman("logs", name).stdout
        assert state == "0", logs
        assert "SIGTERM: stopping" in logs
    finally:
        podman.remove(name)


def test_the_installed_directory_runs_the_chain(podman, image, node, tmp_path):
    env = {"POD_CIDRS": "10.95.3.0/24", "CNI_BRIDGE": unique("brdi")}
    proc = run_image(podman, image, node, env, "--once")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    host, container = Netns.create("cnih-"), Netns.create("cnic-")
    try:
        result = run_chain(str(node["bin"]), str(node["conf"]), "pycni", host, container, str(tmp_path / "c"))
        assert result["ips"][0]["address"].startswith("10.95.3.")
    finally:
        container.delete()
        host.delete()
