"""Security probes: every input that builds a path, tried with traversal, absolute paths, planted
symlinks and over-long values, through real plugin processes; plus the modes of the files the
plugins create. Each probe states what must hold; a probe that does not hold is a finding.

Victim files live under /var/lib/cni/victims (tmpfs in tests/isolated): a plugin that follows a
planted symlink changes or creates one of them, which the probe sees.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import sandbox, state
from .chain import Chain, conflist
from .findings import Findings

VICTIMS = "/var/lib/cni/victims"
SECRET = b"do not touch\n"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def error(self) -> dict:
        try:
            value = json.loads(self.stdout)
            return value if isinstance(value, dict) else {}
        except ValueError:
            return {}

    def summary(self) -> str:
        if self.timed_out:
            return "TIMED OUT"
        if self.code == 0:
            return "ok"
        err = self.error
        return f"code {err.get('code')}: {str(err.get('msg', self.stdout or self.stderr))[:90]}"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


class Prober:
    def __init__(self, findings: Findings) -> None:
        self.findings = findings
        self.launchers = sandbox.write_launchers(state.SANDBOX + "/bin")
        self.rows: list[dict[str, str]] = []
        self.ns_name = sandbox.unique("secc-")
        self.ns = sandbox.add_netns(self.ns_name)
        sandbox.sh("ip", "-n", self.ns_name, "link", "add", "eth0", "type", "veth", "peer", "name", "p0")

    def close(self) -> None:
        sandbox.del_netns(self.ns_name)

    def ensure_eth0(self) -> None:
        """tuning's target; a bridge DEL of the same name would remove it."""
        links = state.read_links(self.ns_name)
        if "eth0" not in links:
            sandbox.sh("ip", "-n", self.ns_name, "link", "add", "eth0", "type", "veth", "peer", "name", "p0")
        sandbox.sh("ip", "-n", self.ns_name, "link", "set", "eth0", "mtu", "1500", check=False)

    def run(
        self,
        plugin: str,
        command: str,
        conf: dict | bytes,
        *,
        container_id: str = "sec-1",
        netns: str | None = None,
        ifname: str = "eth0",
        env: dict[str, str] | None = None,
        timeout: float = 20,
    ) -> Run:
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": container_id,
            "CNI_NETNS": self.ns if netns is None else netns,
            "CNI_IFNAME": ifname,
            "CNI_PATH": self.launchers,
            **(env or {}),
        }
        stdin = conf if isinstance(conf, bytes) else json.dumps(conf).encode()
        try:
            proc = subprocess.run(
                [os.path.join(self.launchers, plugin)],
                cwd=state.SANDBOX,  # relative paths in probes land on tmpfs, never in the checkout
                input=stdin,
                capture_output=True,
                env=environ,
                timeout=timeout,
                check=False,
                preexec_fn=_limit_memory,
            )
        except subprocess.TimeoutExpired:
            return Run(-1, "", "", timed_out=True)
        return Run(
            proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
        )

    def record(self, group: str, probe: str, want: str, run: Run | None, holds: bool, note: str = "") -> None:
        observed = (run.summary() if run is not None else "") + (f"; {note}" if note else "")
        self.rows.append(
            {
                "group": group,
                "probe": probe,
                "want": want,
                "observed": observed,
                "verdict": "holds" if holds else "FINDING",
            }
        )
        if run is not None and "Traceback" in run.stderr:
            self.findings.add("security", "crash", f"{group}: {probe}: traceback", run.stderr[-1500:])
        if not holds:
            self.findings.add(
                "security", "violation", f"{group}: {probe}", f"want: {want}; observed: {observed}"
            )


def _bridge_conf(name: str = "sec", data_dir: str = "/var/lib/cni/networks", **ipam: Any) -> dict:
    return {
        "cniVersion": "1.0.0",
        "name": name,
        "type": "bridge",
        "bridge": "secbr0",
        "isGateway": True,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.75.0.0/24"}]], "dataDir": data_dir, **ipam},
    }


