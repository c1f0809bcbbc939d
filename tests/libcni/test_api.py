"""The runtime API against scriptable fake plugins (cni-spec.md 3.3, 5.4, 5.5, 5.7-5.9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from libcni import conf
from libcni.api import CNIConfig, GCArgs, GCAttachment, NetworkError, RuntimeConf, cni_error_of
from libcni.types.errors import CNIError

RT = RuntimeConf(container_id="ctr1", netns="/run/netns/test", ifname="eth0")


def make_list(*plugins: dict, version: str = "1.0.0", **extra) -> conf.NetworkConfigList:
    body = {"cniVersion": version, "name": "net", "plugins": list(plugins), **extra}
    return conf.network_conf_from_bytes(json.dumps(body).encode())


def runtime(fake, **kwargs) -> CNIConfig:
    env = fake.env(**kwargs.pop("env", {}))
    return CNIConfig([fake.bin_dir], fake.cache_dir, env=env, **kwargs)


def write_script(fake, name: str, body: str) -> str:
    path = os.path.join(fake.bin_dir, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


# --- C-20 .. C-25 the request each plugin gets ------------------------------------------------------


def test_C20_C22_chain_sets_name_version_and_prev_result(fake):
    conf_list = make_list(
        {"type": "alpha", "name": "ignored", "cniVersion": "0.1.0"},
        {"type": "beta", "keep": {"z": 1, "a": 2}},
    )
    result = runtime(fake).add_network_list(conf_list, RT)
    (p1, c1, s1), (p2, c2, s2) = fake.requests()
    assert (p1, c1, p2, c2) == ("alpha", "ADD", "beta", "ADD")
    assert s1 == {"type": "alpha", "name": "net", "cniVersion": "1.0.0"}  # no prevResult for the first
    assert s2["prevResult"]["interfaces"] == [{"name": "alpha", "sandbox": "/run/netns/test"}]
    assert s2["keep"] == {"z": 1, "a": 2}
    assert [i.name for i in result.interfaces] == ["alpha", "beta"]
    # Go's bytes: compact, keys sorted
    assert fake.records()[0]["stdin"] == '{"cniVersion":"1.0.0","name":"net","type":"alpha"}'


def test_C21_runtime_config_only_for_declared_and_supplied_capabilities(fake):
    conf_list = make_list(
        {"type": "alpha", "capabilities": {"mac": True, "portMappings": False}},
        {"type": "beta", "capabilities": {"portMappings": True, "bandwidth": True}},
        {"type": "gamma", "runtimeConfig": {"static": 1}, "capabilities": {"ips": True}},
    )
    rt = RuntimeConf(
        container_id="ctr1",
        netns="/run/netns/test",
        ifname="eth0",
        capability_args={"mac": "c2:11:22:33:44:55", "portMappings": [{"hostPort": 80}], "other": 1},
    )
    runtime(fake).add_network_list(conf_list, rt)
    stdins = [s for _, _, s in fake.requests()]
    assert stdins[0]["runtimeConfig"] == {"mac": "c2:11:22:33:44:55"}
    assert stdins[1]["runtimeConfig"] == {"portMappings": [{"hostPort": 80}]}
    assert stdins[2]["runtimeConfig"] == {"static": 1}  # nothing to inject: the file's value survives
    assert stdins[0]["capabilities"] == {"mac": True, "portMappings": False}  # Go passes it through


def test_C21_injection_replaces_a_static_runtime_config(fake):
    conf_list = make_list({"type": "alpha", "runtimeConfig": {"static": 1}, "capabilities": {"mac": True}})
    runtime(fake).add_network_list(
        conf_list, RuntimeConf(container_id="c", ifname="eth0", capability_args={"mac": "x"})
    )
    assert fake.requests()[0][2]["runtimeConfig"] == {"mac": "x"}


def test_L20_environment(fake):
    rt = RuntimeConf(
        container_id="ctr1", netns="/n", ifname="net1", args=[("IgnoreUnknown", "1"), ("K", "a=b")]
    )
    runtime(fake, env={"CNI_STALE": "x", "CNI_COMMAND": "bogus"}).add_network_list(
        make_list({"type": "alpha"}), rt
    )
    env = fake.records()[0]["env"]
    assert env == {
        "CNI_STALE": "x",
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": "ctr1",
        "CNI_NETNS": "/n",
        "CNI_IFNAME": "net1",
        "CNI_ARGS": "IgnoreUnknown=1;K=a=b",
        "CNI_PATH": fake.bin_dir,
    }


# --- L-24 / L-26 what a plugin answers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdout", "version", "n_ips"),
    [
        ('{"ips":[{"address":"10.0.0.2/24"}]}', "0.4.0", 1),  # no cniVersion: the config's (cni#895)
        ('{"cniVersion":"","ips":[{"address":"10.0.0.2/24"}]}', "0.4.0", 1),
        ("null", "0.4.0", 0),
        ('{"cniVersion":"1.0.0"}', "1.0.0", 0),  # not converted to the list version
    ],
)
def test_L24_result_version(fake, stdout, version, n_ips):
    conf_list = make_list({"type": "alpha", "fake": {"ADD": {"stdout": stdout}}}, version="0.4.0")
    result = runtime(fake).add_network_list(conf_list, RT)
    assert result.cniVersion == version and len(result.ips) == n_ips


def test_L24_empty_stdout_is_an_error(fake):
    conf_list = make_list({"type": "alpha", "fake": {"ADD": {"stdout": ""}}})
    with pytest.raises(
        NetworkError, match=r'plugin type="alpha" failed \(add\): failed to unmarshal raw result: unexp'
    ):
        runtime(fake).add_network_list(conf_list, RT)


@pytest.mark.parametrize(
    ("behaviour", "text", "code"),
    [
        ({"error": {"code": 7, "msg": "bad", "details": "why"}}, "bad; why", 7),
        (
            {"stdout": "oops", "exit": 1},
            'netplugin failed but error parsing its diagnostic message "oops"',
            0,
        ),
        ({"stdout": "", "stderr": "boom\n", "exit": 2}, 'netplugin failed: "boom\\n": exit status 2', 0),
        ({"stdout": "", "exit": 3}, "netplugin failed with no error message: exit status 3", 0),
    ],
)
def test_L26_L30_plugin_errors_are_wrapped_and_keep_their_code(fake, behaviour, text, code):
    conf_list = make_list(
        {"type": "alpha"}, {"type": "beta", "name": "b", "fake": {"ADD": behaviour}}, {"type": "gamma"}
    )
    with pytest.raises(NetworkError) as info:
        runtime(fake).add_network_list(conf_list, RT)
    assert str(info.value).startswith('plugin type="beta" name="b" failed (add): ')
    assert text in str(info.value)
    assert cni_error_of(info.value).code == code
    assert [p for p, _, _ in fake.requests()] == ["alpha", "beta"]  # the chain stops, no rollback
    assert not os.path.exists(os.path.join(fake.cache_dir, "results"))


def test_P05_successful_plugin_stderr_goes_to_the_callers_stderr(fake):
    seen: list[bytes] = []
    cni = CNIConfig([fake.bin_dir], fake.cache_dir, env=fake.env(), stderr=seen.append)
    cni.add_network_list(make_list({"type": "alpha", "fake": {"ADD": {"stderr": "note\n"}}}), RT)
    assert seen == [b"note\n"]


def test_P05_failed_plugin_stderr_reaches_the_caller_too(fake):
    seen: list[bytes] = []
    cni = CNIConfig([fake.bin_dir], fake.cache_dir, env=fake.env(), stderr=seen.append)
    behaviour = {"error": {"code": 7, "msg": "bad"}, "stderr": "the reason\n"}
    with pytest.raises(NetworkError) as info:
        cni.add_network_list(make_list({"type": "alpha", "fake": {"ADD": behaviour}}), RT)
    assert str(info.value) == 'plugin type="alpha" failed (add): bad'  # Go's text, unchanged
    assert seen == [b"the reason\n"] and cni_error_of(info.value).stderr == b"the reason\n"


@pytest.mark.parametrize(
    ("rt", "message", "code"),
    [
        (RuntimeConf(container_id="", ifname="eth0"), "missing containerID", 3),
        (RuntimeConf(container_id="a/b", ifname="eth0"), "invalid characters in containerID; a/b", 4),
        (RuntimeConf(container_id="c", ifname=""), "interface name is empty", 4),
        (RuntimeConf(container_id="c", ifname="a" * 16), "interface name is too long", 4),
        (RuntimeConf(container_id="c", ifname="a:b"), "contains / or : or whitespace", 4),
        (RuntimeConf(container_id="c", ifname=".."), "interface name is . or ..", 4),
    ],
)
def test_L90_L92_identifiers_are_checked_before_anything_runs(fake, rt, message, code):
    with pytest.raises(NetworkError, match=message) as info:
        runtime(fake).add_network_list(make_list({"type": "alpha"}), rt)
    assert cni_error_of(info.value).code == code
    assert fake.records() == []


def test_L91_bad_network_name(fake):
    conf_list = make_list({"type": "alpha"})
    conf_list.name = "bad name"
    with pytest.raises(NetworkError, match="invalid characters found in network name; bad name") as info:
        runtime(fake).add_network_list(conf_list, RT)
    assert cni_error_of(info.value).code == 7


def test_L10_L12_missing_plugin(fake):
    with pytest.raises(NetworkError, match=r'failed \(add\): failed to find plugin "nope" in path \['):
        runtime(fake).add_network_list(make_list({"type": "alpha"}, {"type": "nope"}), RT)
    assert [p for p, _, _ in fake.requests()] == ["alpha"]


# --- L-31 CHECK, L-32 DEL ---------------------------------------------------------------------------


def test_L31_L32_check_forward_del_reverse_with_the_cached_result(fake):
    cni = runtime(fake)
    conf_list = make_list({"type": "alpha"}, {"type": "beta"}, {"type": "gamma"})
    added = cni.add_network_list(conf_list, RT)
    fake.clear()
    cni.check_network_list(conf_list, RT)
    cni.del_network_list(conf_list, RT)
    calls = fake.requests()
    assert [(p, c) for p, c, _ in calls] == [
        ("alpha", "CHECK"),
        ("beta", "CHECK"),
        ("gamma", "CHECK"),
        ("gamma", "DEL"),
        ("beta", "DEL"),
        ("alpha", "DEL"),
    ]
    for _, _, stdin in calls:
        assert stdin["prevResult"] == added.to_json_dict()
    assert os.listdir(os.path.join(fake.cache_dir, "results")) == []
    fake.clear()
    cni.del_network_list(conf_list, RT)  # DEL again: no cache, no prevResult, still fine
    assert all("prevResult" not in s for _, _, s in fake.requests())


def test_L31_check_rules(fake):
    cni = runtime(fake)
    with pytest.raises(
        NetworkError, match='^configuration version "0.3.1" does not support the CHECK command$'
    ):
        cni.check_network_list(make_list({"type": "alpha"}, version="0.3.1"), RT)
    cni.check_network_list(make_list({"type": "alpha"}, disableCheck=True), RT)
    assert fake.records() == []
    failing = make_list(
        {"type": "alpha", "fake": {"CHECK": {"error": {"code": 11, "msg": "later"}}}}, {"type": "beta"}
    )
    with pytest.raises(CNIError) as info:  # returned unwrapped
        cni.check_network_list(failing, RT)
    assert info.value.code == 11 and [p for p, _, _ in fake.requests()] == ["alpha"]


def test_L31_L32_corrupt_cache_fails_check_but_del_drops_it(fake):
    cni = runtime(fake)
    conf_list = make_list({"type": "alpha"})
    os.makedirs(os.path.join(fake.cache_dir, "results"))
    path = os.path.join(fake.cache_dir, "results", "net-ctr1-eth0")
    with open(path, "w") as f:
        f.write("")  # what a crash used to leave (cni#1055)
    with pytest.raises(NetworkError, match='^failed to get network "net" cached result: '):
        cni.check_network_list(conf_list, RT)
    cni.del_network_list(conf_list, RT)
    assert not os.path.exists(path)
    assert "prevResult" not in fake.requests()[-1][2]


def test_L32_failed_del_keeps_the_cache(fake):
    cni = runtime(fake)
    good = make_list({"type": "alpha"}, {"type": "beta"})
    cni.add_network_list(good, RT)
    bad = make_list(
        {"type": "alpha"}, {"type": "beta", "fake": {"DEL": {"error": {"code": 11, "msg": "busy"}}}}
    )
    with pytest.raises(NetworkError, match=r'^plugin type="beta" failed \(delete\): busy$'):
        cni.del_network_list(bad, RT)
    assert os.listdir(os.path.join(fake.cache_dir, "results")) == ["net-ctr1-eth0"]


def test_L32_old_versions_get_no_prev_result_on_del(fake):
    cni = runtime(fake)
    conf_list = make_list({"type": "alpha"}, version="0.3.1")
    cni.add_network_list(conf_list, RT)
    cni.del_network_list(conf_list, RT)
    assert "prevResult" not in fake.requests()[-1][2]


# --- L-50 / L-51 validation and VERSION -------------------------------------------------------------


def test_L50_validate_list(fake):
    cni = runtime(fake, env={"FAKE_VERSIONS": "0.4.0,1.0.0"})
    caps = cni.validate_network_list(
        make_list(
            {"type": "alpha", "capabilities": {"mac": True, "ips": False}},
            {"type": "beta", "capabilities": {"portMappings": True}},
        )
    )
    assert caps == ["mac", "portMappings"]
    with pytest.raises(NetworkError) as info:
        cni.validate_network_list(make_list({"type": "alpha"}, {"type": "nope"}, version="1.1.0"))
    assert str(info.value) == (
        '[plugin alpha does not support config version "1.1.0" '
        f'failed to find plugin "nope" in path [{fake.bin_dir}]]'
    )


def test_L51_version_query(fake):
    info = runtime(fake).get_version_info("alpha")
    assert info.supported_versions[-1] == "1.1.0"
    record = fake.records()[0]
    assert record["stdin"] == '{"cniVersion":"1.1.0"}'
    assert record["env"]["CNI_NETNS"] == record["env"]["CNI_IFNAME"] == record["env"]["CNI_PATH"] == "dummy"
    write_script(fake, "ancient", 'echo \'{"code":4,"msg":"unknown CNI_COMMAND: VERSION"}\'; exit 1\n')
    assert runtime(fake).get_version_info("ancient").supported_versions == ["0.1.0"]
    write_script(fake, "old020", 'echo \'{"cniVersion":"0.2.0"}\'\n')
    assert runtime(fake).get_version_info("old020").supported_versions == ["0.1.0", "0.2.0"]


# --- L-60 .. L-63 GC, L-70 / L-71 STATUS ------------------------------------------------------------


def test_L61_L62_gc_deletes_stale_keeps_valid_and_sends_gc(fake):
    cni = runtime(fake)
    conf_list = make_list({"type": "alpha"}, {"type": "beta"}, version="1.1.0")
    other = make_list({"type": "alpha"}, version="1.1.0")
    other.name = "other"
    keep = RuntimeConf(container_id="keep", netns="/n1", ifname="eth0")
    stale = RuntimeConf(
        container_id="stale", netns="/n2", ifname="eth1", args=[("A", "1")], capability_args={"x": 1}
    )
    for rt in (keep, stale):
        cni.add_network_list(conf_list, rt)
    cni.add_network_list(other, RuntimeConf(container_id="stale", ifname="eth0"))
    fake.clear()
    cni.gc_network_list(conf_list, GCArgs([GCAttachment("keep", "eth0")]))
    calls = fake.records()
    assert [(r["plugin"], r["env"]["CNI_COMMAND"], r["env"]["CNI_CONTAINERID"]) for r in calls] == [
        ("beta", "DEL", "stale"),
        ("alpha", "DEL", "stale"),
        ("alpha", "GC", ""),
        ("beta", "GC", ""),
    ]
    assert calls[0]["env"]["CNI_NETNS"] == "/n2" and calls[0]["env"]["CNI_ARGS"] == "A=1"
    gc_stdin = json.loads(calls[2]["stdin"])
    valid = [{"containerID": "keep", "ifname": "eth0"}]
    assert gc_stdin["cni.dev/valid-attachments"] == valid and gc_stdin["cni.dev/attachments"] == valid
    assert calls[2]["env"]["CNI_IFNAME"] == calls[2]["env"]["CNI_NETNS"] == ""
    assert sorted(os.listdir(os.path.join(fake.cache_dir, "results"))) == [
        "net-keep-eth0",
        "other-stale-eth0",
    ]


def test_L61_gc_without_args_deletes_everything_like_go(fake):
    cni = runtime(fake)
    conf_list = make_list({"type": "alpha"}, version="1.0.0")
    cni.add_network_list(conf_list, RT)
    fake.clear()
    cni.gc_network_list(conf_list, None)
    assert [(p, c) for p, c, _ in fake.requests()] == [("alpha", "DEL")]  # < 1.1.0: no GC verb


def test_L60_L63_gc_disabled_and_errors_joined(fake):
    cni = runtime(fake)
    cni.gc_network_list(make_list({"type": "alpha"}, version="1.1.0", disableGC=True), None)
    assert fake.records() == []
    failing = make_list(
        {"type": "alpha", "fake": {"GC": {"error": {"code": 999, "msg": "a"}}}},
        {"type": "beta", "fake": {"GC": {"error": {"code": 999, "msg": "b"}}}},
        version="1.1.0",
    )
    with pytest.raises(NetworkError) as info:
        cni.gc_network_list(failing, GCArgs([]))
    assert str(info.value) == "failed to GC plugin alpha: a\nfailed to GC plugin beta: b"


def test_L70_L71_status(fake):
    cni = runtime(fake)
    old = make_list(
        {"type": "alpha", "fake": {"STATUS": {"error": {"code": 50, "msg": "down"}}}}, version="1.0.0"
    )
    cni.get_status_network_list(old)
    assert fake.records() == []
    new = make_list(
        {"type": "alpha"},
        {"type": "beta", "fake": {"STATUS": {"error": {"code": 50, "msg": "down"}}}},
        {"type": "gamma"},
        version="1.1.0",
    )
    with pytest.raises(CNIError) as info:
        cni.get_status_network_list(new)
    assert info.value.code == 50
    assert [(p, c) for p, c, _ in fake.requests()] == [("alpha", "STATUS"), ("beta", "STATUS")]
    assert fake.requests()[0][2] == {"cniVersion": "1.1.0", "name": "net", "type": "alpha"}


# --- L-22 / L-23 execution: timeouts, ETXTBSY ------------------------------------------------------


def test_L23_a_hung_plugin_and_its_children_are_killed_and_reported(fake):
    write_script(fake, "hang", "echo starting >&2\nsleep 30 &\nsleep 30\n")
    cni = runtime(fake, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        cni.add_network_list(make_list({"type": "hang"}), RT)
    assert time.monotonic() - started < 5
    err = cni_error_of(info.value)
    assert err.code == 11 and "timed out after 0.5 s and was killed" in err.msg
    assert err.details == "starting"


def test_L22_text_file_busy_is_retried_with_a_fresh_process(fake):
    path = os.path.join(fake.bin_dir, "busy")
    writer = open(path, "w")  # noqa: SIM115 - held open on purpose: exec fails with ETXTBSY meanwhile
    writer.write('#!/bin/sh\necho \'{"cniVersion":"1.0.0"}\'\n')
    writer.flush()
    os.chmod(path, 0o755)
    threading.Timer(0.3, writer.close).start()
    started = time.monotonic()
    result = runtime(fake).add_network_list(make_list({"type": "busy"}), RT)
    assert result.cniVersion == "1.0.0"
    assert 0.9 < time.monotonic() - started < 4  # one retry, a second later


# --- L-33 single-plugin variants, import hygiene ------------------------------------------------------


def test_L33_single_plugin_variants(fake):
    cni = runtime(fake)
    plugin = conf.network_plugin_conf_from_bytes(b'{"cniVersion":"0.4.0","name":"single","type":"alpha"}')
    result = cni.add_network(plugin, RT)
    assert result.cniVersion == "0.4.0"
    assert cni.get_network_cached_result(plugin, RT).to_json_dict() == result.to_json_dict()
    data, _ = cni.get_network_cached_config(plugin, RT)
    assert data == plugin.bytes
    cni.check_network(plugin, RT)
    cni.del_network(plugin, RT)
    assert [c for _, c, _ in fake.requests()] == ["ADD", "CHECK", "DEL"]
    assert cni.get_network_cached_result(plugin, RT) is None
    assert cni.validate_network(plugin) == []


def test_cnitool_and_libcni_never_import_pyroute2(fake):
    fake.write_conf("10-net.conflist", {"cniVersion": "1.1.0", "name": "net", "plugins": [{"type": "alpha"}]})
    code = (
        "import sys\n"
        "from libcni import cnitool\n"
        "for argv in (['add','net','/proc/self/ns/net'],['check','net','/proc/self/ns/net'],['gc','net'],"
        "['status','net'],['del','net','/proc/self/ns/net']):\n"
        "    try:\n"
        "        cnitool.main(argv)\n"
        "    except SystemExit as e:\n"
        "        assert not e.code, e.code\n"
        "print('\\nloaded', sorted(m for m in sys.modules if m.split('.')[0] in ('pyroute2', 'netaddr')))\n"
    )
    env = fake.env(NETCONFPATH=fake.conf_dir, CNI_PATH=fake.bin_dir, CNI_CACHE_DIR=fake.cache_dir)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "loaded []"
