"""bandwidth chained after bridge (host-local IPAM), driven by our cnitool the way a runtime does it
(the `bandwidth` capability from CAP_ARGS, prevResult from the bridge, DEL in reverse order):
with our plugins, and with Go's bridge and host-local in front of our bandwidth."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from plugins.bandwidth.shaping import ifb_name
from tests.harness import GO_PLUGIN_DIR, Netns, unique

pytestmark = pytest.mark.kernel

RATES = {"ingressRate": 8_000_000, "ingressBurst": 80_000, "egressRate": 8_000_000, "egressBurst": 80_000}


def plugin_dir(which: str, cni_bin: str, tmp_path) -> str:
    if which == "ours":
        return cni_bin
    if not os.path.isfile(os.path.join(GO_PLUGIN_DIR, "bridge")):
        pytest.skip(f"Go reference plugins not installed in {GO_PLUGIN_DIR}")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("bridge", "host-local"):
        os.symlink(os.path.join(GO_PLUGIN_DIR, name), mixed / name)
    os.symlink(os.path.join(cni_bin, "bandwidth"), mixed / "bandwidth")
    return str(mixed)


@pytest.mark.parametrize("front", ["ours", "go"])
def test_bridge_then_bandwidth(tmp_path, cni_bin, host_ns: Netns, container_ns: Netns, front):
    plugins = plugin_dir(front, cni_bin, tmp_path)
    name, bridge = unique("bwnet"), unique("br", 6)
    conf_dir = tmp_path / "net.d"
    conf_dir.mkdir()
    conflist = {
        "cniVersion": "1.0.0",
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(tmp_path / "ipam"),
                    "ranges": [[{"subnet": "10.78.0.0/24"}]],
                },
            },
            {"type": "bandwidth", "capabilities": {"bandwidth": True}},
        ],
    }
    (conf_dir / "10-bw.conflist").write_text(json.dumps(conflist))
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "NETCONFPATH": str(conf_dir),
        "CNI_PATH": plugins,
        "CNI_CACHE_DIR": str(tmp_path / "cache"),
        "CNI_PY_WARM": "0",
        "CAP_ARGS": json.dumps({"bandwidth": RATES}),
    }

    def cnitool(verb: str) -> subprocess.CompletedProcess:
        argv = ["nsenter", f"--net={host_ns.path}", "--", os.path.join(cni_bin, "cnitool"), verb, name]
        proc = subprocess.run(
            argv + [container_ns.path], env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"{verb}: {proc.stdout} {proc.stderr}"
        return proc

    result = json.loads(cnitool("add").stdout)
    names = [i["name"] for i in result["interfaces"]]
    veth = names[1]
    ifbs = [i for i in result["interfaces"] if i["name"].startswith("bwp")]
    assert len(ifbs) == 1 and ifbs[0]["name"] == names[-1]
    ifb = ifbs[0]["name"]
    cid = "cnitool-" + hashlib.sha512(container_ns.path.encode()).hexdigest()[:20]
    assert ifb == ifb_name(name, cid)  # cnitool's container ID: "cnitool-" + sha512(netns path)[:20]
    qdiscs = host_ns.json("tc", "-j", "qdisc", "show")
    assert {(q["dev"], q["kind"]) for q in qdiscs} >= {(veth, "tbf"), (veth, "ingress"), (ifb, "tbf")}
    assert host_ns.link(ifb)["linkinfo"]["info_kind"] == "ifb"

    cnitool("check")
    cnitool("del")
    assert host_ns.link(ifb) is None and host_ns.link(veth) is None
    assert [q["dev"] for q in host_ns.json("tc", "-j", "qdisc", "show") if q["dev"] != "lo"] in ([], [bridge])
