"""One container's life under a runtime, observed from inside and from the fake host.

`observe_running` and `observe_removed` capture everything the checks need at the two moments
that matter (container up; container removed), so the tests are plain assertions and the
runtime work happens once per runtime.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.e2e import hoststate
from tests.e2e.netconf import TUNED_SYSCTL, Network

Exec = Callable[..., subprocess.CompletedProcess]


@dataclass
class Inside:
    eth0: list[str]
    routes: str
    ping: subprocess.CompletedProcess
    tuned_sysctl: str
    raw: dict[str, str] = field(default_factory=dict)


@dataclass
class Running:
    runtime: str
    firewall: str  # the conflist's choice: "default" or "nftables"
    cni_container_id: str
    network: Network
    inside: Inside
    host_links: set[str]
    bridge_ports: list[str]
    bridge_addrs: list[str]
    ipam: dict[str, str]
    rules: str
    nat_chains: set[str]
    host_tuned_sysctl: str
    http: dict[str, hoststate.HttpAnswer]

    @property
    def ip(self) -> str:
        return self.inside.eth0[0].split("/")[0] if self.inside.eth0 else ""


@dataclass
class Removed:
    how: subprocess.CompletedProcess | None
    host_links: set[str]
    bridge_ports: list[str]
    ipam: dict[str, str]
    rules: str
    nat_chains: set[str]
    cached_results: list[str]


@dataclass
class Lifecycle:
    running: Running
    removed: Removed


def look_inside(exec_: Exec, gateway: str) -> Inside:
    addr = exec_("ip", "-o", "-4", "addr", "show", "dev", "eth0")
    routes = exec_("ip", "-4", "route", "show")
    ping = exec_("ping", "-c", "2", "-W", "3", gateway)
    tuned = exec_("cat", "/proc/sys/" + TUNED_SYSCTL.replace(".", "/"))
    return Inside(
        eth0=re.findall(r"inet (\d+\.\d+\.\d+\.\d+/\d+)", addr.stdout),
        routes=routes.stdout,
        ping=ping,
        tuned_sysctl=tuned.stdout.strip(),
        raw={"addr": addr.stdout + addr.stderr, "routes": routes.stdout + routes.stderr},
    )


def observe_running(
    runtime: str,
    firewall: str,
    cni_container_id: str,
    network: Network,
    exec_: Exec,
    http_targets: Callable[[str], dict[str, tuple[str, int]]],
) -> Running:
    """`http_targets(container_ip)` names the (host, port) pairs to GET from the fake host."""
    inside = look_inside(exec_, network.gateway)
    ip = inside.eth0[0].split("/")[0] if inside.eth0 else ""
    targets = http_targets(ip).items() if ip else []
    http = {label: hoststate.http_get_when_up(host, port) for label, (host, port) in targets}
    return Running(
        runtime=runtime,
        firewall=firewall,
        cni_container_id=cni_container_id,
        network=network,
        inside=inside,
        host_links=set(hoststate.links()),
        bridge_ports=hoststate.bridge_ports(network.bridge),
        bridge_addrs=hoststate.addresses(network.bridge) if network.bridge in hoststate.links() else [],
        ipam=hoststate.ipam_reservations(network.name),
        rules=hoststate.ruleset(),
        nat_chains=hoststate.iptables_chains("nat"),
        host_tuned_sysctl=hoststate.sysctl(TUNED_SYSCTL),
        http=http,
    )


def observe_removed(
    network: Network, cni_container_id: str, how: subprocess.CompletedProcess | None
) -> Removed:
    return Removed(
        how=how,
        host_links=set(hoststate.links()),
        bridge_ports=hoststate.bridge_ports(network.bridge),
        ipam=hoststate.ipam_reservations(network.name),
        rules=hoststate.ruleset(),
        nat_chains=hoststate.iptables_chains("nat"),
        cached_results=hoststate.cached_results(cni_container_id),
    )
