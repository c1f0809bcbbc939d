"""The frozen executables (dist/bin, `make build`) and the release tarball (`make dist`).

- ADD/CHECK/DEL of the chain bridge(+host-local) + tuning + portmap, driven by the built cnitool:
  by default (no process left behind), cold and through the opt-in warm server;
- what people do to plugin files: run through the resolved path, behind a logging wrapper,
  renamed, copied with `cp -L`/`install` with and without the support directory;
- the tarball extracted into an empty directory is a working plugin directory; `scripts/install`
  (make install / uninstall) lays out the same files;
- the plugins' launchers are the warm server's client (CNI_PY_WARM=1): they name the server's
  address, a warm call through them starts no Python and answers as a cold one, they run cold when
  no server (or another uid's listener, or a stuck one) is there, and a killed launcher's worker dies.

Skipped with a reason when nothing was built (CI builds first)."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time

import pytest

from launcher.programs import ENTRIES, SUPPORT_DIR, TOOLS
from tests.harness import Netns, PluginRunner, Squatter, unique

pytestmark = pytest.mark.kernel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILT = os.environ.get("CNI_BUILT_DIR", os.path.join(ROOT, "dist", "bin"))
SUBNET_PREFIX = "10.93.7."


@pytest.fixture(scope="module")
def built():
    if not os.access(os.path.join(BUILT, "cnitool"), os.X_OK):
        pytest.skip(f"no built executables in {BUILT} (run `make build`)")
    return BUILT


def conflist(tmp_path, bridge: str) -> str:
    conf = {
        "cniVersion": "1.1.0",
        "name": "built",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(tmp_path / "ipam"),
                    "ranges": [[{"subnet": SUBNET_PREFIX + "0/24"}]],
                },
            },
            {"type": "tuning", "sysctl": {"net.core.somaxconn": "777"}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    directory = tmp_path / "net.d"
    directory.mkdir()
    (directory / "10-built.conflist").write_text(json.dumps(conf))
    return str(directory)


def processes_in(ns_path: str) -> list[str]:
    """Command lines of the processes whose netns is `ns_path`."""
    inode = os.stat(ns_path).st_ino
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        found.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    return found


def processes_of(directory: str) -> list[str]:
    """Executables of running processes that live under `directory`."""
    found = []
    prefix = os.path.realpath(directory) + os.sep
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                exe = os.readlink(f"/proc/{entry}/exe")
            except OSError:
                continue
            if exe.startswith(prefix):
                found.append(f"{entry} {exe}")
    return found


@pytest.mark.parametrize("mode", ["default", "cold", "warm"])
def test_chain_add_check_del_with_the_built_executables(built, tmp_path, host_ns, container_ns, mode):
    chain(built, tmp_path, host_ns, container_ns, mode)


def chain(built: str, tmp_path, host_ns, container_ns, mode: str = "default") -> None:
    """The chain through `built`'s cnitool; by default (no CNI_PY_WARM) nothing of ours may run
    in the host netns, or from `built`, once each call returned."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "NETCONFPATH": conflist(tmp_path, unique("brb")),
        "CNI_PATH": built,
        "CNI_CACHE_DIR": str(tmp_path / "cache"),
        "CAP_ARGS": json.dumps(
            {"portMappings": [{"hostPort": 18181, "containerPort": 80, "protocol": "tcp"}]}
        ),
    }
    if mode != "default":
        env["CNI_PY_WARM"] = "0" if mode == "cold" else "1"

    def cnitool(*argv: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["nsenter", f"--net={host_ns.path}", "--", os.path.join(built, "cnitool"), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if mode == "default":
            assert processes_in(host_ns.path) == [], f"cnitool {argv[0]} left processes behind"
            assert processes_of(built) == [], f"cnitool {argv[0]} left processes behind"
        return proc

    try:
        add = cnitool("add", "built", container_ns.path)
        assert add.returncode == 0, add.stderr + add.stdout
        result = json.loads(add.stdout)
        address = result["ips"][0]["address"]
        assert address.startswith(SUBNET_PREFIX) and result["ips"][0]["interface"] == 2
        assert [i["name"] for i in result["interfaces"]][2] == "eth0"
        assert address in container_ns.addrs("eth0")
        assert container_ns.sysctl("net.core.somaxconn") == "777"
        container_ip = address.split("/")[0]
        nat = host_ns.run("iptables-save", "-t", "nat")
        assert f"--to-destination {container_ip}:80" in nat and "CNI-HOSTPORT-DNAT" in nat

        check = cnitool("check", "built", container_ns.path)
        assert check.returncode == 0, check.stderr + check.stdout

        delete = cnitool("del", "built", container_ns.path)
        assert delete.returncode == 0, delete.stderr + delete.stdout
        assert container_ns.link("eth0") is None
        assert container_ip not in host_ns.run("iptables-save", "-t", "nat")
        assert not [n for n in os.listdir(tmp_path / "ipam" / "built") if n.startswith(SUBNET_PREFIX)]
    finally:
        # the warm server lives in this test's host netns: stop it so nothing outlives the test
        subprocess.run(
            ["nsenter", f"--net={host_ns.path}", "--", os.path.join(built, "bridge"), "--warm-stop"],
            env=env,
            capture_output=True,
            check=False,
        )


# -- what people do to plugin files ----------------------------------------------------------------


def call(path: str, command: str = "VERSION", stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "CNI_COMMAND": command}
    environ.update(env)
    return subprocess.run([path], input=stdin, env=environ, capture_output=True, timeout=60, check=False)


def version_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["supportedVersions"][-1] == "1.1.0"


@pytest.fixture(scope="module")
def copied(tmp_path_factory, built) -> str:
    """A copy of the support directory, made once: `cp -L`'d programs go beside it."""
    directory = tmp_path_factory.mktemp("copied")
    shutil.copytree(os.path.join(built, SUPPORT_DIR), directory / SUPPORT_DIR, symlinks=True)
    return str(directory)


def test_programs_are_real_executables_with_their_name_built_in(built):
    for name in ENTRIES:
        path = os.path.join(built, name)
        assert os.path.isfile(path) and not os.path.islink(path)
        for env in ({}, {"CNI_PY_WARM": "1"}):  # a flag is the frozen program's, warm or not
            version = subprocess.run([path, "--version"], capture_output=True, text=True, env=env, check=True)
            assert version.stdout.startswith(f"{name} (pycni-plugins) v") and ", build " in version.stdout
        with open(path, "rb") as f:  # only the plugins' launchers are the warm server's client
            assert (b"cni-py-warm/" in f.read()) == (name not in TOOLS)


def test_run_through_the_resolved_path_and_a_symlink(built, tmp_path):
    version_ok(call(os.path.realpath(os.path.join(built, "bridge"))))
    os.symlink(os.path.realpath(os.path.join(built, "bridge")), tmp_path / "elsewhere")
    version_ok(call(str(tmp_path / "elsewhere")))


def test_a_logging_wrapper_around_the_real_program(copied, tmp_path):
    """`mv bridge bridge.real` and a script `bridge` that logs and execs bridge.real "$@"."""
    shutil.copy2(os.path.join(BUILT, "bridge"), os.path.join(copied, "bridge.real"))
    log = tmp_path / "log"
    wrapper = os.path.join(copied, "bridge")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\necho "$CNI_COMMAND" >>{log}\nexec {copied}/bridge.real "$@"\n')
    os.chmod(wrapper, 0o755)
    version_ok(call(wrapper))
    about = call(wrapper, command="")
    assert about.returncode == 0 and about.stderr.decode().startswith("CNI bridge plugin v")
    assert log.read_text().splitlines() == ["VERSION", ""]  # both calls went through the wrapper


def test_a_renamed_program_keeps_its_identity(copied):
    shutil.copy2(os.path.join(BUILT, "tuning"), os.path.join(copied, "10-tuning"))
    version_ok(call(os.path.join(copied, "10-tuning")))
    about = call(os.path.join(copied, "10-tuning"), command="")
    assert about.stderr.decode().startswith("CNI tuning plugin v")


def test_copied_with_its_support_directory_runs_an_add_and_del(copied, tmp_path, host_ns, container_ns):
    """`cp -L` and `install` of host-local beside a copy of the support directory: a real ADD/DEL."""
    subprocess.run(["cp", "-L", os.path.join(BUILT, "portmap"), copied], check=True)
    subprocess.run(["install", "-m", "0755", os.path.join(BUILT, "host-local"), copied], check=True)
    version_ok(call(os.path.join(copied, "portmap")))
    conf = {
        "cniVersion": "1.0.0",
        "name": "copied",
        "type": "host-local",
        "ipam": {"type": "host-local", "subnet": "10.93.8.0/24", "dataDir": str(tmp_path / "ipam")},
    }
    env = {"CNI_CONTAINERID": "copiedcid", "CNI_NETNS": container_ns.path, "CNI_IFNAME": "eth0"}
    env["CNI_PATH"] = copied
    add = call(os.path.join(copied, "host-local"), "ADD", json.dumps(conf).encode(), **env)
    assert add.returncode == 0, add.stdout + add.stderr
    assert json.loads(add.stdout)["ips"][0]["address"] == "10.93.8.2/24"
    assert os.path.exists(tmp_path / "ipam" / "copied" / "10.93.8.2")
    delete = call(os.path.join(copied, "host-local"), "DEL", json.dumps(conf).encode(), **env)
    assert delete.returncode == 0, delete.stdout + delete.stderr
    assert not os.path.exists(tmp_path / "ipam" / "copied" / "10.93.8.2")


@pytest.mark.parametrize("how", ["cp -L", "install"])
def test_copied_without_its_support_directory_fails_clearly(built, tmp_path, how):
    source = os.path.join(built, "host-local")
    if how == "cp -L":
        subprocess.run(["cp", "-L", source, str(tmp_path)], check=True)
    else:
        subprocess.run(["install", "-m", "0755", source, str(tmp_path)], check=True)
    proc = call(str(tmp_path / "host-local"), "ADD", b"{}")
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert f"needs the directory {SUPPORT_DIR}/" in lines[0] and "install the whole release" in lines[0]
    assert str(tmp_path / SUPPORT_DIR / "host-local") in lines[0]
    error = json.loads(proc.stdout)
    assert error["code"] == 999 and "without its support directory" in error["msg"]
    assert ".tgz" in error["details"]


# -- the release tarball and make install --------------------------------------------------------------


def tarball() -> str:
    found = sorted(glob.glob(os.path.join(ROOT, "dist", "*-linux-*-v*.tgz")))
    if not found:
        pytest.skip("no release tarball in dist/ (run `make dist`)")
    return found[-1]


def test_the_tarball_extracted_is_a_working_plugin_directory(tmp_path, host_ns, container_ns):
    path = tarball()
    with open(path + ".sha256") as f:
        digest, name = f.read().split()
    assert name == os.path.basename(path)
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == digest
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        top = sorted({m.name.removeprefix("./").split("/")[0] for m in members} - {".", ""})
        assert top == sorted([*ENTRIES, SUPPORT_DIR])  # the programs at the top level, and the support dir
        assert all(m.uid == 0 and m.gid == 0 for m in members)
        assert all(m.isfile() and m.mode & 0o111 for m in members if m.name.removeprefix("./") in ENTRIES)
        bin_dir = tmp_path / "opt-cni-bin"
        bin_dir.mkdir()
        tar.extractall(bin_dir, filter="tar")
    for program in sorted(set(ENTRIES) - TOOLS):  # the plugins answer VERSION
        version_ok(call(str(bin_dir / program)))
    chain(str(bin_dir), tmp_path, host_ns, container_ns)


def test_install_and_uninstall_match_the_tarball_layout(built, tmp_path):
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    (prefix / "foreign").write_text("not ours")  # another plugin in the same directory stays
    script = os.path.join(ROOT, "scripts", "install")
    subprocess.run([sys.executable, script, "--from", built, str(prefix)], check=True, capture_output=True)
    assert sorted(os.listdir(prefix)) == sorted([*ENTRIES, SUPPORT_DIR, "foreign"])  # nothing left aside
    version_ok(call(str(prefix / "bridge")))
    # again, over the running installation: the swap leaves no temporary file behind
    subprocess.run([sys.executable, script, "--from", built, str(prefix)], check=True, capture_output=True)
    assert sorted(os.listdir(prefix)) == sorted([*ENTRIES, SUPPORT_DIR, "foreign"])
    version_ok(call(str(prefix / "tuning")))
    subprocess.run([sys.executable, script, "--uninstall", str(prefix)], check=True, capture_output=True)
    assert os.listdir(prefix) == ["foreign"]


# -- the opt-in warm server of the built programs: a killed client ends its call ----------------------


def test_built_warm_worker_dies_with_its_killed_client(built, tmp_path, host_ns, container_ns):
    """host-local through the built programs' warm server waits for its config on the caller's
    stdin; the caller (the launcher, the C client) is SIGKILLed; its worker must be gone, and the
    config arriving afterwards allocates nothing."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_PY_WARM": "1",
        "CNI_PY_WARM_MAX": "64",
        "CNI_PY_WARM_IDLE": "60",
    }
    program = os.path.join(built, "host-local")

    def in_host(*argv: str) -> list[str]:
        return ["nsenter", f"--net={host_ns.path}", "--", *argv]

    def warm(flag: str):
        out = subprocess.run(in_host(program, flag), env=env, capture_output=True, text=True, check=False)
        return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None

    conf = {
        "cniVersion": "1.0.0",
        "name": "killed",
        "type": "host-local",
        "ipam": {"type": "host-local", "subnet": "10.93.9.0/24", "dataDir": str(tmp_path / "ipam")},
    }
    call_env = dict(env, CNI_COMMAND="ADD", CNI_CONTAINERID="killedcid", CNI_NETNS=container_ns.path)
    call_env.update(CNI_IFNAME="eth0", CNI_PATH=built)
    client = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not warm("--warm-status"):
            subprocess.run(in_host(program), env=dict(env, CNI_COMMAND="VERSION"), capture_output=True)
            time.sleep(0.5)
        assert warm("--warm-status"), "no warm server came up"
        client = subprocess.Popen(in_host(program), stdin=subprocess.PIPE, env=call_env)
        pipe = f"pipe:[{os.fstat(client.stdin.fileno()).st_ino}]"
        worker = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and worker is None:
            for entry in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if int(entry) != client.pid and os.readlink(f"/proc/{entry}/fd/0") == pipe:
                        worker = int(entry)
                except OSError:
                    continue
            time.sleep(0.02)
        assert worker is not None, "no worker took the call"
        # the caller is the launcher itself (launcher/stub/stub.c): no frozen program runs for it
        assert os.readlink(f"/proc/{client.pid}/exe") == os.path.realpath(program)
        client.kill()
        client.wait(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and os.path.exists(f"/proc/{worker}"):
            time.sleep(0.02)
        assert not os.path.exists(f"/proc/{worker}"), "the worker outlived its client"
        try:
            client.stdin.write(json.dumps(conf).encode())
            client.stdin.close()
        except BrokenPipeError:
            pass  # nobody reads it any more
        time.sleep(1)
        assert not os.path.exists(tmp_path / "ipam" / "killed" / "10.93.9.2")
        assert warm("--warm-status"), "the server itself survives"
    finally:
        if client is not None:
            client.kill()
            client.wait()
        warm("--warm-stop")


# -- the plugins' launchers are the warm server's client --------------------------------------------

WARM = {"CNI_PY_WARM": "1", "CNI_PY_WARM_MAX": "64", "CNI_PY_WARM_IDLE": "60"}


def built_warm(built: str, ns: Netns, flag: str) -> dict | None:
    """`--warm-status` / `--warm-stop` of the built programs' server in `ns` (answered by the
    frozen program: the launcher passes flags on)."""
    proc = subprocess.run(
        ["nsenter", f"--net={ns.path}", "--", os.path.join(built, "bridge"), flag],
        env=dict(WARM, PATH=os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None


def wait_for_built_server(built: str, ns: Netns, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = built_warm(built, ns, "--warm-status")
        if found:
            return found
        time.sleep(0.2)
    return None


@pytest.fixture
def built_server(built, host_ns):
    """start(): a cold VERSION call through a launcher starts the built programs' server in
    host_ns; wait until it serves. Afterwards it is stopped and no process is left in host_ns."""

    def start() -> dict:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            PluginRunner(built, host_ns).run("host-local", "VERSION", b"", env=WARM).ok()
            found = wait_for_built_server(built, host_ns, 15)
            if found:
                return found
        raise AssertionError("no warm server of the built programs came up")

    try:
        yield start
    finally:
        built_warm(built, host_ns, "--warm-stop")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and processes_in(host_ns.path):
            time.sleep(0.1)
        assert processes_in(host_ns.path) == [], "a warm server outlived the test"


@pytest.fixture(scope="module")
def address_tool(built, tmp_path_factory) -> str:
    """The launcher's address computation alone (stub.c built with -DWARM_TEST), beside a link to
    the built support directory: `address` prints the address the launchers compute."""
    from tests.unit.test_stub import compile_stub

    directory = tmp_path_factory.mktemp("address-tool")
    os.symlink(os.path.join(built, SUPPORT_DIR), directory / SUPPORT_DIR)
    compile_stub(str(directory / "stub-test"), "-DWARM_TEST")
    return str(directory / "stub-test")


def launcher_address(address_tool: str) -> str:
    return subprocess.run(
        [address_tool, "address"], capture_output=True, text=True, check=True
    ).stdout.strip()


def traced(built: str, tmp_path) -> tuple[str, str]:
    """A directory of wrappers running each plugin of `built` under strace (execve and connect of
    that one process, as it execs: the launcher, then the frozen program if it runs), one log per
    call. Callers set CNI_PATH to `built` so that the plugins find their siblings as usual."""
    bin_dir, logs = tmp_path / "traced", tmp_path / "logs"
    bin_dir.mkdir()
    logs.mkdir()
    for name in sorted(set(ENTRIES) - TOOLS):
        wrapper = bin_dir / name
        wrapper.write_text(
            f'#!/bin/sh\nexec strace -qq -e trace=execve,connect -o {logs}/"$$" {built}/{name} "$@"\n'
        )
        wrapper.chmod(0o755)
    return str(bin_dir), str(logs)


def traced_calls(logs: str) -> list[list[str]]:
    """Per call (log), its execve and connect lines."""
    found = []
    for entry in sorted(os.listdir(logs), key=int):
        with open(os.path.join(logs, entry)) as f:
            found.append([line for line in f.read().splitlines() if line.startswith(("execve(", "connect("))])
    return found


def test_the_launchers_compute_the_servers_address(built, built_server, address_tool):
    """The address the launchers compute (C) is the one the frozen programs' server bound
    (launcher/warm/context.py, in the bundle)."""
    server = built_server()
    assert server["address"].startswith("cni-py-warm/")
    assert launcher_address(address_tool) == server["address"]


def test_warm_calls_through_the_launchers_start_no_python(
    built, tmp_path, host_ns, netns_factory, built_server
):
    """The chain's ADD, CHECK, a failing ADD, DEL and VERSION through the launchers with a server
    running: each call is one execve (the launcher's: no frozen program starts), the server served
    every one, and stdout, stderr, exit codes and the kernel state are those of cold calls."""
    from tests.kernel.test_warm import COLD, run_chain

    cold_host = Netns.create("cnhc-")
    try:
        cold = run_chain(PluginRunner(built, cold_host), netns_factory(), str(tmp_path / "cold"), COLD)
    finally:
        cold_host.delete()
    server = built_server()
    bin_dir, logs = traced(built, tmp_path)
    warm = run_chain(
        PluginRunner(bin_dir, host_ns), netns_factory(), str(tmp_path / "warm"), dict(WARM, CNI_PATH=built)
    )
    after = built_warm(built, host_ns, "--warm-status")
    assert after is not None and after["pid"] == server["pid"]
    assert after["served"] - server["served"] - 1 == len(cold[0])  # -1: the status request itself
    calls = traced_calls(logs)
    assert len(calls) == len(cold[0])
    for lines in calls:
        execs = [line for line in lines if line.startswith("execve(")]
        assert len(execs) == 1 and f'"{built}/' in execs[0] and SUPPORT_DIR not in execs[0], lines
        assert [line for line in lines if "cni-py-warm/" in line and "= 0" in line], lines
    assert warm[0] == cold[0]
    assert warm[1] == cold[1]
    assert [reply[2] for reply in cold[0]].count(1) == 1  # the bad config: an error, warm as cold


def test_concurrent_warm_adds_through_the_launchers(built, tmp_path, host_ns, container_ns, built_server):
    from concurrent.futures import ThreadPoolExecutor

    server = built_server()
    conf = {
        "cniVersion": "1.0.0",
        "name": "concurrent",
        "type": "host-local",
        "ipam": {"type": "host-local", "subnet": "10.93.14.0/24", "dataDir": str(tmp_path / "ipam")},
    }
    runner = PluginRunner(built, host_ns)

    def add(n: int) -> str:
        run = runner.run(
            "host-local", "ADD", conf, container_id=f"conc{n}", netns=container_ns.path, env=WARM
        )
        return run.ok().json["ips"][0]["address"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        addresses = list(pool.map(add, range(20)))
    assert len(set(addresses)) == 20
    after = built_warm(built, host_ns, "--warm-status")
    assert after is not None and after["pid"] == server["pid"]
    assert after["served"] - server["served"] - 1 == 20


def frozen_execs(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("execve(") and f"/{SUPPORT_DIR}/" in line]


def host_local_add(bin_dir: str, built: str, ns: Netns, container: Netns, data_dir: str, subnet: str):
    conf = {
        "cniVersion": "1.0.0",
        "name": "fallback",
        "type": "host-local",
        "ipam": {"type": "host-local", "subnet": subnet + "0/24", "dataDir": data_dir},
    }
    env = dict(WARM, CNI_PATH=built)
    return PluginRunner(bin_dir, ns).run(
        "host-local", "ADD", conf, container_id="fb", netns=container.path, env=env
    )


def test_without_a_server_the_launcher_runs_the_call_cold_and_a_server_starts(
    built, tmp_path, host_ns, container_ns, built_server
):
    bin_dir, logs = traced(built, tmp_path)
    run = host_local_add(bin_dir, built, host_ns, container_ns, str(tmp_path / "ipam"), "10.93.11.").ok()
    assert run.json["ips"][0]["address"] == "10.93.11.2/24"
    [lines] = traced_calls(logs)
    assert len([line for line in lines if "cni-py-warm/" in line]) == 1, lines  # asked once, by the launcher
    assert "ECONNREFUSED" in [line for line in lines if "cni-py-warm/" in line][0]
    assert frozen_execs(lines), lines  # then the frozen program ran the call
    assert wait_for_built_server(built, host_ns, 60), "the cold call started no server"


def test_a_listener_of_another_uid_gets_nothing_from_the_launcher(
    built, tmp_path, host_ns, container_ns, address_tool
):
    """Abstract names have no permissions: another user may squat on the address. The launcher
    checks who listens and runs the call cold, handing over nothing."""
    with Squatter(host_ns, b"\0" + launcher_address(address_tool).encode()) as squatter:
        bin_dir, logs = traced(built, tmp_path)
        run = host_local_add(bin_dir, built, host_ns, container_ns, str(tmp_path / "ipam"), "10.93.12.").ok()
        assert run.json["ips"][0]["address"] == "10.93.12.2/24"  # ran cold
        [lines] = traced_calls(logs)
        assert len([line for line in lines if "cni-py-warm/" in line]) == 1, lines
        assert frozen_execs(lines), lines
        assert squatter.received() == 0  # the launcher hung up without sending anything


def test_a_stuck_listener_makes_the_launcher_run_cold_once(
    built, tmp_path, host_ns, container_ns, address_tool
):
    """A listener of our uid that never answers: the launcher gives up after ACCEPT_TIMEOUT and
    the call runs cold, exactly once; the frozen program does not ask again."""
    from launcher.warm import protocol
    from pkg.ns import NetNS

    with NetNS.open(host_ns.path) as ns, ns.entered():
        stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stuck.bind(b"\0" + launcher_address(address_tool).encode())
    with stuck:
        stuck.listen(8)
        start = time.monotonic()
        run = host_local_add(built, built, host_ns, container_ns, str(tmp_path / "ipam"), "10.93.13.").ok()
        assert time.monotonic() - start >= protocol.ACCEPT_TIMEOUT
        assert run.json["ips"][0]["address"] == "10.93.13.2/24"
        assert sorted(n for n in os.listdir(tmp_path / "ipam" / "fallback") if n[0].isdigit()) == [
            "10.93.13.2"
        ]
        stuck.setblocking(False)
        waiting = []
        with contextlib.suppress(BlockingIOError):
            while True:
                waiting.append(stuck.accept()[0])
        for conn in waiting:
            conn.close()
        assert len(waiting) == 1  # the launcher's connection only
    assert processes_in(host_ns.path) == []  # and no server started (the address was taken)


# -- in-process delegation: our own host-local runs inside bridge, anything else is exec'd ---------------


@pytest.mark.parametrize("delegate", ["ours", "wrapper"])
def test_bridge_runs_our_host_local_in_process(built, tmp_path, host_ns, container_ns, delegate):
    """bridge finds host-local in CNI_PATH: our own launcher of this build runs in-process (no
    exec of host-local at all); a wrapper script in front of it is executed like any plugin."""
    cni_path = built
    if delegate == "wrapper":
        cni_path = str(tmp_path / "wrapped")
        os.mkdir(cni_path)
        wrapper = os.path.join(cni_path, "host-local")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nexec {built}/host-local "$@"\n')
        os.chmod(wrapper, 0o755)
        cni_path += ":" + built
    conf = {
        "cniVersion": "1.0.0",
        "name": "inproc",
        "type": "bridge",
        "bridge": unique("bri"),
        "ipam": {"type": "host-local", "subnet": "10.93.10.0/24", "dataDir": str(tmp_path / "ipam")},
    }
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_CONTAINERID": "inproccid",
        "CNI_NETNS": container_ns.path,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": cni_path,
    }
    trace = tmp_path / "trace"
    for command in ("ADD", "DEL"):
        proc = subprocess.run(
            [
                "nsenter",
                f"--net={host_ns.path}",
                "--",
                "strace",
                "-f",
                "-qq",
                "-e",
                "trace=execve",
                "-o",
                str(trace),
                os.path.join(built, "bridge"),
            ],
            input=json.dumps(conf).encode(),
            env=dict(env, CNI_COMMAND=command),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        execs = [
            line for line in trace.read_text().splitlines() if "host-local" in line and "execve(" in line
        ]
        if delegate == "ours":
            assert execs == [], execs
        else:
            assert any(os.path.join(cni_path.split(":")[0], "host-local") in line for line in execs), execs
    assert container_ns.link("eth0") is None
