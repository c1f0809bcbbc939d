"""Gateway addresses and default routes from an IPAM result (Go's calcGateways), pure."""

from __future__ import annotations

import ipaddress

from libcni.types.results import Result, Route

CONTAINER_INTERFACE_INDEX = 2  # interfaces = [bridge, host veth, container]
DEFAULT_ROUTE = {4: "0.0.0.0/0", 6: "::/0"}


class Gateways:
    """Per family: the 'gw/prefix' addresses to put on the bridge."""

    __slots__ = ("by_family",)

    def __init__(self) -> None:
        self.by_family: dict[int, list[str]] = {4: [], 6: []}


def gateway_for(cidr: str) -> str:
    """The first address of the subnet: the default gateway when IPAM gives none."""
    network = ipaddress.ip_interface(cidr).network
    return str(network.network_address + 1)


def calc_gateways(result: Result, is_gateway: bool, is_default_gateway: bool) -> Gateways:
    """Point every IP at the container interface, fill in gateways, add default routes.

    Mutates `result` like Go does: IPs get `interface: 2` and (when acting as gateway) a
    gateway; with isDefaultGateway a default route is appended per family unless IPAM already
    returned one with a gateway."""
    gateways = Gateways()
    default_found = {4: False, 6: False}
    for ipc in result.ips:
        family = ipc.family
        ipc.interface = CONTAINER_INTERFACE_INDEX
        if not ipc.gateway and is_gateway:
            ipc.gateway = gateway_for(ipc.address)
        if is_default_gateway and not default_found[family]:
            default_found[family] = any(
                route.gw and _same_network(route.dst, DEFAULT_ROUTE[family]) for route in result.routes
            )
            if not default_found[family]:
                result.routes.append(Route(dst=DEFAULT_ROUTE[family], gw=ipc.gateway))
                default_found[family] = True
        if is_gateway:
            prefix = ipaddress.ip_interface(ipc.address).network.prefixlen
            gateways.by_family[family].append(f"{ipc.gateway}/{prefix}")
    return gateways


def _same_network(a: str, b: str) -> bool:
    return ipaddress.ip_network(a, strict=False) == ipaddress.ip_network(b, strict=False)