def _hl_conf(name: str = "sec-hl", data_dir: str = "/var/lib/cni/sec", **extra: Any) -> dict:
    return {
        "cniVersion": "1.0.0",
        "name": name,
        "type": "host-local",
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": "10.75.1.0/24"}]],
            "dataDir": data_dir,
            **extra,
        },
    }


def _tuning_conf(data_dir: str = "/run/cni/sec-tuning", **extra: Any) -> dict:
    prev = {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "eth0", "sandbox": "x"}],
        "ips": [{"address": "10.75.2.2/24", "interface": 0}],
    }
    return {
        "cniVersion": "1.0.0",
        "name": "sec-tu",
        "type": "tuning",
        "dataDir": data_dir,
        "prevResult": prev,
        **extra,
    }


def _victim(name: str, content: bytes | None = SECRET) -> str:
    os.makedirs(VICTIMS, exist_ok=True)
    path = os.path.join(VICTIMS, name)
    if content is not None:
        with open(path, "wb") as f:
            f.write(content)
    elif os.path.lexists(path):
        os.unlink(path)
    return path


def _intact(path: str, content: bytes | None = SECRET) -> bool:
    if content is None:
        return not os.path.lexists(path)
    try:
        with open(path, "rb") as f:
            return f.read() == content
    except OSError:
        return False


def _outside_roots_created(before: set[str]) -> list[str]:
    return sorted(set(_listing()) - before)


def _listing() -> list[str]:
    out = []
    for root in ("/var/lib/cni", "/run/cni"):
        for dirpath, dirnames, filenames in os.walk(root):
            out += [os.path.join(dirpath, n) for n in dirnames + filenames]
    return out


# ---------------------------------------------------------------- the probes


def names_and_ids(p: Prober) -> None:
    """Network names, container IDs and interface names that could build paths."""
    group = "names"
    for bad in ["../../etc", "/abs", "a/b", "..", ".", "a\nb", "net\n", "x" * 300 + "/y"]:
        for plugin, conf in (
            ("host-local", _hl_conf(name=bad)),
            ("bridge", _bridge_conf(name=bad)),
            ("tuning", {**_tuning_conf(), "name": bad}),
        ):
            run = p.run(plugin, "ADD", conf)
            p.record(
                group,
                f"{plugin} network name {bad[:20]!r}",
                "refused",
                run,
                run.code != 0 and bool(run.error),
            )
    for bad in ["../x", "/etc/passwd", "a/b", "..", "x\n", " x"]:
        for plugin, conf in (("host-local", _hl_conf()), ("tuning", _tuning_conf(mtu=1400))):
            run = p.run(plugin, "ADD", conf, container_id=bad)
            p.record(
                group, f"{plugin} container ID {bad!r}", "refused", run, run.code != 0 and bool(run.error)
            )
    for bad in ["../x", "..", ".", "a/b", "x" * 16, "eth0\n", "a:b"]:
        for plugin, conf in (
            ("host-local", _hl_conf()),
            ("tuning", _tuning_conf(mtu=1400)),
            ("bridge", _bridge_conf()),
        ):
            run = p.run(plugin, "ADD", conf, ifname=bad)
            p.record(group, f"{plugin} ifname {bad!r}", "refused", run, run.code != 0 and bool(run.error))


def over_long(p: Prober) -> None:
    """Valid characters, absurd lengths: refused or handled, never a traceback, nothing left."""
    group = "over-long"
    before = set(_listing())
    long_name = "n" * 300
    for plugin, conf in (("host-local", _hl_conf(name=long_name)), ("bridge", _bridge_conf(name=long_name))):
        run = p.run(plugin, "ADD", conf)
        p.run(plugin, "DEL", conf)
        created = [c for c in _outside_roots_created(before) if long_name in c]
        p.record(
            group,
            f"{plugin} network name of 300 chars",
            "error or success, nothing left after DEL",
            run,
            (run.code == 0 or bool(run.error)) and not created,
            f"left: {created[:2]}" if created else "",
        )
    for length in (300, 100_000):
        cid = "c" * length
        for plugin, conf in (("host-local", _hl_conf()), ("tuning", _tuning_conf(mtu=1400))):
            run = p.run(plugin, "ADD", conf, container_id=cid)
            deleted = p.run(plugin, "DEL", conf, container_id=cid)
            created = [
                c
                for c in _outside_roots_created(before)
                if "ccccc" in c or c.rsplit("/", 1)[-1][:1].isdigit()
            ]
            ok = (run.code == 0 or bool(run.error)) and deleted.code == 0 and not created
            p.record(
                group,
                f"{plugin} container ID of {length} chars",
                "error or success; DEL ok; nothing left",
                run,
                ok,
                f"DEL {deleted.summary()}" + (f"; left {created[:2]}" if created else ""),
            )
    sandbox.sh("ip", "-n", p.ns_name, "link", "set", "eth0", "mtu", "1500", check=False)


