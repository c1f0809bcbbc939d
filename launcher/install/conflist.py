"""The node's network configs, as pure functions of the settings (no I/O).

- the pod network: bridge (+ host-local over the node's pod CIDRs), portmap, tuning
- the loopback config that Kubernetes' runtime docs put beside it (99-loopback.conf)

cniVersion 1.0.0: the newest version the CNI library of containerd 1.6/1.7 and CRI-O accepts.
"""

from __future__ import annotations

import ipaddress
import json

CNI_VERSION = "1.0.0"


class SettingError(ValueError):
    """A setting the installer cannot use; the message names it and its value."""


def parse_cidrs(text: str, where: str) -> list[str]:
    """'10.244.1.0/24, fd00:10:244:1::/64' -> normalised CIDRs (at most one per family)."""
    cidrs: list[str] = []
    families: set[int] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            net = ipaddress.ip_network(item, strict=True)
        except ValueError as e:
            raise SettingError(f"{where}: {item!r} is not a CIDR ({e})") from None
        if net.version in families:
            raise SettingError(f"{where}: more than one IPv{net.version} CIDR in {text!r}")
        families.add(net.version)
        cidrs.append(str(net))
    if not cidrs:
        raise SettingError(f"{where}: no CIDR in {text!r}")
    return cidrs


def pod_network(
    cidrs: list[str],
    *,
    name: str = "pycni",
    bridge: str = "cni0",
    mtu: int | None = None,
    sysctl: dict[str, str] | None = None,
) -> dict:
    """The pod network conflist: one host-local range set per CIDR, a default route per family."""
    if not cidrs:
        raise SettingError("pod CIDRs: none given")
    versions = sorted({ipaddress.ip_network(c).version for c in cidrs})
    bridge_conf: dict = {
        "type": "bridge",
        "bridge": bridge,
        "isGateway": True,
        "ipMasq": True,
        "hairpinMode": True,
    }
    if mtu is not None:
        bridge_conf["mtu"] = mtu
    bridge_conf["ipam"] = {
        "type": "host-local",
        "ranges": [[{"subnet": cidr}] for cidr in cidrs],
        "routes": [{"dst": "0.0.0.0/0" if v == 4 else "::/0"} for v in versions],
    }
    tuning: dict = {"type": "tuning"}
    if sysctl:
        tuning["sysctl"] = dict(sysctl)
    return {
        "cniVersion": CNI_VERSION,
        "name": name,
        "plugins": [
            bridge_conf,
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
            tuning,
        ],
    }


def loopback() -> dict:
    return {"cniVersion": CNI_VERSION, "name": "lo", "type": "loopback"}


def render(conf: dict) -> bytes:
    """Stable bytes for a config: the same settings always give the same file."""
    return (json.dumps(conf, indent=2) + "\n").encode()
