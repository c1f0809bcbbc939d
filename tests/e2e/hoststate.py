"""What the fake host (the run's private netns) sees of a container network: read-only probes."""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass

IPAM_DIR = "/var/lib/cni/networks"
CNI_CACHE_DIR = "/var/lib/cni/results"


def _out(*argv: str) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False).stdout


def links() -> dict[str, dict]:
    return {link["ifname"]: link for link in json.loads(_out("ip", "-j", "-d", "link", "show") or "[]")}


def bridge_ports(bridge: str) -> list[str]:
    return sorted(name for name, link in links().items() if link.get("master") == bridge)


def addresses(ifname: str) -> list[str]:
    data = json.loads(_out("ip", "-j", "addr", "show", "dev", ifname) or "[]")
    return [f"{a['local']}/{a['prefixlen']}" for item in data for a in item.get("addr_info", [])]


def ipam_reservations(network: str) -> dict[str, str]:
    """host-local's store: one file per reserved IP holding the container id (and ifname)."""
    directory = os.path.join(IPAM_DIR, network)
    found = {}
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            try:
                ipaddress.ip_address(name)
            except ValueError:
                continue  # lock, last_reserved_ip.N
            with open(os.path.join(directory, name)) as f:
                found[name] = f.read()
    return found


def cached_results(container_id: str) -> list[str]:
    if not os.path.isdir(CNI_CACHE_DIR):
        return []
    return sorted(name for name in os.listdir(CNI_CACHE_DIR) if container_id in name)


def ruleset() -> str:
    """Every firewall rule of the fake host, whichever backend wrote it (iptables or nftables)."""
    parts = [_out("iptables-save"), _out("ip6tables-save"), _out("nft", "list", "ruleset")]
    return "\n".join(parts)


def iptables_chains(table: str = "nat") -> set[str]:
    return {
        line[1:].split()[0]
        for line in _out("iptables-save", "-t", table).splitlines()
        if line.startswith(":")
    }


def _ip_pattern(ip: str) -> str:
    return r"(?<![\w.:])" + re.escape(ip) + r"(?![\d])"


def rules_mentioning(text: str, ip: str, container_id: str) -> list[str]:
    pattern = re.compile(_ip_pattern(ip) + "|" + re.escape(container_id))
    return [line.strip() for line in text.splitlines() if pattern.search(line)]


def masquerade_rules(text: str, ip: str) -> list[str]:
    """ipMasq's rules for a container IP: iptables jump from POSTROUTING, or an nft masquerade rule."""
    ip_re = _ip_pattern(ip)
    patterns = [
        re.compile(r"^-A POSTROUTING -s " + ip_re + r"(/32)? .*-j CNI-"),
        re.compile(r"ip saddr (== )?" + ip_re + r" .*masquerade"),
    ]
    return [line.strip() for line in text.splitlines() if any(p.search(line.strip()) for p in patterns)]


def dnat_rules(text: str, ip: str, port: int) -> list[str]:
    pattern = re.compile(r"(--to-destination|dnat( ip)? to) " + _ip_pattern(ip) + f":{port}\\b")
    return [line.strip() for line in text.splitlines() if pattern.search(line)]


def sysctl(name: str) -> str:
    with open("/proc/sys/" + name.replace(".", "/")) as f:
        return f.read().strip()


@dataclass
class HttpAnswer:
    status: int = 0
    body: str = ""
    error: str = ""


def http_get_when_up(host: str, port: int, within: float = 15) -> HttpAnswer:
    """GET, retried while nothing answers yet (the server may still be starting): the last answer."""
    deadline = time.monotonic() + within
    while True:
        answer = http_get(host, port)
        if answer.status or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def http_get(host: str, port: int, path: str = "/", timeout: float = 5) -> HttpAnswer:
    """A plain GET from the fake host (no proxy from the environment can get in the way)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return HttpAnswer(response.status, response.read().decode(errors="replace"))
    except OSError as err:
        return HttpAnswer(error=f"{type(err).__name__}: {err}")
    finally:
        conn.close()
