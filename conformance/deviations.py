"""Known departures from the spec (or from upstream HEAD) that scenarios accept explicitly.

A step that fails its main expectation but matches one of its deviations is reported as
"deviation <id>" (not a pass, not a failure). `--strict` turns deviations into failures.
"""

from __future__ import annotations

DEVIATIONS: dict[str, str] = {
    "go-999": (
        "Go plugins report config and CNI_ARGS errors as an untyped internal error (code 999) where the "
        "spec defines a code (4 invalid environment, 6 decoding failure, 7 invalid config)"
    ),
    "go-810": (
        "bridge DEL without CNI_NETNS only releases the IPAM address; the ipMasq rules leak "
        "(containernetworking/plugins#810, PR #1078 open)"
    ),
    "go-l2-check": (
        "bridge CHECK always delegates to IPAM, so an L2-only bridge (no ipam.type) fails CHECK with "
        '"no plugin name provided" instead of checking the interfaces'
    ),
    "go-hl-mode": "host-local before v1.4.0 writes address files with mode 0644 (0600 since v1.4.0)",
    "go-885": "tuning before v1.2 does not substitute IFNAME in sysctl keys on CHECK (plugins#885)",
    "go-862": (
        "Go parses prevResult with the config's cniVersion, so a prevResult of another result family is "
        "rejected (containernetworking/cni#862)"
    ),
    "go-fw-late-checks": (
        "firewall checks ingressPolicy and the bridge interface only after adding the address rules, "
        "and leaves them in place when it then fails"
    ),
    "go-gc": "host-local has no GC: leaked reservations are not released (containernetworking/plugins#1047)",
    "go-status": "host-local has no STATUS: an exhausted range still reports success (spec: code 50)",
    "go-dup-route": (
        "bridge isDefaultGateway adds its own default route even when IPAM already returned a default route "
        "without a gateway, so the result lists two default routes"
    ),
    "go-portmap-check": (
        "portmap before v1.3.0 checks the container's DNAT chain in both iptables and ip6tables, so CHECK of "
        'an IPv4-only container fails with "could not check ipv6 dnat" (fixed by fb5d195f)'
    ),
    "loopback-label": (
        "loopback labels its 1.0.0-shaped result with the config's cniVersion, so a 0.1.0-0.4.0 config gets "
        "interfaces/ips without `version` instead of that version's shape (libcni returns a result unchanged "
        "when its label already is the target version); the reference does this, and ours on purpose"
    ),
    "go-trailing-semicolon": (
        'Go\'s CNI_ARGS parser rejects an empty pair (a trailing ";") that the spec grammar does not forbid'
    ),
}


def describe(deviation_id: str) -> str:
    return DEVIATIONS.get(deviation_id, "undocumented deviation")
