"""cni-install against a Kubernetes API stand-in: a tiny HTTPS server on 127.0.0.1 (inside the test's
private netns, tests/isolated) serving the Node object of data/node.json, with a throwaway CA, the
way the installer reads it in a cluster (bearer token + cluster CA of the service account).
Also the installer's loop: it repairs what was removed and stops cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import ssl
import subprocess
import threading
import time

import pytest

from tests.deploy.test_installer import make_release, recorded_node

pytestmark = pytest.mark.kernel

TOKEN = "test-token-" + os.urandom(6).hex()


def make_ca(directory) -> tuple[str, str]:
    cert, key = str(directory / "ca.crt"), str(directory / "ca.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        capture_output=True, check=True,
    )  # fmt: skip
    return cert, key


class NodeAPI(http.server.BaseHTTPRequestHandler):
    nodes: dict[str, dict] = {}
    requests: list[tuple[str, str]] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        NodeAPI.requests.append((self.path, self.headers.get("Authorization", "")))
        name = self.path.removeprefix("/api/v1/nodes/")
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.reply(401, {"kind": "Status", "status": "Failure", "reason": "Unauthorized", "code": 401})
        elif name in self.nodes:
            self.reply(200, self.nodes[name])
        else:
            self.reply(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})

    def reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(tmp_path):
    """The stand-in API with its CA and a service account directory (token, ca.crt) for it."""
    cert, key = make_ca(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NodeAPI)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    NodeAPI.nodes = {"worker-1": recorded_node(), "worker-2": {"metadata": {"name": "worker-2"}, "spec": {}}}
    NodeAPI.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(TOKEN + "\n")
    os.link(cert, sa / "ca.crt")
    try:
        yield {"url": f"https://127.0.0.1:{server.server_address[1]}", "sa": str(sa)}
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(tmp_path):
    with serve(tmp_path) as served:
        yield served


def install(cni_bin, tmp_path, env: dict, *args: str) -> subprocess.CompletedProcess:
    source = tmp_path / "release"
    if not source.exists():
        make_release(source, "v1")
    argv = [os.path.join(cni_bin, "cni-install"), "--source", str(source)]
    argv += ["--bin-dir", str(tmp_path / "bin"), "--conf-dir", str(tmp_path / "net.d"), *args]
    return subprocess.run(
        argv, env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_pod_cidrs_read_from_the_node_object(api, cni_bin, tmp_path):
    env = {"NODE_NAME": "worker-1", "CNI_INSTALL_API_SERVER": api["url"]}
    env["CNI_INSTALL_SERVICE_ACCOUNT_DIR"] = api["sa"]
    proc = install(cni_bin, tmp_path, env, "--once")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert NodeAPI.requests == [("/api/v1/nodes/worker-1", f"Bearer {TOKEN}")]
    assert "pod CIDRs 10.244.1.0/24, fd00:10:244:1::/64" in proc.stdout
    conf = json.loads((tmp_path / "net.d" / "10-pycni.conflist").read_text())
    assert conf["plugins"][0]["ipam"]["ranges"] == [
        [{"subnet": "10.244.1.0/24"}],
        [{"subnet": "fd00:10:244:1::/64"}],
    ]
    assert json.loads((tmp_path / "net.d" / "99-loopback.conf").read_text())["type"] == "loopback"


@pytest.mark.parametrize(
    "case, expected",
    [
        ("bad token", "HTTP 401 Unauthorized"),
        ("no pod CIDR", "node worker-2 has no spec.podCIDRs"),
        ("unknown node", "HTTP 404"),
        ("other CA", "CERTIFICATE_VERIFY_FAILED"),
        ("explicit wins", None),
    ],
)
def test_api_failures_are_one_clear_line(api, cni_bin, tmp_path, case, expected):
    env = {"NODE_NAME": "worker-1", "CNI_INSTALL_API_SERVER": api["url"]}
    env["CNI_INSTALL_SERVICE_ACCOUNT_DIR"] = api["sa"]
    if case == "bad token":
        (tmp_path / "serviceaccount" / "token").write_text("wrong")
    elif case == "no pod CIDR":
        env["NODE_NAME"] = "worker-2"
    elif case == "unknown node":
        env["NODE_NAME"] = "worker-9"
    elif case == "other CA":
        other = tmp_path / "other"
        other.mkdir()
        os.unlink(tmp_path / "serviceaccount" / "ca.crt")
        os.link(make_ca(other)[0], tmp_path / "serviceaccount" / "ca.crt")
    elif case == "explicit wins":
        env["POD_CIDRS"] = "10.250.0.0/24"
    proc = install(cni_bin, tmp_path, env, "--once")
    if expected is None:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert NodeAPI.requests == []  # an explicit setting never asks the API
        assert "10.250.0.0/24" in (tmp_path / "net.d" / "10-pycni.conflist").read_text()
        return
    assert proc.returncode == 1 and proc.stderr == ""
    assert expected in proc.stdout and "Traceback" not in proc.stdout
    assert not (tmp_path / "net.d" / "10-pycni.conflist").exists()


def test_loop_repairs_and_stops_on_sigterm(cni_bin, tmp_path):
    source = tmp_path / "release"
    make_release(source, "v1")
    argv = [os.path.join(cni_bin, "cni-install"), "--source", str(source)]
    argv += ["--bin-dir", str(tmp_path / "bin"), "--conf-dir", str(tmp_path / "net.d")]
    env = {"PATH": os.environ["PATH"], "POD_CIDRS": "10.251.0.0/24", "CNI_INSTALL_INTERVAL": "0.2"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        conf = tmp_path / "net.d" / "10-pycni.conflist"
        tool = tmp_path / "bin" / "cnitool"
        deadline = time.monotonic() + 30
        while not (conf.exists() and tool.exists()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert conf.exists() and tool.exists()
        os.unlink(tool)
        conf.write_text("{}")
        while not (tool.exists() and "10.251.0.0/24" in conf.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tool.exists() and "10.251.0.0/24" in conf.read_text()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    assert "SIGTERM: stopping" in out and err == ""
    assert tool.exists()  # the node keeps what is installed
