"""Bugs the stress runs found in code other areas own, one test each. All are fixed, so every test
must pass: a regression fails the suite (and the stress run, which no longer lists them as known in
stress/findings.py KNOWN). None of these needs the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from libcni.skel import dispatch
from libcni.types.errors import CNIError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env(command: str, **extra: str) -> dict[str, str]:
    return {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "ctr",
        "CNI_NETNS": "/nonexistent",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/nonexistent",
        **extra,
    }


def _error(stdout: bytes) -> dict:
    value = json.loads(stdout)
    assert isinstance(value, dict) and isinstance(value.get("code"), int) and value.get("msg")
    return value


def test_deep_json_is_a_decoding_error():
    from plugins.bridge import PLUGIN

    stdin = b'{"name": "n", "cniVersion": "1.0.0", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    outcome = dispatch(PLUGIN, _env("DEL", CNI_PY_TRACEBACK="1"), lambda: stdin)
    assert _error(outcome.stdout)["code"] == 6
    assert b"Traceback" not in outcome.stderr


def test_libcni_deep_json():
    from libcni.conf import ConfigError, network_conf_from_bytes

    with pytest.raises(ConfigError):
        network_conf_from_bytes(b'{"name": "n", "plugins": ' + b"[" * 5000 + b"]" * 5000 + b"}")


def _run_bridge_process(environb: dict[bytes, bytes], stdin: bytes) -> subprocess.CompletedProcess:
    code = f"import sys; sys.path.insert(0, {ROOT!r}); from plugins.bridge import main; main()"
    env = {b"PATH": os.environb.get(b"PATH", b"/usr/bin:/bin"), **environb}
    return subprocess.run([sys.executable, "-c", code], input=stdin, env=env, capture_output=True, timeout=60)


def test_surrogates_in_env_container_id():
    env = {b"CNI_COMMAND": b"DEL", b"CNI_CONTAINERID": b"a\xff", b"CNI_IFNAME": b"eth0", b"CNI_PATH": b"/x"}
    proc = _run_bridge_process(env, b'{"cniVersion": "1.0.0", "name": "n", "type": "bridge"}')
    assert b"Traceback" not in proc.stderr
    assert _error(proc.stdout)["code"] == 4


def test_surrogates_in_env_ifname():
    # Go (and Linux) accept non-UTF-8 interface names; what matters is a clean answer, not a 999.
    env = {b"CNI_COMMAND": b"DEL", b"CNI_CONTAINERID": b"abc", b"CNI_IFNAME": b"e\xff", b"CNI_PATH": b"/x"}
    proc = _run_bridge_process(env, b'{"cniVersion": "1.0.0", "name": "n", "type": "bridge"}')
    assert b"Traceback" not in proc.stderr
    assert proc.returncode == 0 or _error(proc.stdout)["code"] != 999
    long_name = {**env, b"CNI_IFNAME": b"\xff" * 16}
    assert _error(_run_bridge_process(long_name, b'{"cniVersion": "1.0.0", "name": "n"}').stdout)["code"] == 4


def test_surrogates_in_json_network_name():
    proc = _run_bridge_process(
        {b"CNI_COMMAND": b"DEL", b"CNI_CONTAINERID": b"abc", b"CNI_IFNAME": b"eth0", b"CNI_PATH": b"/x"},
        b'{"cniVersion": "1.0.0", "name": "\\ud800", "type": "bridge"}',
    )
    assert b"Traceback" not in proc.stderr
    assert _error(proc.stdout)["code"] == 7


@pytest.mark.parametrize("check", ["container_id", "network_name"])
def test_trailing_newline_refused(check):
    from libcni import validate

    with pytest.raises(CNIError):
        getattr(validate, f"validate_{check}")("net\n")


def _host_local(tmp_path, command: str, container_id: str = "ctr", **ipam) -> dict | None:
    from ipam.host_local import PLUGIN

    conf = {
        "cniVersion": "1.0.0",
        "name": "kn",
        "ipam": {"type": "host-local", "subnet": "10.71.0.0/24", "dataDir": str(tmp_path / "data"), **ipam},
    }
    outcome = dispatch(PLUGIN, _env(command, CNI_CONTAINERID=container_id), lambda: json.dumps(conf).encode())
    assert outcome.exit_code == 0, outcome.stdout
    return json.loads(outcome.stdout) if outcome.stdout else None


def _address_files(tmp_path) -> list[str]:
    store = tmp_path / "data" / "kn"
    return sorted(p.name for p in store.iterdir() if p.name[:1].isdigit()) if store.exists() else []


def test_long_container_id_released(tmp_path):
    cid = "c" * 5000
    _host_local(tmp_path, "ADD", cid)
    _host_local(tmp_path, "DEL", cid)
    assert _address_files(tmp_path) == []


def _plant(tmp_path, name: str, victim_content: bytes | None) -> tuple:
    store = tmp_path / "data" / "kn"
    store.mkdir(parents=True)
    victim = tmp_path / "victim"
    if victim_content is not None:
        victim.write_bytes(victim_content)
    (store / name).symlink_to(victim)
    return victim


def test_planted_symlinks_last_reserved(tmp_path):
    victim = _plant(tmp_path, "last_reserved_ip.0", b"secret")
    _host_local(tmp_path, "ADD")
    assert victim.read_bytes() == b"secret"


def test_planted_symlinks_lock(tmp_path):
    victim = _plant(tmp_path, "lock", None)
    _host_local(tmp_path, "ADD")
    assert not victim.exists()


def test_planted_symlinks_index(tmp_path):
    index = tmp_path / "data" / ".host-local-index"
    index.mkdir(parents=True)
    victim = tmp_path / "victim.db"
    (index / "kn.db").symlink_to(victim)
    _host_local(tmp_path, "ADD")
    assert not victim.exists()


def test_resolvconf_fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    conf = {
        "cniVersion": "1.0.0",
        "name": "kn",
        "ipam": {
            "type": "host-local",
            "subnet": "10.71.0.0/24",
            "dataDir": str(tmp_path / "data"),
            "resolvConf": str(fifo),
        },
    }
    code = f"import sys; sys.path.insert(0, {ROOT!r}); from ipam.host_local import main; main()"
    env = {**_env("ADD"), "PATH": os.environ.get("PATH", "")}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(conf).encode(),
            env=env,
            capture_output=True,
            timeout=5,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("host-local hung reading a FIFO named by resolvConf")
    assert proc.returncode == 1 and _error(proc.stdout)