def data_dirs(p: Prober) -> None:
    group = "dataDir"
    run = p.run("host-local", "ADD", _hl_conf(data_dir="/var/lib/cni/sec/../../../../run/cni/escaped"))
    p.record(group, "host-local dataDir with '..'", "refused", run, run.code != 0 and bool(run.error))
    run = p.run("host-local", "ADD", _hl_conf(data_dir="relative/dir"))
    p.run("host-local", "DEL", _hl_conf(data_dir="relative/dir"))
    p.record(
        group,
        "host-local relative dataDir",
        "error or success, no traceback",
        run,
        run.code == 0 or bool(run.error),
        "",
    )
    target = "/run/cni/sec-tuning/../escaped-tuning"
    run = p.run("tuning", "ADD", _tuning_conf(data_dir=target, mtu=1400))
    landed = os.path.isdir("/run/cni/escaped-tuning")
    p.run("tuning", "DEL", _tuning_conf(data_dir=target, mtu=1400))
    p.record(
        group,
        "tuning dataDir with '..'",
        "refused, or written where the path resolves (as Go)",
        run,
        run.code == 0 or bool(run.error),
        f"backup dir at resolved path: {landed}",
    )
    shutil.rmtree("/run/cni/escaped-tuning", ignore_errors=True)
    sandbox.sh("ip", "-n", p.ns_name, "link", "set", "eth0", "mtu", "1500", check=False)


