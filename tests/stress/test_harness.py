"""The stress harness itself: its change classification, its generators, and a tiny run of the
kernel parts inside tests/isolated (the full sizes run with `make stress`)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from stress import gen, state
from stress.sandbox import contain_config, safe_netns, safe_write_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_diff_sorts_residue_from_bookkeeping():
    before = state.Snapshot(host_links={"lo": ("", "")})
    after = state.Snapshot(
        host_links={"lo": ("", ""), "cni0": ("bridge", ""), "veth01234567": ("veth", "cni0")},
        host_addrs={("cni0", "10.70.0.1/24")},
        files={
            "/var/lib/cni/networks/n/lock": ("file", 0o750),
            "/var/lib/cni/networks/n/10.70.0.2": ("file", 0o600),
            "/run/cni/tuning/c_eth0.json": ("file", 0o600),
        },
        ruleset={
            "ip cni_hostport": [
                'chain {"name": "hostports"}',
                'rule {"chain": "hostports", "comment": "ctr", "expr": []}',
            ]
        },
    )
    changes = state.diff(before, after)
    residue = {c.category for c in state.residue(changes)}
    tolerated = {c.category for c in changes if c.tolerated}
    assert residue == {"link", "file", "backup", "rule"}
    assert tolerated == {"bridge", "bookkeeping", "firewall-skeleton"}


def test_container_specific_rules():
    assert state.container_specific('rule {"chain": "x", "comment": "abc", "expr": []}')
    assert state.container_specific('rule {"chain": "CNI-DN-0123456789abcdef01234567", "expr": []}')
    assert state.container_specific('rule {"chain": "masq", "expr": [{"match": {"right": "10.72.0.5"}}]}')
    assert not state.container_specific(
        'rule {"chain": "hostports_all", "expr": [{"jump": {"target": "x"}}]}'
    )
    assert not state.container_specific('chain {"name": "masq_checks", "comment": "shared"}')


def test_random_draw_is_reproducible_and_hostile():
    def sample(seed: int) -> list[bytes]:
        d = gen.RandomDraw(random.Random(seed))
        base = {"cniVersion": "1.0.0", "name": "n", "ipam": {"ranges": [[{"subnet": "10.0.0.0/24"}]]}}
        return [gen.encode(d, gen.mutate(d, base)) for _ in range(200)]

    first, again = sample(7), sample(7)
    assert first == again
    assert len(set(first)) > 150
    assert any(b"[[[[[[[[[[" in raw for raw in first) or any(len(raw) > 2000 for raw in first)


def test_generated_paths_are_contained():
    cwd = "/run/cni/stress/cwd"
    assert safe_write_path("/var/lib/cni/x", cwd) and safe_write_path("rel", cwd)
    assert not safe_write_path("/var/lib/cni/../../../etc", cwd)
    assert not safe_write_path("/tmp/x", cwd)
    assert not safe_netns("/proc/1/ns/net", cwd) and safe_netns("/proc/self/ns/net", cwd)
    value, changed = contain_config(
        {"ipam": {"DataDir": "/etc/x", "resolvConf": "/dev/zero"}},
        cwd,
        "/var/lib/cni/f",
        ("/run/cni/stress/r",),
    )
    assert changed and value == {"ipam": {"DataDir": "/var/lib/cni/f", "resolvConf": "/run/cni/stress/r"}}


@pytest.mark.kernel
@pytest.mark.parametrize("parts", ["fuzz", "concurrency"])
def test_tiny_run_has_no_new_findings(parts, tmp_path):
    """A bounded run of the real harness: every finding must be a known, reported issue."""
    argv = [sys.executable, "-m", "stress", "--size", "tiny", "--parts", parts, "--out", str(tmp_path)]
    if parts == "fuzz":
        argv += ["--fuzz-inputs", "400"]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=240)
    report = json.loads((tmp_path / "report.json").read_text())
    new = [f["signature"] for f in report["findings"] if not f["known"]]
    assert proc.returncode == 0 and not new, (new, proc.stdout[-2000:], proc.stderr[-2000:])
