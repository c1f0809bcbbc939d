"""The firewall configuration as a pydantic model (Go's FirewallNetConf): the one definition of its
keys. The call path decodes with the table generated from it (schema.py, `make schemas`)."""

from __future__ import annotations

from libcni.types.config import NetConf


class FirewallNetConf(NetConf):
    # "iptables", "firewalld", or anything else (Go: firewalld when it runs, else iptables).
    backend: str = ""
    # The admin override chain; "" means CNI-ADMIN.
    iptablesAdminChainName: str = ""
    # The firewalld zone for the container addresses; "" means trusted.
    firewalldZone: str = ""
    # "", "open", "same-bridge" or "isolated" (checked by the plugin, with Go's message).
    ingressPolicy: str = ""
