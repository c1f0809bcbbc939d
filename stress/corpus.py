"""Valid seed inputs the fuzzer mutates: one or more working configs per plugin, prevResults of
every spec version, and conflists for libcni. Addresses stay in ranges no test uses
(10.7x.0.0/24, fd00:7x::/64) and names start with `fz`."""

from __future__ import annotations

import copy
from typing import Any

from libcni.types.version import FAMILY_020, SUPPORTED_VERSIONS

VERSIONS = SUPPORTED_VERSIONS
FUZZ_IPAM_DIR = "/var/lib/cni/fuzz"  # observed by the state snapshots, on tmpfs in tests/isolated
FUZZ_TUNING_DIR = "/run/cni/fuzz-tuning"
TUNING_IFNAME = "fz0"  # a veth end that lives in the fuzz container netns for tuning to work on
CONTAINER_IFNAME = "eth0"


def prev_result(version: str, sandbox: str, ifname: str = CONTAINER_IFNAME) -> dict[str, Any]:
    """A plausible result of an interface plugin, in the shape of `version`."""
    if version in FAMILY_020:
        return {
            "cniVersion": version,
            "ip4": {
                "ip": "10.79.0.2/24",
                "gateway": "10.79.0.1",
                "routes": [{"dst": "0.0.0.0/0", "gw": "10.79.0.1"}],
            },
            "ip6": {"ip": "fd00:79::2/64", "gateway": "fd00:79::1"},
            "dns": {
                "nameservers": ["10.79.0.1"],
                "domain": "fz.local",
                "search": ["fz"],
                "options": ["ndots:2"],
            },
        }
    ip4: dict[str, Any] = {"address": "10.79.0.2/24", "gateway": "10.79.0.1", "interface": 2}
    ip6: dict[str, Any] = {"address": "fd00:79::2/64", "gateway": "fd00:79::1", "interface": 2}
    if not version.startswith("1."):
        ip4["version"], ip6["version"] = "4", "6"
    return {
        "cniVersion": version,
        "interfaces": [
            {"name": "fzbr0", "mac": "0a:58:0a:4f:00:01"},
            {"name": "vethfz000001", "mac": "0a:58:0a:4f:00:02"},
            {"name": ifname, "mac": "0a:58:0a:4f:00:03", "sandbox": sandbox},
        ],
        "ips": [ip4, ip6],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.79.0.1"}, {"dst": "::/0"}],
        "dns": {"nameservers": ["10.79.0.1"], "domain": "fz.local"},
    }