def planted_symlinks(p: Prober) -> None:
    """Symlinks planted where the plugins write: never followed, victims untouched."""
    group = "planted symlinks"
    data_dir = "/var/lib/cni/sec-links"
    net = "sec-hl"
    store = os.path.join(data_dir, net)

    def fresh() -> None:
        shutil.rmtree(data_dir, ignore_errors=True)
        os.makedirs(store)

    cases: list[tuple[str, Callable[[], str], bytes | None]] = []

    def plant(name: str, content: bytes | None) -> Callable[[], str]:
        def make() -> str:
            victim = _victim(f"{name}.victim", content)
            os.symlink(victim, os.path.join(store, name))
            return victim

        return make

    cases.append(
        ("host-local last_reserved_ip.0 -> existing file", plant("last_reserved_ip.0", SECRET), SECRET)
    )
    cases.append(("host-local lock -> missing file", plant("lock", None), None))
    cases.append(("host-local lock -> existing file", plant("lock", SECRET), SECRET))
    cases.append(
        ("host-local next address file 10.75.1.2 -> existing file", plant("10.75.1.2", SECRET), SECRET)
    )

    def plant_index() -> str:
        victim = _victim("index.victim", None)
        os.makedirs(os.path.join(data_dir, ".host-local-index"), exist_ok=True)
        os.symlink(victim, os.path.join(data_dir, ".host-local-index", f"{net}.db"))
        return victim

    cases.append(("host-local index <dataDir>/.host-local-index/<net>.db -> missing file", plant_index, None))
    for probe, make, content in cases:
        fresh()
        victim = make()
        run = p.run("host-local", "ADD", _hl_conf(name=net, data_dir=data_dir))
        deleted = p.run("host-local", "DEL", _hl_conf(name=net, data_dir=data_dir))
        holds = _intact(victim, content) and (run.code == 0 or bool(run.error))
        p.record(
            group,
            probe,
            "victim untouched (not created, not written)",
            run,
            holds,
            f"DEL {deleted.summary()}; victim {'intact' if _intact(victim, content) else 'CHANGED'}",
        )

    # tuning: a backup path planted as a symlink to a victim (ADD must not write through it)
    p.ensure_eth0()
    tdir = "/run/cni/sec-links-tuning"
    shutil.rmtree(tdir, ignore_errors=True)
    os.makedirs(tdir)
    victim = _victim("tuning-backup.victim", SECRET)
    os.symlink(victim, os.path.join(tdir, "sec-1_eth0.json"))
    run = p.run("tuning", "ADD", _tuning_conf(data_dir=tdir, mtu=1400))
    mode = _mode(os.path.join(tdir, "sec-1_eth0.json"))
    p.run("tuning", "DEL", _tuning_conf(data_dir=tdir, mtu=1400))
    p.record(
        group,
        "tuning backup <dataDir>/<id>_<ifname>.json -> existing file",
        "victim untouched",
        run,
        _intact(victim),
        f"backup mode {mode}",
    )
    # tuning: a planted backup (symlink to crafted settings) must not be applied by DEL
    crafted = _victim("crafted.json", b'{"mtu": 1234}')
    os.symlink(crafted, os.path.join(tdir, "sec-2_eth0.json"))
    run = p.run("tuning", "DEL", _tuning_conf(data_dir=tdir, mtu=1400), container_id="sec-2")
    mtu = json.loads(sandbox.sh("ip", "-n", p.ns_name, "-j", "link", "show", "eth0"))[0]["mtu"]
    p.record(
        group,
        "tuning DEL with a backup symlinked to crafted settings",
        "not applied (mtu stays)",
        run,
        mtu != 1234,
        f"mtu {mtu}",
    )
    sandbox.sh("ip", "-n", p.ns_name, "link", "set", "eth0", "mtu", "1500", check=False)
    shutil.rmtree(tdir, ignore_errors=True)

    # libcni: the result cache file planted as a symlink
    cache = "/var/lib/cni/sec-cache"
    os.makedirs(os.path.join(cache, "results"), exist_ok=True)
    victim = _victim("cache.victim", SECRET)
    hl_list = {
        "cniVersion": "1.0.0",
        "name": "sec-cni",
        "plugins": [
            {
                "type": "host-local",
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": "10.75.3.0/24"}]],
                    "dataDir": "/var/lib/cni/sec",
                },
            }
        ],
    }
    os.symlink(victim, os.path.join(cache, "results", "sec-cni-sec-3-eth0"))
    chain = Chain(p.launchers, hl_list, cache_dir=cache)
    rt = chain.runtime("sec-3", p.ns)
    note = ""
    try:
        chain.add(rt)
        chain.delete(rt)
    except Exception as err:  # noqa: BLE001
        note = f"libcni: {err}"
    p.record(
        group,
        "libcni cache results/<net>-<id>-<ifname> -> existing file",
        "victim untouched",
        None,
        _intact(victim),
        note or "ADD + DEL ok",
    )
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(data_dir, ignore_errors=True)


def sysctl_names(p: Prober) -> None:
    group = "sysctl names"
    with open("/proc/sys/kernel/hostname") as f:
        hostname = f.read()
    for key in [
        "../../../etc/passwd",
        "/etc/passwd",
        "net/../kernel/hostname",
        "kernel.hostname",
        "net.ipv4.conf.IFNAME/../../../../kernel/hostname",
        "net/ipv4/../../kernel/hostname",
        "net.ipv4.conf.eth0.rp_filter\u0000x",
    ]:
        run = p.run("tuning", "ADD", _tuning_conf(sysctl={key: "pwned"}))
        with open("/proc/sys/kernel/hostname") as f:
            same = f.read() == hostname
        p.record(group, f"tuning sysctl {key!r}", "refused, nothing written", run, run.code != 0 and same)
    run = p.run("tuning", "ADD", _tuning_conf(sysctl={"net.ipv4.conf.IFNAME.rp_filter": "1"}), ifname="..")
    p.record(group, "tuning IFNAME substituted with '..'", "refused", run, run.code != 0)


