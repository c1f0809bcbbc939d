"""Differential tests against Go's libcni itself (Debian's golang-github-containernetworking-cni-dev,
libcni 1.1.2), driven by tests/libcni/go_driver: the same conflist and runtime arguments go through
Go's libcni and ours, against the same recording fake plugins, and we compare what the plugins
received (stdin bytes and CNI_* environment), the cache files, results and error texts; then each
side reads the other's cache (CHECK and DEL), as a runtime switching libraries would.

Known differences, all where libcni 1.1.2 is older than the reference we follow (cni HEAD):
- 1.1.2 writes no "netns" in the cache (added with GC in 1.2.0);
- 1.1.2 marshals 1.x results in struct order with an empty "dns": {}; newer libcni sorts the keys
  and drops an empty dns (what we do). 0.4.0 results are byte-identical;
- error texts: the struct is named PluginConf (was NetConf), a plugin failing with only stderr
  gets ": exit status N" appended, and disableCheck/disableGC errors are worded anew (so those
  are checked in test_conf.py only).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from libcni.api import CNIConfig, NetworkError, RuntimeConf
from libcni.conf import ConfigError, network_conf_from_file

GO_SRC = "/usr/share/gocode/src/github.com/containernetworking/cni/libcni"
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "go_driver", "main.go")


@pytest.fixture(scope="session")
def go_libcni(tmp_path_factory) -> str:
    go = shutil.which("go")
    if go is None or not os.path.isdir(GO_SRC):
        pytest.skip(
            "Go toolchain or Go libcni sources missing (apt-get install golang-go golang-github-appc-cni-dev)"
        )
    out = tmp_path_factory.mktemp("go-libcni")
    binary = str(out / "go-libcni")
    env = dict(
        os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOCACHE=str(out / "cache"), GOFLAGS=""
    )
    proc = subprocess.run(
        [go, "build", "-o", binary, DRIVER], env=env, capture_output=True, cwd=str(out), check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"building the Go libcni driver failed: {proc.stderr.decode()}")
    return binary


CAP_ARGS = {
    "mac": "c2:11:22:33:44:55",
    "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
}
CNI_ARGS = [("IgnoreUnknown", "1"), ("K8S_POD_NAME", "web")]


def conflist(version: str) -> dict:
    return {
        "cniVersion": version,
        "name": "dbnet",
        "plugins": [
            {"type": "alpha", "mtu": 1400, "ratio": 1.0, "html": "<a&b>", "uni": "\u00e9\u2028"},
            {"type": "beta", "name": "tune", "capabilities": {"mac": True, "portMappings": False}},
            {
                "type": "gamma",
                "capabilities": {"portMappings": True, "bandwidth": True},
                "runtimeConfig": {"s": 1},
            },
        ],
    }


def go_run(driver, fake, command, conf_path, rt: RuntimeConf, cache_dir):
    env = fake.env(CNI_PATH=fake.bin_dir, CAP_ARGS=json.dumps(rt.capability_args))
    if rt.args:
        env["CNI_ARGS"] = ";".join(f"{k}={v}" for k, v in rt.args)
    return subprocess.run(
        [driver, command, conf_path, rt.container_id, rt.netns, rt.ifname, cache_dir],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


def drop_empty_dns(value):
    if isinstance(value, dict):
        return {k: drop_empty_dns(v) for k, v in value.items() if not (k == "dns" and v == {})}
    if isinstance(value, list):
        return [drop_empty_dns(v) for v in value]
    return value


def as_head(go_text: str, behaviour: dict | None = None) -> str:
    """A libcni 1.1.2 error text as cni HEAD words it."""
    text = go_text.replace("Go struct field NetConf.", "Go struct field PluginConf.")
    add = (behaviour or {}).get("ADD", {})
    if add.get("stderr") and not add.get("stdout") and "exit" in add:
        text = text.rstrip("\n") + f": exit status {add['exit']}\n"
    return text


def ordered_keys(text: str) -> list[str]:
    return [k for k, _ in json.loads(text, object_pairs_hook=lambda pairs: pairs)]


RT = RuntimeConf(
    container_id="ctr-1", netns="/run/netns/ctr", ifname="eth0", args=CNI_ARGS, capability_args=CAP_ARGS
)


def run_both(go_libcni, fake, version, command="add"):
    path = fake.write_conf("10-dbnet.conflist", json.dumps(conflist(version), indent=2))
    go_cache, py_cache = fake.cache_dir + "-go", fake.cache_dir + "-py"
    go = go_run(go_libcni, fake, command, path, RT, go_cache)
    assert go.returncode == 0, go.stderr
    go_calls = fake.records()
    fake.clear()
    cni = CNIConfig([fake.bin_dir], py_cache, env=fake.env(CNI_PATH=fake.bin_dir))
    result = cni.add_network_list(network_conf_from_file(path), RT)
    py_calls = fake.records()
    fake.clear()
    return path, go, go_calls, result, py_calls, go_cache, py_cache


def cache_bytes(cache_dir: str) -> bytes:
    with open(os.path.join(cache_dir, "results", "dbnet-ctr-1-eth0"), "rb") as f:
        return f.read()


def test_add_040_requests_and_cache_are_byte_identical(go_libcni, fake):
    _, go, go_calls, result, py_calls, go_cache, py_cache = run_both(go_libcni, fake, "0.4.0")
    assert [c["plugin"] for c in py_calls] == ["alpha", "beta", "gamma"]
    for go_call, py_call in zip(go_calls, py_calls, strict=True):
        assert py_call["stdin"] == go_call["stdin"]
        assert py_call["env"] == go_call["env"]
    assert json.loads(go.stdout) == result.to_json_dict()
    go_file = cache_bytes(go_cache)
    expected = go_file.replace(b'"networkName":"dbnet",', b'"networkName":"dbnet","netns":"/run/netns/ctr",')
    assert cache_bytes(py_cache) == expected


def test_add_100_requests_and_cache_match(go_libcni, fake):
    _, go, go_calls, result, py_calls, go_cache, py_cache = run_both(go_libcni, fake, "1.0.0")
    for go_call, py_call in zip(go_calls, py_calls, strict=True):
        assert py_call["env"] == go_call["env"]
        assert ordered_keys(py_call["stdin"]) == ordered_keys(go_call["stdin"])  # both sorted
        assert json.loads(py_call["stdin"]) == drop_empty_dns(json.loads(go_call["stdin"]))
    assert py_calls[0]["stdin"] == go_calls[0]["stdin"]  # no prevResult: byte-identical
    assert result.to_json_dict() == drop_empty_dns(json.loads(go.stdout))
    go_file = cache_bytes(go_cache).replace(b'"dns":{},', b"")
    expected = go_file.replace(b'"networkName":"dbnet",', b'"networkName":"dbnet","netns":"/run/netns/ctr",')
    assert cache_bytes(py_cache) == expected


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0"])
def test_each_side_reads_the_others_cache(go_libcni, fake, version):
    path, _, _, _, _, go_cache, py_cache = run_both(go_libcni, fake, version)
    cni_on_go_cache = CNIConfig([fake.bin_dir], go_cache, env=fake.env())
    conf_list = network_conf_from_file(path)
    # Go's ADD, our CHECK and DEL
    cni_on_go_cache.check_network_list(conf_list, RT)
    cni_on_go_cache.del_network_list(conf_list, RT)
    ours = fake.records()
    fake.clear()
    assert os.listdir(os.path.join(go_cache, "results")) == []
    # our ADD, Go's CHECK and DEL
    for command in ("check", "del"):
        proc = go_run(go_libcni, fake, command, path, RT, py_cache)
        assert proc.returncode == 0, proc.stderr
    gos = fake.records()
    assert os.listdir(os.path.join(py_cache, "results")) == []
    assert [(c["plugin"], c["env"]["CNI_COMMAND"]) for c in ours] == [
        (c["plugin"], c["env"]["CNI_COMMAND"]) for c in gos
    ]
    for go_call, py_call in zip(gos, ours, strict=True):
        assert drop_empty_dns(json.loads(py_call["stdin"])) == drop_empty_dns(json.loads(go_call["stdin"]))
        assert py_call["env"] == go_call["env"]


@pytest.mark.parametrize(
    "behaviour",
    [
        {"ADD": {"error": {"code": 7, "msg": "bad", "details": "more"}}},
        {"ADD": {"stdout": "", "stderr": 'boom "x"\n', "exit": 2}},
        {"ADD": {"stdout": "", "exit": 3}},
        {"ADD": {"stdout": ""}},
    ],
)
def test_plugin_failure_texts_match(go_libcni, fake, behaviour):
    body = {
        "cniVersion": "1.0.0",
        "name": "dbnet",
        "plugins": [{"type": "alpha", "name": "a", "fake": behaviour}],
    }
    path = fake.write_conf("10-dbnet.conflist", body)
    go = go_run(go_libcni, fake, "add", path, RT, fake.cache_dir)
    with pytest.raises(NetworkError) as info:
        CNIConfig([fake.bin_dir], fake.cache_dir, env=fake.env()).add_network_list(
            network_conf_from_file(path), RT
        )
    assert go.returncode == 1
    assert f"{info.value}\n" == as_head(go.stderr.decode(), behaviour)


@pytest.mark.parametrize(
    "body",
    [
        "{}",
        '{"name": 5}',
        '{"name": "dbnet", "cniVersion": 1}',
        '{"name": "dbnet", "plugins": {}}',
        '{"name": "dbnet", "plugins": []}',
        '{"name": "dbnet", "plugins": [{"name": "x"}]}',
        '{"name": "dbnet", "plugins": [{"type": "alpha", "capabilities": {"mac": "yes"}}]}',
        '{"name": "dbnet", "plugins": [{"type": "alpha", "ipam": []}]}',
    ],
)
def test_conflist_error_texts_match(go_libcni, fake, body):
    path = fake.write_conf("10-dbnet.conflist", body)
    go = go_run(go_libcni, fake, "add", path, RT, fake.cache_dir)
    with pytest.raises(ConfigError) as info:
        network_conf_from_file(path)
    assert go.returncode == 1
    assert f"{info.value}\n" == as_head(go.stderr.decode())


@pytest.mark.parametrize(
    ("rt", "version"),
    [
        (RuntimeConf(container_id="", ifname="eth0", netns="/n"), "1.0.0"),
        (RuntimeConf(container_id="a b", ifname="eth0", netns="/n"), "1.0.0"),
        (RuntimeConf(container_id="c", ifname="way-too-long-ifname", netns="/n"), "1.0.0"),
        (RuntimeConf(container_id="c", ifname="eth0", netns="/n"), "0.3.1"),  # CHECK not supported
    ],
)
def test_runtime_error_texts_match(go_libcni, fake, rt, version):
    body = {"cniVersion": version, "name": "dbnet", "plugins": [{"type": "alpha"}]}
    path = fake.write_conf("10-dbnet.conflist", body)
    command = "check" if version == "0.3.1" else "add"
    go = go_run(go_libcni, fake, command, path, rt, fake.cache_dir)
    cni = CNIConfig([fake.bin_dir], fake.cache_dir, env=fake.env())
    with pytest.raises(NetworkError) as info:
        getattr(cni, f"{command}_network_list")(network_conf_from_file(path), rt)
    assert go.returncode == 1
    assert f"{info.value}\n" == go.stderr.decode()


def test_conf_dir_selection_and_legacy_up_conversion_match(go_libcni, fake):
    """LoadConfList over a directory: .conflist first in name order, else a .conf/.json
    single-plugin config up-converted; the requests must be byte-identical."""
    fake.write_conf(
        "30-dbnet.conflist", {"cniVersion": "0.4.0", "name": "other", "plugins": [{"type": "gamma"}]}
    )
    fake.write_conf("20-b.json", {"cniVersion": "0.4.0", "name": "dbnet", "type": "beta"})
    fake.write_conf(
        "10-a.conf",
        '{"cniVersion":"0.4.0","name":"dbnet","type":"alpha","mtu":1500.0,"args":{"cni":{"ips":["10.0.0.9"]}},'
        '"x":"<\\u00e9>","big":12345678901234567890}',
    )
    env_net = {"CNI_NETWORK": "dbnet"}
    proc = subprocess.run(
        [go_libcni, "add", fake.conf_dir, RT.container_id, RT.netns, RT.ifname, fake.cache_dir + "-go"],
        env=fake.env(CNI_PATH=fake.bin_dir, **env_net),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    go_calls = fake.records()
    fake.clear()
    from libcni.conf import load_network_conf

    conf_list = load_network_conf(fake.conf_dir, "dbnet")
    rt = RuntimeConf(container_id=RT.container_id, netns=RT.netns, ifname=RT.ifname)
    CNIConfig([fake.bin_dir], fake.cache_dir + "-py", env=fake.env()).add_network_list(conf_list, rt)
    py_calls = fake.records()
    assert [c["plugin"] for c in py_calls] == ["alpha"]
    assert py_calls[0]["stdin"] == go_calls[0]["stdin"]
    assert cache_bytes(fake.cache_dir + "-py") == cache_bytes(fake.cache_dir + "-go").replace(
        b'"networkName":"dbnet",', b'"networkName":"dbnet","netns":"/run/netns/ctr",'
    )
