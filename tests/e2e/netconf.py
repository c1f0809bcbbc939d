"""The conflist the runtimes get: bridge (+host-local) + tuning + portmap, one network per runtime."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass

# Debian's Go plugins (1.1.1) stop at 1.0.0; ours accept it too.
CNI_VERSION = "1.0.0"
TUNED_SYSCTL = "net.core.somaxconn"
TUNED_VALUE = "1234"


@dataclass(frozen=True)
class Network:
    name: str
    bridge: str
    subnet: str
    firewall: str = ""  # "" = the plugins' default (iptables here); "nftables" for both ipMasq and portmap
    host_port: int = 8080  # for podman's --publish

    @property
    def gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.subnet).hosts()))

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen

    def contains(self, ip: str) -> bool:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(self.subnet)

    def conflist(self) -> dict:
        bridge = {
            "type": "bridge",
            "bridge": self.bridge,
            "isGateway": True,
            "ipMasq": True,
            "hairpinMode": True,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": self.subnet, "gateway": self.gateway}]],
                "routes": [{"dst": "0.0.0.0/0"}],
            },
        }
        portmap = {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}
        if self.firewall:
            bridge["ipMasqBackend"] = self.firewall
            portmap["backend"] = self.firewall
        return {
            "cniVersion": CNI_VERSION,
            "name": self.name,
            "plugins": [bridge, {"type": "tuning", "sysctl": {TUNED_SYSCTL: TUNED_VALUE}}, portmap],
        }

    def write(self, directory: str, filename: str) -> str:
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, filename)
        with open(path, "w") as f:
            json.dump(self.conflist(), f, indent=2)
        return path