def netns_paths(p: Prober) -> None:
    group = "netns paths"
    fifo = os.path.join(state.SANDBOX, "fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    link = os.path.join(state.SANDBOX, "netns-link")
    if not os.path.lexists(link):
        os.symlink(p.ns, link)
    for path, want_ok in [
        ("/nonexistent/ns", False),
        ("/run/cni", False),
        (fifo, False),
        ("/dev/zero", False),
        ("relative-ns", False),
        ("/proc/self/ns/net", False),
        (link, True),
        ("/run/netns/../netns/" + p.ns_name, True),
    ]:
        for plugin, conf in (("bridge", _bridge_conf()), ("tuning", _tuning_conf(mtu=1400))):
            ifname = "eth1" if plugin == "bridge" else "eth0"
            p.ensure_eth0()
            run = p.run(plugin, "ADD", conf, netns=path, container_id="sec-ns", ifname=ifname)
            p.run(plugin, "DEL", conf, netns=path, container_id="sec-ns", ifname=ifname)
            holds = not run.timed_out and ((run.code == 0) == want_ok or (want_ok and plugin == "tuning"))
            want = "works (it is a netns)" if want_ok else "refused, no hang"
            p.record(group, f"{plugin} CNI_NETNS={path}", want, run, holds)
    sandbox.sh("ip", "-n", p.ns_name, "link", "set", "eth0", "mtu", "1500", check=False)


def resolv_conf(p: Prober) -> None:
    group = "resolvConf"
    fifo = os.path.join(state.SANDBOX, "fifo")
    for path in ["/dev/zero", fifo, "/run/cni", "/nonexistent"]:
        run = p.run("host-local", "ADD", _hl_conf(name="sec-rc", resolvConf=path), timeout=15)
        p.run("host-local", "DEL", _hl_conf(name="sec-rc", resolvConf=path))
        p.record(
            group,
            f"host-local resolvConf={path}",
            "error or success, no hang, bounded memory",
            run,
            not run.timed_out and (run.code == 0 or bool(run.error)),
        )


def _mode(path: str) -> str:
    try:
        return oct(stat.S_IMODE(os.lstat(path).st_mode))
    except OSError:
        return "absent"


def file_modes(p: Prober) -> dict[str, str]:
    """Modes of everything a full chain ADD creates: nothing group/world-writable."""
    chain = Chain(
        p.launchers,
        conflist(
            "sec-modes",
            "secbr1",
            "10.75.4.0/24",
            tuning_dir="/run/cni/sec-modes-tuning",
            data_dir="/var/lib/cni/sec-modes",
        ),
        cache_dir="/var/lib/cni/sec-modes-cache",
    )
    ns_name = sandbox.unique("secm-")
    rt = chain.runtime("sec-modes", sandbox.add_netns(ns_name), port=32000)
    rt.capability_args["mac"] = "0a:58:0a:4b:04:09"
    modes: dict[str, str] = {}
    try:
        chain.add(rt)
        for root in ("/var/lib/cni/sec-modes", "/run/cni/sec-modes-tuning", "/var/lib/cni/sec-modes-cache"):
            for dirpath, _dirnames, filenames in os.walk(root):
                for name in [dirpath, *[os.path.join(dirpath, n) for n in filenames]]:
                    modes[name] = _mode(name)
        chain.delete(rt)
    finally:
        sandbox.del_netns(ns_name)
    for path, mode in modes.items():
        writable = int(mode, 8) & 0o022 if mode != "absent" else 0
        p.record("file modes", path, "not group/world-writable", None, not writable, mode)
    return modes


def run_security(size, findings: Findings) -> dict:  # noqa: ANN001
    sandbox.require_isolated()
    sandbox.make_dirs()
    p = Prober(findings)
    try:
        for probe in (
            names_and_ids,
            over_long,
            data_dirs,
            planted_symlinks,
            sysctl_names,
            netns_paths,
            resolv_conf,
        ):
            probe(p)
        modes = file_modes(p)
    finally:
        p.close()
        shutil.rmtree(VICTIMS, ignore_errors=True)
    bad = [r for r in p.rows if r["verdict"] != "holds"]
    print(f"  security: {len(p.rows)} probes, {len(bad)} findings", flush=True)
    return {"probes": len(p.rows), "findings": len(bad), "rows": p.rows, "modes": modes}
