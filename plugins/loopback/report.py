"""What ADD reports, as pure functions of the addresses read from `lo`.

Go's loopback builds a 1.0.0-shaped result (interfaces, ips without `version`) and labels it with
the config's cniVersion; libcni's conversion returns a result unchanged when its label already is
the target version, so that shape is printed for every config version, 0.1.0 included. A config
without cniVersion is the exception: the result then carries the newest version and is really
converted to 0.1.0 (ip4/ip6). An empty `dns` is left out, as current libcni does for this shape.
"""

from __future__ import annotations

import _socket  # the C module: socket.py costs ~8 ms of a cold call (enum, selectors)
import ipaddress

from libcni.types.errors import CNIError, ErrCode, encode_json

IFNAME = "lo"  # the plugin only ever works on lo
MAC = "00:00:00:00:00:00"


def _go_ip_text(address: str) -> tuple[str, bool]:
    """(Go's net.IP String(), IsLoopback()) of a kernel address."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:  # Go: an IPv4 address
        ip = ip.ipv4_mapped
    return str(ip), ip.is_loopback


def loopback_addresses(addrs: list[tuple[int, str, int]]) -> tuple[str | None, str | None]:
    """The first IPv4 and the first IPv6 address (CIDR text) of `lo`; every address must be a
    loopback one."""
    firsts: dict[int, str] = {}
    for family in (_socket.AF_INET, _socket.AF_INET6):
        for addr_family, address, prefixlen in addrs:
            if addr_family != family:
                continue
            text, loopback = _go_ip_text(address)
            firsts.setdefault(family, f"{text}/{prefixlen}")
            if not loopback:
                raise CNIError(
                    ErrCode.INTERNAL, f'loopback interface found with non-loopback address "{text}"'
                )
    return firsts.get(_socket.AF_INET), firsts.get(_socket.AF_INET6)


def result_dict(version: str, sandbox: str, v4: str | None, v6: str | None) -> dict:
    """The result object (1.0.0 shape) labelled `version`."""
    interface: dict[str, str] = {"name": IFNAME, "mac": MAC}
    if sandbox:
        interface["sandbox"] = sandbox
    out: dict = {"cniVersion": version, "interfaces": [interface]}
    ips = [{"interface": 0, "address": address} for address in (v4, v6) if address is not None]
    if ips:
        out["ips"] = ips
    return out


def render(version: str, sandbox: str, v4: str | None, v6: str | None) -> bytes:
    """The result printed as Go prints it (4-space indent, no trailing newline)."""
    return encode_json(result_dict(version, sandbox, v4, v6))
