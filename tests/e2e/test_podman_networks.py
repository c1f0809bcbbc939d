"""podman's own networks through the CNI backend, with only the plugin directory under test.

podman writes these conflists itself (we do not): `podman network create NAME` and its default
network `podman` chain bridge (hairpinMode, ipMasq, host-local `ranges`, capability `ips`),
portmap (capability `portMappings`), firewall (`"backend": ""`) and tuning. A web server
container is run with `--publish` on each, looked at from inside and from the fake host, removed
with `podman rm`, and looked at again.

The chain needs `firewall`: until ours is merged, run with E2E_BORROW=firewall (Go's copy is
added to the directory under test); without it these tests fail and say so.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import uuid
from dataclasses import dataclass

import pytest

from tests.e2e import hoststate
from tests.e2e.conftest import WEB_ARGV, skip_unless_written
from tests.e2e.image import IMAGE_NAME, WEB_PAGE

# podman's own search list for CNI plugins (containers/common): none may hold other plugins
PODMAN_DEFAULT_PLUGIN_DIRS = (
    "/usr/local/libexec/cni",
    "/usr/libexec/cni",
    "/usr/local/lib/cni",
    "/usr/lib/cni",
    "/opt/cni/bin",
)
PORTS = {"generated": 8085, "default": 8086}


@dataclass
class Observed:
    kind: str  # "generated" or "default"
    network: str
    conflist: dict | None  # what podman wrote (the default network lives in podman's memory)
    subnet: str
    gateway: str
    bridge: str
    cid: str
    ip: str
    lo_flags: str
    localhost: str
    http: dict[str, hoststate.HttpAnswer]
    rules: str
    ipam: dict[str, str]
    bridge_ports: list[str]
    removed_rc: int
    removed_err: str
    rules_after: str
    ipam_after: dict[str, str]
    bridge_ports_after: list[str]
    cached_after: list[str]


def require_firewall(plugins) -> None:
    if not os.path.exists(os.path.join(plugins.directory, "firewall")):
        pytest.fail(
            "podman's networks chain `firewall`, which the plugin directory under test lacks: until our "
            "firewall plugin is merged, run with E2E_BORROW=firewall (adds Go's copy)"
        )


def _network_info(podman, name: str) -> tuple[str, str, str]:
    (info,) = json.loads(podman.podman("network", "inspect", name).stdout)
    subnet = info["subnets"][0]
    return subnet["subnet"], subnet["gateway"], info["network_interface"]


def _observe(podman, kind: str) -> Observed:
    port = PORTS[kind]
    network = conflist = None
    name = "web-" + uuid.uuid4().hex[:8]
    try:
        if kind == "generated":
            network = "e2e-gen-" + uuid.uuid4().hex[:6]
            podman.podman("network", "create", network)
            with open(os.path.join(podman.network_dir, f"{network}.conflist")) as f:
                conflist = json.load(f)
        subnet, gateway, bridge = _network_info(podman, network or "podman")
        cid = podman.run_detached(name, IMAGE_NAME, network or "", [f"{port}:80"], WEB_ARGV)
        addr = podman.exec(name, "ip", "-o", "-4", "addr", "show", "dev", "eth0").stdout
        ips = re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", addr)
        ip = ips[0] if ips else ""
        lo_flags = podman.exec(name, "ip", "-o", "link", "show", "lo").stdout
        localhost = podman.exec(name, "wget", "-q", "-O", "-", "http://127.0.0.1:80/").stdout
        targets = {
            f"hostPort via {gateway}:{port}": (gateway, port),
            f"hostPort via 127.0.0.1:{port}": ("127.0.0.1", port),
        }
        if ip:
            targets["container ip, port 80"] = (ip, 80)
        http = {label: hoststate.http_get_when_up(h, p) for label, (h, p) in targets.items()}
        net_name = network or "podman"
        rules, ipam, ports = (
            hoststate.ruleset(),
            hoststate.ipam_reservations(net_name),
            hoststate.bridge_ports(bridge),
        )
        removed = podman.remove(name)
        return Observed(
            kind=kind,
            network=net_name,
            conflist=conflist,
            subnet=subnet,
            gateway=gateway,
            bridge=bridge,
            cid=cid,
            ip=ip,
            lo_flags=lo_flags,
            localhost=localhost,
            http=http,
            rules=rules,
            ipam=ipam,
            bridge_ports=ports,
            removed_rc=removed.returncode,
            removed_err=removed.stderr,
            rules_after=hoststate.ruleset(),
            ipam_after=hoststate.ipam_reservations(net_name),
            bridge_ports_after=hoststate.bridge_ports(bridge),
            cached_after=hoststate.cached_results(cid),
        )
    finally:
        podman.remove(name)
        if network:
            podman.podman("network", "rm", "--force", network, check=False)


@pytest.fixture(scope="module", params=list(PORTS))
def observed(request, plugins) -> Observed:
    skip_unless_written(plugins)
    require_firewall(plugins)
    return _observe(request.getfixturevalue("podman_with_image"), request.param)


def test_no_other_plugin_directory_is_reachable(plugins):
    listing = sorted(os.listdir(plugins.directory))
    for path in PODMAN_DEFAULT_PLUGIN_DIRS:
        if os.path.isdir(path):
            assert sorted(os.listdir(path)) == listing, path


def test_generated_conflist_is_podmans_own_chain(observed):
    if observed.kind != "generated":
        pytest.skip("the default network's conflist lives in podman's memory only")
    plugins = observed.conflist["plugins"]
    assert [p["type"] for p in plugins] == ["bridge", "portmap", "firewall", "tuning"]
    bridge = plugins[0]
    assert bridge["hairpinMode"] and bridge["ipMasq"] and bridge["capabilities"] == {"ips": True}
    assert bridge["ipam"]["type"] == "host-local" and "ranges" in bridge["ipam"]
    assert plugins[1]["capabilities"] == {"portMappings": True}
    assert plugins[2].get("backend") == ""


def test_container_gets_an_address_of_the_network(observed):
    assert observed.ip, "no IPv4 address on eth0"
    assert ipaddress.ip_address(observed.ip) in ipaddress.ip_network(observed.subnet)
    assert observed.ip in observed.ipam
    assert observed.ipam[observed.ip].startswith(observed.cid)
    assert len(observed.bridge_ports) == 1


def test_container_loopback_works(observed):
    assert "UP" in re.search(r"<([^>]*)>", observed.lo_flags).group(1).split(",")
    assert observed.localhost == WEB_PAGE


def test_web_server_answers_directly_and_through_the_host_port(observed):
    assert len(observed.http) == 3
    for target, answer in observed.http.items():
        assert (answer.status, answer.body, answer.error) == (200, WEB_PAGE, ""), target


def test_firewall_masquerade_and_port_rules_exist_while_running(observed):
    forward = [
        line
        for line in hoststate.rules_mentioning(observed.rules, observed.ip, observed.cid)
        if "CNI-FORWARD" in line
    ]
    assert forward, "no CNI-FORWARD rule accepts the container's traffic"
    assert hoststate.masquerade_rules(observed.rules, observed.ip)
    assert hoststate.dnat_rules(observed.rules, observed.ip, 80)


def test_podman_rm_tears_everything_down(observed):
    assert observed.removed_rc == 0, observed.removed_err
    assert "error" not in observed.removed_err.lower(), observed.removed_err
    assert observed.bridge_ports_after == []
    assert observed.ipam_after == {}
    assert observed.cached_after == []
    assert hoststate.rules_mentioning(observed.rules_after, observed.ip, observed.cid) == []
