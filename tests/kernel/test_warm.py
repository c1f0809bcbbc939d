"""The warm pre-forking server (launcher.warm) against the real kernel, from source (CNI_PY_WARM=1).

Every test runs its plugins inside its own "host" netns, so each gets its own server (an
abstract socket lives in a netns); the server is stopped by the pid it reports and the test
proves no server process is left in that netns.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from launcher.warm import client, protocol
from launcher.warm.context import ROOT, address
from launcher.warm.server import refusal
from pkg.ns import NetNS
from tests.harness import Netns, PluginRunner, Squatter

pytestmark = pytest.mark.kernel

# CNI_PY_WARM_MAX: servers of other runs on this machine may hold the default slots
WARM = {"CNI_PY_WARM": "1", "CNI_PY_WARM_IDLE": "60", "CNI_PY_WARM_MAX": "64"}
COLD = {"CNI_PY_WARM": "0"}
SERVER_START_TIMEOUT = 90  # the machine may be busy; preloading is ~1 s when it is not


# -- helpers -------------------------------------------------------------------------------------


def status(ns: Netns, timeout: float = 10) -> dict | None:
    """The status of the server of this checkout's context in `ns`, or None when there is none."""
    with NetNS.open(ns.path) as handle, handle.entered():
        return client.request(protocol.KIND_STATUS, timeout=timeout)


