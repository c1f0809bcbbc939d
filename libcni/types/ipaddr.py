"""IP address texts as Go's net package reads them (pure; used by results and their models)."""

from __future__ import annotations

import ipaddress


def normalize_cidr(value: str) -> str:
    """An IP with prefix ('10.1.0.5/16'), canonical text, host bits kept (Go ParseCIDR + IPNet)."""
    if "/" not in value:
        raise ValueError(f"invalid CIDR address: {value}")
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        raise ValueError(f"invalid CIDR address: {value}") from None
    mapped = iface.ip.ipv4_mapped if iface.version == 6 else None
    if mapped is not None:  # Go prints an IPv4-mapped address as IPv4, with the mask's last 32 bits
        return f"{mapped}/{max(iface.network.prefixlen - 96, 0)}"
    return str(iface)


def normalize_ip(value: str) -> str:
    """An IP's canonical text as Go prints it (IPv4-mapped IPv6 as dotted IPv4)."""
    if value == "":
        return ""
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"invalid IP address: {value}") from None
    mapped = addr.ipv4_mapped if addr.version == 6 else None
    return str(mapped if mapped is not None else addr)


def ip_family(cidr_or_ip: str) -> int:
    """4 or 6 for an IP or IP/prefix text (IPv4-mapped IPv6 counts as 4, like Go's To4)."""
    text = cidr_or_ip.split("/", 1)[0]
    addr = ipaddress.ip_address(text)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return 4
    return addr.version
