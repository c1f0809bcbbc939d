"""IP address texts as Go's net package reads them (pure; used by results and their models)."""

from __future__ import annotations

import ipaddress


def normalize_cidr(value: str) -> str:
    """An IP with prefix ('10.1.0.5/16'), canonical text, host bits kept (Go ParseCIDR + IPNet)."""
    if "/" not in value:
        raise ValueError(f"invalid CIDR address: {value}")
    try:
        return str(ipaddress.ip_interface(value))
    except ValueError:
        raise ValueError(f"invalid CIDR address: {value}") from None


def normalize_ip(value: str) -> str:
    if value == "":
        return ""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"invalid IP address: {value}") from None


def ip_family(cidr_or_ip: str) -> int:
    """4 or 6 for an IP or IP/prefix text (IPv4-mapped IPv6 counts as 4, like Go's To4)."""
    text = cidr_or_ip.split("/", 1)[0]
    addr = ipaddress.ip_address(text)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return 4
    return addr.version
