"""The CRI's calls for one pod sandbox, through Go's libcni, with only the plugin directory under test.

containerd's CRI plugin (through go-cni) configures two networks for every sandbox: its built-in
`cni-loopback` list (cniVersion 0.3.1, one `loopback` plugin, CNI_IFNAME=lo) and the pod network
from /etc/cni/net.d (here containerd's own example: bridge + host-local, portmap), attached at the
same time, with the Kubernetes CNI_ARGS and capability arguments; on teardown it deletes them in
order, loopback first, while the netns still exists; a retried teardown finds the netns gone.
Go's libcni (Debian's, driven by tests/libcni/go_driver) does the calls, as in containerd, with
CNI_PATH = /opt/cni/bin, where the plugin directory under test is the only thing.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass

import pytest

from tests.e2e import hoststate
from tests.e2e.conftest import skip_unless_written
from tests.e2e.image import WEB_PAGE

GO_SRC = "/usr/share/gocode/src/github.com/containernetworking/cni/libcni"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(ROOT, "tests", "libcni", "go_driver", "main.go")
CNI_BIN = "/opt/cni/bin"
CACHE_DIR = "/var/lib/cni"
SUBNET = "10.240.6.0/24"
GATEWAY = "10.240.6.1"
BRIDGE = "cnie2ecri0"
HOST_PORT = 8087

# containerd's CRI (pkg/cri/server/service_linux.go, cni.WithLoNetwork): byte for byte
LOOPBACK_LIST = {"cniVersion": "0.3.1", "name": "cni-loopback", "plugins": [{"type": "loopback"}]}
# containerd's example pod network (script/setup/install-cni, docs/cri/config.md), our subnet
POD_LIST = {
    "cniVersion": "1.0.0",
    "name": "containerd-net",
    "plugins": [
        {
            "type": "bridge",
            "bridge": BRIDGE,
            "isGateway": True,
            "ipMasq": True,
            "promiscMode": True,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": SUBNET}]],
                "routes": [{"dst": "0.0.0.0/0"}],
            },
        },
        {"type": "portmap", "capabilities": {"portMappings": True}},
    ],
}


@pytest.fixture(scope="module")
def go_libcni(work_dir) -> str:
    go = shutil.which("go")
    if go is None or not os.path.isdir(GO_SRC):
        pytest.skip(
            "Go toolchain or Go libcni sources missing (golang-go, golang-github-containernetworking-cni-dev)"
        )
    out = os.path.join(work_dir, "go-libcni")
    os.makedirs(out, exist_ok=True)
    binary = os.path.join(out, "go-libcni")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": out,
        "GO111MODULE": "off",
        "GOPATH": "/usr/share/gocode",
        "GOCACHE": os.path.join(out, "cache"),
        "GOFLAGS": "",
    }
    proc = subprocess.run(
        [go, "build", "-o", binary, DRIVER], env=env, capture_output=True, cwd=out, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"building the Go libcni driver failed: {proc.stderr.decode()}")
    return binary


@dataclass
class Sandbox:
    id: str
    netns_name: str
    conf_dir: str

    @property
    def netns(self) -> str:
        return f"/run/netns/{self.netns_name}"

    def run(self, *argv: str, check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ip", "netns", "exec", self.netns_name, *argv],
            capture_output=True,
            text=True,
            timeout=30,
            check=check,
        )


def cri_env(sandbox: Sandbox) -> dict[str, str]:
    """What go-cni hands libcni for a sandbox: the Kubernetes CNI_ARGS and capability arguments."""
    pod_uid = str(uuid.uuid5(uuid.NAMESPACE_URL, sandbox.id))
    args = {
        "IgnoreUnknown": "1",
        "K8S_POD_NAMESPACE": "default",
        "K8S_POD_NAME": "web",
        "K8S_POD_INFRA_CONTAINER_ID": sandbox.id,
        "K8S_POD_UID": pod_uid,
    }
    caps = {
        "portMappings": [{"hostPort": HOST_PORT, "containerPort": 80, "protocol": "tcp", "hostIP": ""}],
        "dns": {
            "servers": ["10.240.6.53"],
            "searches": ["default.svc.cluster.local"],
            "options": ["ndots:5"],
        },
        "io.kubernetes.cri.pod-annotations": {},
    }
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_PATH": CNI_BIN,
        "CNI_ARGS": ";".join(f"{k}={v}" for k, v in args.items()),
        "CAP_ARGS": json.dumps(caps),
    }


def libcni(driver: str, verb: str, sandbox: Sandbox, network: str, ifname: str, netns: str | None = None):
    """One libcni network-list call, started (not waited for)."""
    argv = [driver, verb, os.path.join(sandbox.conf_dir, f"{network}.conflist"), sandbox.id]
    argv += [sandbox.netns if netns is None else netns, ifname, CACHE_DIR]
    return subprocess.Popen(
        argv, env=cri_env(sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@dataclass
class Observed:
    sandbox: Sandbox
    add_lo: subprocess.CompletedProcess
    add_pod: subprocess.CompletedProcess
    lo_link: dict
    lo_addrs: list[str]
    localhost: str
    pod_ip: str
    http: dict[str, hoststate.HttpAnswer]
    cached_running: list[str]
    ipam_running: dict[str, str]
    del_lo: subprocess.CompletedProcess
    del_pod: subprocess.CompletedProcess
    lo_link_after: dict
    rules_after: str
    ipam_after: dict[str, str]
    ports_after: list[str]
    cached_after: list[str]
    del_again: list[subprocess.CompletedProcess]


def _lo(sandbox: Sandbox) -> tuple[dict, list[str]]:
    (link,) = json.loads(sandbox.run("ip", "-j", "link", "show", "lo", check=True).stdout)
    (addr,) = json.loads(sandbox.run("ip", "-j", "addr", "show", "lo", check=True).stdout)
    return link, [f"{a['local']}/{a['prefixlen']}" for a in addr.get("addr_info", [])]


@pytest.fixture(scope="module")
def observed(plugins, go_libcni, work_dir) -> Observed:
    skip_unless_written(plugins)
    conf_dir = os.path.join(work_dir, "cri-net.d")
    os.makedirs(conf_dir, exist_ok=True)
    for conflist in (LOOPBACK_LIST, POD_LIST):
        with open(os.path.join(conf_dir, f"{conflist['name']}.conflist"), "w") as f:
            json.dump(conflist, f)
    sandbox = Sandbox(uuid.uuid4().hex * 2, "cni-" + str(uuid.uuid4()), conf_dir)
    subprocess.run(["ip", "netns", "add", sandbox.netns_name], check=True)  # the CRI's pinned netns: lo down
    web = None
    try:
        # go-cni attaches the networks concurrently
        adding = [
            libcni(go_libcni, "add", sandbox, "cni-loopback", "lo"),
            libcni(go_libcni, "add", sandbox, "containerd-net", "eth0"),
        ]
        add_lo, add_pod = (finish(p) for p in adding)
        lo_link, lo_addrs = _lo(sandbox)
        pod_result = json.loads(add_pod.stdout) if add_pod.returncode == 0 else {}
        pod_ip = pod_result.get("ips", [{}])[0].get("address", "/").split("/")[0]
        www = os.path.join(work_dir, "cri-www")
        os.makedirs(www, exist_ok=True)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write(WEB_PAGE)
        web = subprocess.Popen(
            ["ip", "netns", "exec", sandbox.netns_name, "busybox", "httpd", "-f", "-p", "80", "-h", www],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        localhost = ""
        for _ in range(50):
            localhost = sandbox.run("busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:80/").stdout
            if localhost:
                break
            subprocess.run(["sleep", "0.1"], check=False)
        http = {}
        if pod_ip:
            http["pod ip, port 80"] = hoststate.http_get_when_up(pod_ip, 80)
            http[f"hostPort via {GATEWAY}:{HOST_PORT}"] = hoststate.http_get_when_up(GATEWAY, HOST_PORT)
        cached_running = hoststate.cached_results(sandbox.id)
        ipam_running = hoststate.ipam_reservations("containerd-net")
        web.kill()
        web.wait()
        # StopPodSandbox: teardown in network order, the netns still there
        del_lo = finish(libcni(go_libcni, "del", sandbox, "cni-loopback", "lo"))
        del_pod = finish(libcni(go_libcni, "del", sandbox, "containerd-net", "eth0"))
        lo_link_after, _ = _lo(sandbox)
        rules_after = hoststate.ruleset()
        ipam_after = hoststate.ipam_reservations("containerd-net")
        ports_after = hoststate.bridge_ports(BRIDGE)
        cached_after = hoststate.cached_results(sandbox.id)
        # the netns is removed; a retried teardown must still succeed
        subprocess.run(["ip", "netns", "delete", sandbox.netns_name], check=True)
        del_again = [
            finish(libcni(go_libcni, "del", sandbox, "cni-loopback", "lo")),
            finish(libcni(go_libcni, "del", sandbox, "containerd-net", "eth0")),
        ]
        return Observed(
            sandbox, add_lo, add_pod, lo_link, lo_addrs, localhost, pod_ip, http, cached_running,
            ipam_running, del_lo, del_pod, lo_link_after, rules_after, ipam_after, ports_after,
            cached_after, del_again,
        )  # fmt: skip
    finally:
        if web is not None and web.poll() is None:
            web.kill()
            web.wait()
        for network, ifname in (("cni-loopback", "lo"), ("containerd-net", "eth0")):
            finish(libcni(go_libcni, "del", sandbox, network, ifname, netns=""))
        subprocess.run(["ip", "netns", "delete", sandbox.netns_name], capture_output=True, check=False)
        subprocess.run(["ip", "link", "delete", BRIDGE], capture_output=True, check=False)


def test_both_networks_are_added(observed):
    assert observed.add_lo.returncode == 0, observed.add_lo.stderr
    assert observed.add_pod.returncode == 0, observed.add_pod.stderr


def test_loopback_result_as_the_cri_reads_it(observed):
    result = json.loads(observed.add_lo.stdout)
    assert result["cniVersion"] == "0.3.1"
    assert [i["name"] for i in result["interfaces"]] == ["lo"]
    assert result["interfaces"][0]["sandbox"] == observed.sandbox.netns
    addresses = [ip["address"] for ip in result["ips"]]
    assert addresses[0] == "127.0.0.1/8"
    assert set(addresses) <= set(observed.lo_addrs)


def test_lo_is_up_and_serves_localhost_in_the_pod(observed):
    assert "UP" in observed.lo_link["flags"]
    assert "127.0.0.1/8" in observed.lo_addrs
    assert observed.localhost == WEB_PAGE


def test_pod_network_works(observed):
    assert ipaddress.ip_address(observed.pod_ip) in ipaddress.ip_network(SUBNET)
    assert list(observed.ipam_running) == [observed.pod_ip]
    assert len(observed.http) == 2
    for target, answer in observed.http.items():
        assert (answer.status, answer.body, answer.error) == (200, WEB_PAGE, ""), target


def test_libcni_cached_both_attachments(observed):
    sid = observed.sandbox.id
    assert observed.cached_running == sorted([f"cni-loopback-{sid}-lo", f"containerd-net-{sid}-eth0"])


def test_teardown_succeeds_and_sets_lo_down(observed):
    assert observed.del_lo.returncode == 0, observed.del_lo.stderr
    assert observed.del_pod.returncode == 0, observed.del_pod.stderr
    assert "UP" not in observed.lo_link_after["flags"]


def test_nothing_is_left_after_teardown(observed):
    assert observed.ipam_after == {}
    assert observed.ports_after == []
    assert observed.cached_after == []
    assert hoststate.rules_mentioning(observed.rules_after, observed.pod_ip, observed.sandbox.id) == []


def test_retried_teardown_after_the_netns_is_gone(observed):
    for run in observed.del_again:
        assert run.returncode == 0, run.stderr
