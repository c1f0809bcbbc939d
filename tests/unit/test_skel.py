"""Every error path of the plugin skeleton, in Go skel's order and with its codes."""

import json
import os
import subprocess
import sys

import pytest

from libcni.skel import Plugin, dispatch
from libcni.types.version import SUPPORTED_VERSIONS

from . import sample_commands

PLUGIN = Plugin("sample", "tests.unit.sample_commands")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE_ENV = {
    "CNI_COMMAND": "ADD",
    "CNI_CONTAINERID": "c1",
    "CNI_NETNS": "/run/netns/nowhere",
    "CNI_IFNAME": "eth0",
    "CNI_PATH": "/opt/cni/bin",
}


def conf(version="1.0.0", **extra):
    return json.dumps({"cniVersion": version, "name": "net1", "type": "sample", **extra}).encode()


def run(env=None, stdin=None, **overrides):
    environ = dict(BASE_ENV if env is None else env)
    for key, value in overrides.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    data = conf() if stdin is None else stdin
    out = dispatch(PLUGIN, environ, lambda: data)
    parsed = json.loads(out.stdout) if out.stdout.strip() else None
    return out, parsed


def error(out_parsed):
    out, parsed = out_parsed
    assert out.exit_code == 1, out
    assert set(parsed) <= {"cniVersion", "code", "msg", "details"}
    return parsed


def test_version_reply():
    out, parsed = run({"CNI_COMMAND": "VERSION"}, stdin=b"not read")
    assert out.exit_code == 0
    assert parsed == {"cniVersion": "1.1.0", "supportedVersions": list(SUPPORTED_VERSIONS)}
    assert out.stdout.endswith(b"\n") and b" " not in out.stdout


def test_no_command_prints_about_to_stderr():
    out, parsed = run({})
    assert out.exit_code == 0 and parsed is None
    assert out.stderr.decode().splitlines() == [
        "CNI sample plugin v0.1.0 (pycni-plugins, build source)",
        "CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0",
    ]


@pytest.mark.parametrize(
    "command,missing",
    [
        ("ADD", "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH"),
        ("CHECK", "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH"),
        ("DEL", "CNI_CONTAINERID,CNI_IFNAME,CNI_PATH"),
        ("GC", "CNI_PATH"),
        ("STATUS", "CNI_PATH"),
    ],
)
def test_missing_env_vars(command, missing):
    parsed = error(run({"CNI_COMMAND": command}))
    assert parsed["code"] == 4
    assert parsed["msg"] == f"required env variables [{missing}] missing"


def test_empty_value_counts_as_missing():
    parsed = error(run(CNI_PATH=""))
    assert parsed["msg"] == "required env variables [CNI_PATH] missing"


def test_del_without_netns_is_fine():
    out, _ = run(CNI_COMMAND="DEL", CNI_NETNS=None)
    assert out.exit_code == 0


@pytest.mark.parametrize("cid", ["-lead", "has space", "a/b", "ä"])
def test_invalid_container_id(cid):
    parsed = error(run(CNI_CONTAINERID=cid, CNI_PATH=None))  # validated before missing vars are reported
    assert (parsed["code"], parsed["msg"], parsed["details"]) == (4, "invalid characters in containerID", cid)


@pytest.mark.parametrize(
    "ifname,msg",
    [
        ("a" * 16, "interface name is too long"),
        (".", "interface name is . or .."),
        ("..", "interface name is . or .."),
        ("a/b", "interface name contains / or : or whitespace characters"),
        ("a:b", "interface name contains / or : or whitespace characters"),
        ("a b", "interface name contains / or : or whitespace characters"),
        ("a\u00a0b", "interface name contains / or : or whitespace characters"),
    ],
)
def test_invalid_ifname(ifname, msg):
    parsed = error(run(CNI_IFNAME=ifname))
    assert (parsed["code"], parsed["msg"]) == (4, msg)


def test_ifname_not_validated_for_gc():
    out, _ = run({"CNI_COMMAND": "GC", "CNI_PATH": "/x", "CNI_IFNAME": "a/b"}, stdin=conf("1.1.0"))
    assert out.exit_code == 0