def bridge_configs(version: str) -> list[dict[str, Any]]:
    ipam = {
        "type": "host-local",
        "ranges": [[{"subnet": "10.77.0.0/24", "gateway": "10.77.0.1"}], [{"subnet": "fd00:77::/64"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": FUZZ_IPAM_DIR,
    }
    base = {"cniVersion": version, "name": "fz-br", "type": "bridge", "bridge": "fzbr0", "ipam": ipam}
    return [
        {**base, "isGateway": True},
        {**base, "isDefaultGateway": True, "ipMasq": True, "ipMasqBackend": "nftables", "mtu": 1400},
        {**base, "isGateway": True, "ipMasq": True, "ipMasqBackend": "iptables", "hairpinMode": True},
        {**base, "macspoofchk": True, "promiscMode": True, "runtimeConfig": {"mac": "0a:58:0a:4d:00:09"}},
        {**base, "forceAddress": True, "isGateway": True, "args": {"cni": {"mac": "0a:58:0a:4d:00:0a"}}},
        {"cniVersion": version, "name": "fz-br2", "type": "bridge", "bridge": "fzbr1", "portIsolation": True},
    ]


def host_local_configs(version: str) -> list[dict[str, Any]]:
    return [
        {
            "cniVersion": version,
            "name": "fz-hl",
            "type": "bridge",
            "ipam": {
                "type": "host-local",
                "ranges": [
                    [{"subnet": "10.78.0.0/24", "rangeStart": "10.78.0.10", "rangeEnd": "10.78.0.200"}],
                    [{"subnet": "fd00:78::/64", "gateway": "fd00:78::1"}],
                ],
                "routes": [{"dst": "0.0.0.0/0"}, {"dst": "192.168.0.0/16", "gw": "10.78.0.1"}],
                "dataDir": FUZZ_IPAM_DIR,
            },
            "runtimeConfig": {"ips": ["10.78.0.33/24"]},
        },
        {
            "cniVersion": version,
            "name": "fz-hl2",
            "ipam": {
                "type": "host-local",
                "subnet": "10.78.1.0/28",
                "gateway": "10.78.1.1",
                "dataDir": FUZZ_IPAM_DIR,
            },
            "args": {"cni": {"ips": ["10.78.1.5"]}},
        },
        {
            "cniVersion": version,
            "name": "fz-hl3",
            "ipam": {"type": "host-local", "dataDir": FUZZ_IPAM_DIR},
            "runtimeConfig": {"ipRanges": [[{"subnet": "10.78.2.0/30"}]]},
        },
    ]


def tuning_configs(version: str, sandbox: str) -> list[dict[str, Any]]:
    base = {
        "cniVersion": version,
        "name": "fz-tu",
        "type": "tuning",
        "dataDir": FUZZ_TUNING_DIR,
        "prevResult": prev_result(version, sandbox, TUNING_IFNAME),
    }
    return [
        {**base, "sysctl": {"net.ipv4.conf.IFNAME.rp_filter": "1", "net.core.somaxconn": "512"}},
        {**base, "mac": "0a:58:0a:4e:00:07", "mtu": 1300, "promisc": True, "allmulti": True, "txQLen": 500},
        {**base, "runtimeConfig": {"mac": "0a:58:0a:4e:00:08"}, "capabilities": {"mac": True}},
        {**base, "args": {"cni": {"sysctl": {"net.ipv4.conf.IFNAME.arp_notify": "1"}, "mtu": 1280}}},
    ]


def portmap_configs(version: str, sandbox: str) -> list[dict[str, Any]]:
    mappings = [
        {"hostPort": 18080, "containerPort": 80, "protocol": "tcp"},
        {"hostPort": 15353, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"},
        {"hostPort": 18443, "containerPort": 443, "protocol": "tcp", "hostIP": "::"},
    ]
    base = {
        "cniVersion": version,
        "name": "fz-pm",
        "type": "portmap",
        "capabilities": {"portMappings": True},
        "runtimeConfig": {"portMappings": mappings},
        "prevResult": prev_result(version, sandbox),
    }
    return [
        {**base, "backend": "nftables"},
        {**base, "backend": "iptables", "snat": True, "markMasqBit": 13},
        {**base, "conditionsV4": ["-s", "10.0.0.0/8"], "externalSetMarkChain": "FZ-MARK"},
        {**base, "backend": "nftables", "conditionsV4": ["ip saddr 10.0.0.0/8"], "masqAll": True},
    ]


def loopback_configs(version: str, sandbox: str) -> list[dict[str, Any]]:
    base = {"cniVersion": version, "name": "fz-lo", "type": "loopback"}
    no_version = {"name": "fz-lo", "type": "loopback"}
    return [base, {**base, "prevResult": prev_result(version, sandbox)}, no_version]


def configs(plugin: str, version: str, sandbox: str) -> list[dict[str, Any]]:
    if plugin == "bridge":
        return bridge_configs(version)
    if plugin == "host-local":
        return host_local_configs(version)
    if plugin == "tuning":
        return tuning_configs(version, sandbox)
    if plugin == "portmap":
        return portmap_configs(version, sandbox)
    if plugin == "loopback":
        return loopback_configs(version, sandbox)
    raise ValueError(plugin)


def conflist(version: str) -> dict[str, Any]:
    plugins = [copy.deepcopy(c) for c in (bridge_configs(version)[0], tuning_configs(version, "/x")[0])]
    for plugin in plugins:
        plugin.pop("cniVersion", None)
        plugin.pop("name", None)
        plugin.pop("prevResult", None)
    plugins.append({"type": "portmap", "capabilities": {"portMappings": True}, "snat": True})
    return {"cniVersion": version, "cniVersions": [version, "1.0.0"], "name": "fz-list", "plugins": plugins}