def wait_for_server(ns: Netns, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = status(ns, timeout=timeout)
        if found:
            return found
        time.sleep(0.2)
    return None


def server_processes(ns: Netns) -> list[int]:
    """Pids of warm servers (and their workers) whose netns is `ns`."""
    inode = os.stat(ns.path).st_ino
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino != inode:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if b"--serve" in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    return True
        except OSError:
            return True
        time.sleep(0.1)
    return False


def stop_servers(ns: Netns) -> None:
    """Stop the server by the pid it reports (SIGKILL whatever is left), then prove none remains."""
    found = status(ns, timeout=5)
    if found:
        os.kill(found["pid"], signal.SIGTERM)
        wait_gone(found["pid"], 20)
    for pid in server_processes(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_gone(pid, 10)
    assert server_processes(ns) == []


@pytest.fixture
def warm_host():
    """A host netns for warm calls; its server is stopped (and proven gone) afterwards."""
    ns = Netns.create("cnwh-")
    try:
        yield ns
    finally:
        try:
            stop_servers(ns)
        finally:
            ns.delete()


@pytest.fixture
def warm_runner(cni_bin, warm_host) -> PluginRunner:
    return PluginRunner(cni_bin, warm_host)


def start_server(runner: PluginRunner, env: dict | None = None) -> dict:
    """A cold call (VERSION) starts the server; wait until it serves. Call again now and then: a
    server exits at once when a module of this checkout changes (others may be editing it)."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        runner.run("host-local", "VERSION", b"", env=env or WARM).ok()
        found = wait_for_server(runner.host, 15)
        if found:
            return found
    raise AssertionError(f"no warm server came up in {runner.host.name}")


def served(ns: Netns) -> int:
    """Connections the server took before this status request."""
    found = status(ns)
    assert found, "the warm server is gone"
    return found["served"]


def through_the_server(runner: PluginRunner, calls: int, action):
    """Run `action(attempt)`, which makes `calls` warm calls, and prove that one server served them
    all. A server restarts when a module file of this checkout changes (others may be editing the
    tree): then try again, at most three times."""
    for attempt in range(3):
        pid = start_server(runner)["pid"]
        before = served(runner.host)
        result = action(attempt)
        found = status(runner.host)
        # `before` was read by a status request, which the server counted too
        if found and found["pid"] == pid and found["served"] - before - 1 == calls:
            return result
    raise AssertionError(f"the calls did not all go through the warm server (last: {found})")


# -- warm and cold give the same results and kernel state -----------------------------------------


def chain_confs(data_dir: str) -> tuple[dict, dict, dict]:
    bridge = {
        "cniVersion": "1.0.0",
        "name": "warmnet",
        "type": "bridge",
        "bridge": "cnwbr0",
        "isGateway": True,
        "ipMasq": True,
        "ipam": {"type": "host-local", "subnet": "10.77.0.0/24", "dataDir": data_dir},
    }
    tuning = {
        "cniVersion": "1.0.0",
        "name": "warmnet",
        "type": "tuning",
        "mtu": 1400,
        "sysctl": {"net.ipv4.conf.eth0.arp_notify": "1"},
    }
    portmap = {
        "cniVersion": "1.0.0",
        "name": "warmnet",
        "type": "portmap",
        "capabilities": {"portMappings": True},
        "runtimeConfig": {"portMappings": [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]},
    }
    return bridge, tuning, portmap


def normalized(text: str) -> str:
    """Drop what differs between two equal attachments: random veth names, MACs, handles, counters."""
    text = re.sub(r"veth[0-9a-f]{8}", "vethX", text)
    text = re.sub(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", "MAC", text)
    text = re.sub(r"# handle \d+", "", text)
    return re.sub(r"packets \d+ bytes \d+", "", text)


def kernel_state(host: Netns, container: Netns) -> dict:
    def brief(ns: Netns) -> list:
        links = ns.json("ip", "-j", "-d", "link", "show")
        return sorted(
            (
                normalized(link["ifname"]),
                link.get("mtu"),
                link.get("master", ""),
                link.get("linkinfo", {}).get("info_kind", ""),
                sorted(a for a in ns.addrs(link["ifname"]) if not a.startswith("fe80:")),  # from MACs
            )
            for link in links
        )

    def routes(ns: Netns) -> list:
        return sorted(normalized(json.dumps(r, sort_keys=True)) for r in ns.routes())

    return {
        "host links": brief(host),
        "host routes": routes(host),
        "container links": brief(container),
        "container routes": routes(container),
        "arp_notify": container.run("cat", "/proc/sys/net/ipv4/conf/eth0/arp_notify", check=False),
        "host ruleset": normalized(host.run("nft", "list", "ruleset")),
    }


def run_chain(runner: PluginRunner, container: Netns, data_dir: str, env: dict) -> tuple[list, list]:
    """ADD, CHECK and DEL of bridge(+host-local), tuning and portmap; the replies and states seen."""
    bridge, tuning, portmap = chain_confs(data_dir)
    kw = {"container_id": "warmcid", "netns": container.path, "env": env}
    replies, states = [], []

    def call(plugin: str, command: str, conf: dict) -> dict | None:
        run = runner.run(plugin, command, conf, **kw)
        stdout = normalized(run.stdout).replace(container.path, "NETNS")
        replies.append((plugin, command, run.code, stdout, run.stderr))
        return run.json

    result = call("bridge", "ADD", bridge)
    result = call("tuning", "ADD", dict(tuning, prevResult=result))
    result = call("portmap", "ADD", dict(portmap, prevResult=result))
    assert [reply[2] for reply in replies] == [0, 0, 0], replies
    states.append(kernel_state(runner.host, container))
    for plugin, conf in (("bridge", bridge), ("tuning", tuning), ("portmap", portmap)):
        call(plugin, "CHECK", dict(conf, prevResult=result))
    # errors must match too: a config error (exit 1 with a CNI error on stdout)
    call("bridge", "ADD", dict(bridge, mtu="big"))
    for plugin, conf in (("portmap", portmap), ("tuning", tuning), ("bridge", bridge)):
        call(plugin, "DEL", dict(conf, prevResult=result))
    states.append(kernel_state(runner.host, container))
    call("host-local", "VERSION", {})
    return replies, states


def test_warm_calls_match_cold_calls(runner, warm_runner, netns_factory, tmp_path):
    cold = run_chain(runner, netns_factory(), str(tmp_path / "cold"), COLD)
    # every call goes through the server (bridge's host-local runs in-process in the worker)
    warm = through_the_server(
        warm_runner,
        len(cold[0]),
        lambda attempt: run_chain(warm_runner, netns_factory(), str(tmp_path / f"warm{attempt}"), WARM),
    )
    assert warm[0] == cold[0]
    assert warm[1] == cold[1]
    codes = [reply[2] for reply in cold[0]]
    assert codes.count(1) == 1 and codes.count(0) == len(codes) - 1  # only the bad config failed
    assert '"10.77.0.2/24"' in cold[0][0][3]
    assert "vethX" in json.dumps(cold[1][0]["host links"])  # the attachment was really there


def test_warm_call_takes_the_callers_cwd_umask_and_stdio(warm_runner, container_ns, tmp_path):
    """A relative dataDir resolves against the caller's cwd, files get the caller's umask, and the
    caller's own stdout / stderr receive the output."""
    conf = {
        "cniVersion": "1.0.0",
        "name": "cwdnet",
        "type": "host-local",
        "ipam": {"type": "host-local", "subnet": "10.78.0.0/24", "dataDir": "store"},
    }
    plugin = os.path.join(warm_runner.bin_dir, "host-local")
    environ = {
        "PATH": os.environ["PATH"],
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": "cwdcid",
        "CNI_NETNS": container_ns.path,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": warm_runner.bin_dir,
        **WARM,
    }

    def call(attempt: int):
        cwd = tmp_path / str(attempt)
        cwd.mkdir()
        (cwd / "conf.json").write_text(json.dumps(conf))
        script = f"cd {cwd} && umask 077 && {plugin} >out.json 2>err.txt <conf.json"
        subprocess.run(
            ["nsenter", f"--net={warm_runner.host.path}", "--", "sh", "-c", script], env=environ, check=True
        )
        return cwd

    cwd = through_the_server(warm_runner, 1, call)
    assert json.loads((cwd / "out.json").read_text())["ips"][0]["address"] == "10.78.0.2/24"
    assert (cwd / "err.txt").read_text() == ""
    stored = cwd / "store" / "cwdnet" / "10.78.0.2"
    assert stored.read_text().startswith("cwdcid")
    assert stored.stat().st_mode & 0o077 == 0  # the caller's umask 077, not the server's


# -- who may use a server ------------------------------------------------------------------------


def test_refusal_checks_the_peer_on_a_socketpair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        from launcher.warm.server import effective_capabilities

        caps = effective_capabilities("self")
        assert refusal(a, os.geteuid(), caps) is None
        assert "uid 0 is not the server's uid 65534" in refusal(a, 65534, caps)


def _connect_script(addr: bytes) -> str:
    return (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX,socket.SOCK_STREAM); s.settimeout(20)\n"
        f"s.connect({addr!r}); data=s.recv(64)\n"
        "sys.stdout.write('hello' if data else 'closed')\n"
    )


@pytest.mark.parametrize(
    "who",
    [
        pytest.param(["--reuid=65534", "--regid=65534", "--clear-groups"], id="uid-nobody"),
        pytest.param(["--bounding-set=-net_admin", "--inh-caps=-all"], id="root-without-net_admin"),
    ],
)
def test_server_refuses_other_uids_and_weaker_processes(warm_runner, who):
    start_server(warm_runner)
    addr = address()
    out = warm_runner.host.run("setpriv", *who, "/usr/bin/python3", "-I", "-c", _connect_script(addr))
    assert out == "closed"  # no HELLO: the connection was closed unserved
    assert status(warm_runner.host)["refused"] == 1
    # and the same connection as ourselves is greeted
    assert warm_runner.host.run("/usr/bin/python3", "-I", "-c", _connect_script(addr)) == "hello"


def test_a_client_in_another_netns_does_not_reach_the_server(warm_runner, container_ns):
    start_server(warm_runner)
    with NetNS.open(container_ns.path) as ns, ns.entered():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with sock, pytest.raises(ConnectionRefusedError):
            sock.connect(address())
    assert server_processes(container_ns) == []


def test_a_stuck_server_makes_the_client_run_cold_once(warm_runner, container_ns, tmp_path):
    """A listener that never answers: the client gives up after ACCEPT_TIMEOUT, runs cold exactly
    once, and starts no server (the address is taken)."""
    with NetNS.open(warm_runner.host.path) as ns, ns.entered():
        stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stuck.bind(address())
    with stuck:
        stuck.listen(8)
        conf = {
            "cniVersion": "1.0.0",
            "name": "stucknet",
            "type": "host-local",
            "ipam": {"type": "host-local", "subnet": "10.79.0.0/24", "dataDir": str(tmp_path)},
        }
        start = time.monotonic()
        run = warm_runner.run(
            "host-local", "ADD", conf, container_id="stuck", netns=container_ns.path, env=WARM
        ).ok()
        assert time.monotonic() - start >= protocol.ACCEPT_TIMEOUT
        assert run.json["ips"][0]["address"] == "10.79.0.2/24"
        assert sorted(p.name for p in (tmp_path / "stucknet").iterdir() if p.name[0].isdigit()) == [
            "10.79.0.2"
        ]
        assert server_processes(warm_runner.host) == []


def test_a_server_of_another_uid_gets_nothing(warm_runner, container_ns, tmp_path):
    """Abstract names have no permissions: another user may squat on ours. The client checks who
    listens and runs cold instead of handing over its stdio, environment and config."""
    with Squatter(warm_runner.host, address()) as squatter:
        conf = {
            "cniVersion": "1.0.0",
            "name": "squatnet",
            "type": "host-local",
            "ipam": {"type": "host-local", "subnet": "10.81.0.0/24", "dataDir": str(tmp_path)},
        }
        run = warm_runner.run(
            "host-local", "ADD", conf, container_id="squat", netns=container_ns.path, env=WARM
        ).ok()
        assert run.json["ips"][0]["address"] == "10.81.0.2/24"  # ran cold
        assert squatter.received() == 0  # the client hung up without sending anything


def test_servers_per_uid_are_capped(tmp_path, monkeypatch):
    """A server holds a slot (an flock'd file); when CNI_PY_WARM_MAX slots are held, none starts."""
    directory = tmp_path / "slots"
    monkeypatch.setattr(client, "_slot_dir", lambda: str(directory))
    monkeypatch.setenv("CNI_PY_WARM_MAX", "2")
    first, second = client._take_slot(), client._take_slot()
    assert first is not None and second is not None
    assert client._take_slot() is None
    os.close(first)  # that server exited
    third = client._take_slot()
    assert third is not None
    os.close(second)
    os.close(third)
    directory.chmod(0o755)  # a directory others could write to is not trusted
    assert client._take_slot() is None


# -- life cycle ----------------------------------------------------------------------------------


def test_server_exits_when_idle(cni_bin, warm_host):
    runner = PluginRunner(cni_bin, warm_host)
    env = dict(WARM, CNI_PY_WARM_IDLE="2")
    pid = start_server(runner, env)["pid"]
    runner.run("host-local", "VERSION", b"", env=env).ok()
    assert wait_gone(pid, 30), "the server did not exit after 2 s idle"
    assert server_processes(warm_host) == []


def test_server_exits_when_its_program_changes(warm_runner):
    pid = start_server(warm_runner)["pid"]
    watched = os.path.join(ROOT, "launcher", "warm", "__init__.py")
    before = os.stat(watched)
    try:
        os.utime(watched, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        assert wait_gone(pid, 30), "the server did not notice the change"
    finally:
        os.utime(watched, ns=(before.st_atime_ns, before.st_mtime_ns))
    # the next call runs cold and starts a fresh server
    assert start_server(warm_runner)["pid"] != pid


def test_two_servers_never_share_a_context(warm_runner):
    """A second server for the same context exits at once (the address is taken)."""
    pid = start_server(warm_runner)["pid"]
    code = (
        f"import sys; sys.path.insert(0, {ROOT!r}); sys.argv[1:] = ['--serve']; "
        "from launcher.multicall import main; main()"
    )
    proc = subprocess.run(
        ["nsenter", f"--net={warm_runner.host.path}", "--", sys.executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    assert "already serves" in proc.stderr
    assert status(warm_runner.host)["pid"] == pid


def test_concurrent_host_local_adds_through_the_server(warm_runner, container_ns, tmp_path):
    def adds(attempt: int) -> list[str]:
        conf = {
            "cniVersion": "1.0.0",
            "name": "concnet",
            "type": "host-local",
            "ipam": {"type": "host-local", "subnet": "10.80.0.0/24", "dataDir": str(tmp_path / str(attempt))},
        }

        def add(n: int) -> str:
            run = warm_runner.run(
                "host-local", "ADD", conf, container_id=f"conc{n}", netns=container_ns.path, env=WARM
            ).ok()
            return run.json["ips"][0]["address"]

        with ThreadPoolExecutor(max_workers=20) as pool:
            return list(pool.map(add, range(20)))

    addresses = through_the_server(warm_runner, 20, adds)
    assert len(set(addresses)) == 20


# -- opt-in: by default nothing outlives a call ----------------------------------------------------


def processes_in(ns: Netns) -> list[tuple[int, bytes]]:
    """(pid, cmdline) of every process whose netns is `ns`."""
    inode = os.stat(ns.path).st_ino
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    found.append((int(entry), f.read()))
        except OSError:
            continue
    return found


def test_by_default_a_call_leaves_no_process(cni_bin, host_ns, container_ns, tmp_path):
    """No CNI_PY_WARM in the caller's environment: the chain's ADD, CHECK, DEL and VERSION run as
    plain processes, and when each returns, nothing of ours runs in the netns it ran in."""
    env = {k: v for k, v in os.environ.items() if k != "CNI_PY_WARM"}
    bridge, tuning, portmap = chain_confs(str(tmp_path / "ipam"))
    base = dict(env, CNI_CONTAINERID="nodaemon", CNI_NETNS=container_ns.path, CNI_IFNAME="eth0")
    base["CNI_PATH"] = cni_bin

    def call(plugin: str, command: str, conf: dict) -> dict | None:
        proc = subprocess.run(
            ["nsenter", f"--net={host_ns.path}", "--", os.path.join(cni_bin, plugin)],
            input=json.dumps(conf).encode(),
            env=dict(base, CNI_COMMAND=command),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert processes_in(host_ns) == [], f"{plugin} {command} left a process behind"
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    result = call("bridge", "ADD", bridge)
    result = call("tuning", "ADD", dict(tuning, prevResult=result))
    result = call("portmap", "ADD", dict(portmap, prevResult=result))
    for plugin, conf in (("bridge", bridge), ("tuning", tuning), ("portmap", portmap)):
        call(plugin, "CHECK", dict(conf, prevResult=result))
    for plugin, conf in (("portmap", portmap), ("tuning", tuning), ("bridge", bridge)):
        call(plugin, "DEL", dict(conf, prevResult=result))
    for plugin in ("bridge", "host-local", "tuning", "portmap"):
        call(plugin, "VERSION", {"cniVersion": "1.0.0"})
    assert status(host_ns) is None
    assert container_ns.link("eth0") is None


# -- a killed client: its call ends as a killed cold process would ---------------------------------


def readers_of(pipe_inode: int) -> list[int]:
    """Pids whose stdin is this pipe."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/fd/0") == f"pipe:[{pipe_inode}]":
                    found.append(int(entry))
            except OSError:
                continue
    return found


def start_client(runner: PluginRunner, plugin: str, command: str, container: Netns, extra_path: str = ""):
    env = dict(os.environ, **WARM)
    env.update(
        CNI_COMMAND=command,
        CNI_CONTAINERID="killedclient",
        CNI_NETNS=container.path,
        CNI_IFNAME="eth0",
        CNI_PATH=":".join(filter(None, [runner.bin_dir, extra_path])),
    )
    return subprocess.Popen(
        ["nsenter", f"--net={runner.host.path}", "--", os.path.join(runner.bin_dir, plugin)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def allocations(data_dir: str) -> list[str]:
    found = []
    for _dirpath, _dirs, files in os.walk(data_dir):
        found += [name for name in files if name[0].isdigit()]
    return found


def test_a_killed_client_aborts_its_add_in_the_worker(warm_runner, container_ns, tmp_path):
    """The worker has the ADD and waits for the config on the caller's stdin; the client is
    SIGKILLed (a runtime's timeout). The worker must be gone at once: when the config then arrives
    nobody reads it, and no link, address or allocation ever appears."""
    start_server(warm_runner)
    bridge, _tuning, _portmap = chain_confs(str(tmp_path / "ipam"))
    client_proc = start_client(warm_runner, "bridge", "ADD", container_ns)
    pipe = os.fstat(client_proc.stdin.fileno()).st_ino
    try:
        deadline = time.monotonic() + 30
        workers: list[int] = []
        while time.monotonic() < deadline and not workers:
            workers = [pid for pid in readers_of(pipe) if pid != client_proc.pid]
            time.sleep(0.02)
        assert workers, "no worker took the call"
        client_proc.kill()
        client_proc.wait(10)
        assert wait_gone(workers[0], 5), "the worker outlived its client"
        assert readers_of(pipe) == []
        try:
            client_proc.stdin.write(json.dumps(bridge).encode())
            client_proc.stdin.close()
        except BrokenPipeError:
            pass  # no reader left at all: what we expect
        time.sleep(1)
        assert container_ns.link("eth0") is None
        assert warm_runner.host.link("cnwbr0") is None
        assert allocations(str(tmp_path / "ipam")) == []
        assert status(warm_runner.host), "the server itself must survive"
    finally:
        client_proc.kill()
        client_proc.wait()
        for stream in (client_proc.stdin, client_proc.stdout, client_proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()


def test_a_killed_client_kills_its_delegated_ipam_too(warm_runner, container_ns, tmp_path):
    """Killed while bridge waits for a slow delegated IPAM plugin: the IPAM process dies with the
    worker (its process group), so no allocation or address appears afterwards, and the runtime's
    DEL then finds a consistent state."""
    marks = tmp_path / "marks"
    marks.mkdir()
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "slow-ipam").write_text(
        "#!/bin/sh\n"
        f"touch {marks}/started\n"
        "sleep 2\n"
        f"touch {marks}/finished\n"
        f"exec {warm_runner.bin_dir}/host-local\n"
    )
    (slow / "slow-ipam").chmod(0o755)
    start_server(warm_runner)
    before = served(warm_runner.host)
    bridge, _tuning, _portmap = chain_confs(str(tmp_path / "ipam"))
    bridge["ipam"]["type"] = "slow-ipam"
    client_proc = start_client(warm_runner, "bridge", "ADD", container_ns, extra_path=str(slow))
    try:
        client_proc.stdin.write(json.dumps(bridge).encode())
        client_proc.stdin.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (marks / "started").exists():
            time.sleep(0.02)
        assert (marks / "started").exists(), client_proc.communicate(timeout=30)
        client_proc.kill()
        client_proc.wait(10)
        time.sleep(3)  # past the IPAM's sleep: it would have finished by now
        assert not (marks / "finished").exists(), "the delegated IPAM outlived the killed call"
        assert served(warm_runner.host) - before == 2, "the ADD did not go through the server"
        assert allocations(str(tmp_path / "ipam")) == []
        assert not [a for a in container_ns.addrs("eth0") if a.startswith("10.77.")]
        runner = PluginRunner(warm_runner.bin_dir, warm_runner.host, extra_path=[str(slow)])
        runner.run(
            "bridge", "DEL", bridge, container_id="killedclient", netns=container_ns.path, env=WARM
        ).ok()
        assert container_ns.link("eth0") is None
    finally:
        client_proc.kill()
        client_proc.wait()
        for stream in (client_proc.stdout, client_proc.stderr):
            stream.close()