def test_stdin_read_failure():
    def broken():
        raise OSError(5, "Input/output error")

    out = dispatch(PLUGIN, BASE_ENV, broken)
    parsed = json.loads(out.stdout)
    assert parsed["code"] == 5 and parsed["msg"].startswith("error reading from stdin")


@pytest.mark.parametrize("stdin", [b"", b"{", b"[1,2]", b'"x"', b'{"name": 5}'])
def test_undecodable_config(stdin):
    parsed = error(run(stdin=stdin))
    assert parsed["code"] == 6 and parsed["msg"].startswith("error unmarshall network config")


@pytest.mark.parametrize("stdin", [b"{}", b'{"name": ""}', b'{"name": null}'])
def test_missing_name(stdin):
    parsed = error(run(stdin=stdin))
    assert (parsed["code"], parsed["msg"]) == (7, "missing network name")


@pytest.mark.parametrize("name", ["-x", "a b", "../etc", "a/b"])
def test_invalid_name(name):
    parsed = error(run(stdin=json.dumps({"name": name}).encode()))
    assert (parsed["code"], parsed["msg"], parsed["details"]) == (
        7,
        "invalid characters found in network name",
        name,
    )


def test_name_matched_case_insensitively():
    out, _ = run(stdin=b'{"cniVersion":"1.0.0","Name":"ok"}')
    assert out.exit_code == 0


def test_unknown_command_after_config_check():
    parsed = error(run(CNI_COMMAND="add"))
    assert (parsed["code"], parsed["msg"]) == (4, "unknown CNI_COMMAND: add")
    parsed = error(run(CNI_COMMAND="FOO", stdin=b"{"))
    assert parsed["code"] == 6


@pytest.mark.parametrize("version", ["1.0", "1.0.1", "2.0.0", "0.5.0"])
def test_incompatible_version(version):
    parsed = error(run(stdin=conf(version)))
    assert parsed["code"] == 1 and parsed["msg"] == "incompatible CNI versions"
    assert parsed["details"] == (
        f'config is "{version}", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]'
    )


def test_missing_version_means_010():
    out, parsed = run(stdin=b'{"name":"n"}')
    # the sample result has an IP, so it converts to 0.1.0
    assert out.exit_code == 0 and parsed["cniVersion"] == "0.1.0" and "ip4" in parsed


@pytest.mark.parametrize("version", ["0.1.0", "0.2.0", "0.3.0", "0.3.1"])
def test_check_needs_040(version):
    parsed = error(run(CNI_COMMAND="CHECK", stdin=conf(version)))
    assert (parsed["code"], parsed["msg"]) == (1, "config version does not allow CHECK")


def test_check_with_newer_than_supported():
    parsed = error(run(CNI_COMMAND="CHECK", stdin=conf("1.2.0")))
    assert (parsed["code"], parsed["msg"]) == (1, "plugin version does not allow CHECK")


@pytest.mark.parametrize("command", ["GC", "STATUS"])
@pytest.mark.parametrize("version", ["0.4.0", "1.0.0"])
def test_gc_status_need_110(command, version):
    parsed = error(run({"CNI_COMMAND": command, "CNI_PATH": "/x"}, stdin=conf(version)))
    assert (parsed["code"], parsed["msg"]) == (1, f"config version does not allow {command}")


@pytest.mark.parametrize("command", ["GC", "STATUS"])
def test_unimplemented_verbs_succeed_silently(command):
    out, parsed = run({"CNI_COMMAND": command, "CNI_PATH": "/x"}, stdin=conf("1.1.0"))
    assert out.exit_code == 0 and out.stdout == b""


def test_unparsable_version_for_check():
    parsed = error(run(CNI_COMMAND="CHECK", stdin=conf("x.y")))
    assert parsed["code"] == 6


def test_same_netns_refused_before_acting():
    sample_commands.CALLS.clear()
    parsed = error(run(CNI_NETNS="/proc/self/ns/net"))
    assert parsed["code"] == 8
    assert sample_commands.CALLS == []


