"""A cold plugin call loads no costly stdlib module it does not need (issue 14's budget).

Every plugin process of a real chain ADD, CHECK and DEL (bridge with host-local and ipMasq, tuning,
portmap, firewall, bandwidth; loopback alone) records the modules it loaded when it exits; none
may be one of COSTLY. Those cost 2 to 15 ms each on import, more than the plugin's own work
(docs/benchmark.md): JSON goes through json's C scanner, tools through os.posix_spawn, setns
through _ctypes, and so on. The programs run as the frozen build runs them: no `site`.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from launcher.programs import ENTRIES, TOOLS
from tests.deploy.chain import run_chain, write_conflist
from tests.harness import COSTLY_MODULES

pytestmark = pytest.mark.kernel
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

COSTLY = COSTLY_MODULES

# Runs one program like launcher/shims.py does, but without `site` (as frozen), and writes the
# names of the modules it loaded to <modules>/<program>.<verb>.<pid> on exit.
WRAPPER = """#!{python} -IS
import os, sys
sys.path.insert(0, {root!r})
_exit = os._exit


def _record_and_exit(code):
    name = "{{}}/{{}}.{{}}.{{}}".format({modules!r}, {name!r}, os.environ.get("CNI_COMMAND"), os.getpid())
    with open(name, "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
    _exit(code)


os._exit = _record_and_exit
from launcher.multicall import run
run({name!r})
"""


@pytest.fixture
def recording_bin(tmp_path):
    bin_dir, modules = tmp_path / "bin", tmp_path / "modules"
    bin_dir.mkdir()
    modules.mkdir()
    for name in ENTRIES:
        path = bin_dir / name
        path.write_text(WRAPPER.format(python=sys.executable, root=ROOT, name=name, modules=str(modules)))
        path.chmod(0o755)
    return str(bin_dir), modules


def _loaded(modules_dir) -> dict[str, set[str]]:
    return {p.name: set(p.read_text().split()) for p in modules_dir.iterdir()}


def _assert_lean(loaded: dict[str, set[str]], expected_programs: set[str]) -> None:
    seen = {name.split(".")[0] for name in loaded}
    assert expected_programs <= seen, f"not every plugin recorded its modules: {sorted(seen)}"
    heavy = {
        call: sorted(m for m in modules if m.split(".")[0] in COSTLY)
        for call, modules in loaded.items()
        if call.split(".")[0] not in TOOLS
    }
    offending = {call: mods for call, mods in heavy.items() if mods}
    assert not offending, "\n".join(f"{call}: {mods}" for call, mods in sorted(offending.items()))


def test_chain_calls_load_no_costly_module(recording_bin, host_ns, container_ns, tmp_path):
    bin_dir, modules = recording_bin
    name = f"lean{os.getpid() % 10000}"
    conf_dir = write_conflist(
        str(tmp_path / "net.d"), name, f"brl{os.getpid() % 10000}", "10.223.7.0/24", str(tmp_path / "ipam")
    )
    path = os.path.join(conf_dir, f"10-{name}.conflist")
    with open(path) as f:
        conf = json.load(f)
    conf["plugins"] += [
        {"type": "firewall", "backend": "iptables"},
        {"type": "bandwidth", "ingressRate": 8_000_000, "ingressBurst": 80_000},
    ]
    with open(path, "w") as f:
        json.dump(conf, f)
    run_chain(bin_dir, conf_dir, name, host_ns, container_ns, str(tmp_path / "cache"))
    _assert_lean(_loaded(modules), {"bridge", "tuning", "portmap", "firewall", "bandwidth"})


def test_loopback_calls_load_no_costly_module(recording_bin, runner, container_ns):
    bin_dir, modules = recording_bin
    runner.bin_dir = bin_dir
    conf = {"cniVersion": "1.0.0", "name": "lo-lean", "type": "loopback"}
    for verb in ("ADD", "DEL"):
        done = runner.run(
            "loopback", verb, conf, container_id="lean-lo", netns=container_ns.path, ifname="lo"
        )
        assert done.code == 0, done.stdout + done.stderr
    _assert_lean(_loaded(modules), {"loopback"})