@pytest.mark.parametrize("value", ["1", "true", "TRUE"])
def test_netns_override(value):
    out, _ = run(CNI_NETNS="/proc/self/ns/net", CNI_NETNS_OVERRIDE=value)
    assert out.exit_code == 0


def test_untyped_error_becomes_999_without_traceback():
    parsed = error(run(CNI_ARGS="FAIL=untyped"))
    assert (parsed["code"], parsed["msg"]) == (999, "boom")


def test_typed_error_passes_through_with_config_version():
    parsed = error(run(CNI_ARGS="FAIL=typed", stdin=conf("0.4.0")))
    assert parsed == {"cniVersion": "0.4.0", "code": 11, "msg": "busy", "details": "try later"}


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_add_result_in_config_version(version):
    out, parsed = run(stdin=conf(version))
    assert out.exit_code == 0
    assert parsed["cniVersion"] == version
    assert not out.stdout.endswith(b"\n")


def test_add_result_printed_by_the_plugin_goes_out_as_is():
    out, parsed = run(CNI_ARGS="PRINTED=1", stdin=conf("0.2.0"))
    assert out.exit_code == 0
    assert out.stdout == b'{"cniVersion": "0.2.0", "printed": "by the plugin"}'


def test_del_check_print_nothing():
    for command in ("DEL", "CHECK"):
        out, _ = run(CNI_COMMAND=command)
        assert out.exit_code == 0 and out.stdout == b""


def _entry(env: dict, stdin: bytes, stdout=subprocess.PIPE):
    script = "from libcni.skel import Plugin, main; main(Plugin('sample', 'tests.unit.sample_commands'))"
    return subprocess.run(
        [sys.executable, "-c", script],
        input=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**env, "PYTHONPATH": ROOT},
        cwd=ROOT,
        check=False,
    )


def test_process_entry_exit_codes():
    ok = _entry(BASE_ENV, conf())
    assert ok.returncode == 0 and json.loads(ok.stdout)["cniVersion"] == "1.0.0"
    bad = _entry(BASE_ENV, b"{")
    assert bad.returncode == 1 and json.loads(bad.stdout)["code"] == 6
    assert b"Traceback" not in bad.stderr


def test_broken_stdout_pipe_is_harmless():
    r, w = os.pipe()
    os.close(r)  # nobody reads: every write gets EPIPE
    try:
        proc = _entry(BASE_ENV, conf(), stdout=w)
    finally:
        os.close(w)
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stderr


def test_cni_version_key_matched_case_insensitively():
    out, parsed = run(stdin=b'{"CNIVersion":"0.4.0","name":"n"}')
    assert out.exit_code == 0 and parsed["cniVersion"] == "0.4.0"


def test_version_and_errors_do_not_import_pydantic_or_pyroute2():
    script = (
        "import sys; from libcni.skel import Plugin, dispatch\n"
        "p = Plugin('sample', 'tests.unit.sample_commands')\n"
        "dispatch(p, {'CNI_COMMAND': 'VERSION'}, lambda: b'')\n"
        "dispatch(p, {'CNI_COMMAND': 'ADD'}, lambda: b'')\n"
        "dispatch(p, dict(CNI_COMMAND='ADD', CNI_CONTAINERID='c', CNI_NETNS='/x',"
        " CNI_IFNAME='e', CNI_PATH='/p'),"
        ' lambda: b\'{"name": "n", "cniVersion": "9.9.9"}\')\n'
        "heavy = [m for m in ('pydantic', 'pyroute2', 'netaddr') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_deeply_nested_config_is_a_decoding_error():
    parsed = error(run(stdin=b'{"name": "n", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"))
    assert parsed["code"] == 6


def test_error_objects_always_encode():
    # a lone surrogate escape is valid JSON; the error naming it must still be printable
    parsed = error(run(stdin=b'{"cniVersion": "1.0.0", "name": "\\ud800"}'))
    assert parsed["code"] == 7


@pytest.mark.parametrize("cid", ["abc\n", "abc\ndef"])
def test_newline_in_container_id_refused(cid):
    assert error(run(CNI_CONTAINERID=cid))["code"] == 4
