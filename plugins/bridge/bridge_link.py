"""The host side of the bridge plugin: the bridge, its ports, its gateway addresses."""

from __future__ import annotations

import errno
import ipaddress
from typing import TYPE_CHECKING, Any

from libcni.types.errors import CNIError, ErrCode
from pkg import sysctl
from pkg.configure import address_kwargs
from pkg.link import create_veth, get_link, kind, link_addresses, mac
from pkg.netlink import is_exists, netlink_error_code

if TYPE_CHECKING:  # pragma: no cover
    from pyroute2 import IPRoute

    from pkg.ns import NetNS

IFF_UP = 0x1
IFF_PROMISC = 0x100
AF_INET, AF_INET6 = 2, 10


class VlanUnsupported(CNIError):
    """The kernel has no bridge VLAN filtering (EOPNOTSUPP)."""


def _error(what: str, err: BaseException) -> CNIError:
    code = netlink_error_code(err)
    text = f"{what}: {err}"
    if code == errno.EOPNOTSUPP:
        return VlanUnsupported(ErrCode.INTERNAL, text, "EOPNOTSUPP")
    return CNIError(ErrCode.INTERNAL, text)


def bridge_by_name(ipr: IPRoute, name: str) -> Any:
    link = get_link(ipr, name)
    if link is None:
        raise CNIError(ErrCode.INTERNAL, f'could not lookup "{name}": Link not found')
    if kind(link) != "bridge":
        raise CNIError(ErrCode.INTERNAL, f'"{name}" already exists but is not a bridge')
    return link


def ensure_bridge(ipr: IPRoute, name: str, mtu: int, promisc: bool, vlan_filtering: bool) -> Any:
    """Create the bridge unless it exists (an existing one is reused as is), set it up."""
    link = get_link(ipr, name)  # the common case: it exists, and one lookup is all it costs
    if link is None:
        spec: dict[str, Any] = {"ifname": name, "kind": "bridge"}
        if mtu > 0:
            spec["mtu"] = mtu
        if vlan_filtering:
            spec["br_vlan_filtering"] = 1
        try:
            ipr.link("add", **spec)
        except Exception as err:
            if not is_exists(err):  # a concurrent ADD may have just created it
                raise _error(f'failed to create bridge "{name}": could not add "{name}"', err) from None
    try:
        link = bridge_by_name(ipr, name) if link is None or kind(link) != "bridge" else link
    except CNIError as err:
        raise CNIError(err.code, f'failed to create bridge "{name}": {err.msg}') from None
    if promisc and not link["flags"] & IFF_PROMISC:
        try:
            ipr.link("set", index=link["index"], flags=IFF_PROMISC, change=IFF_PROMISC)
        except Exception as err:
            raise CNIError(
                ErrCode.INTERNAL, f'failed to create bridge "{name}": could not set promiscuous mode: {err}'
            ) from None
    try:
        sysctl.write(f"net/ipv6/conf/{name}/accept_ra", "0")  # we own this interface's routes
    except OSError:
        pass
    if not link["flags"] & IFF_UP:
        ipr.link("set", index=link["index"], state="up")
    return link


def setup_port(
    ipr: IPRoute,
    index: int,
    name: str,
    *,
    hairpin: bool,
    isolated: bool,
    vlan: int,
    vlans: list[int],
    preserve_default_vlan: bool,
) -> None:
    """Bridge-port flags (always set explicitly) and VLAN entries of the host veth."""
    try:
        ipr.brport("set", index=index, mode=int(hairpin), isolated=int(isolated))
    except Exception as err:
        raise CNIError(ErrCode.INTERNAL, f"failed to setup hairpin mode for {name}: {err}") from None
    if not (vlan or vlans):
        return
    try:
        if not preserve_default_vlan:
            for entry in ipr.get_vlans(index=index):
                for info in _vlan_infos(entry):
                    ipr.vlan_filter("del", index=index, vlan_info={"vid": info})
    except Exception as err:
        raise _error(f'failed to remove default vlan on interface "{name}"', err) from None
    entries: list[tuple[int, bool]] = []
    if vlan:
        entries.append((vlan, True))
    entries += [(vid, False) for vid in vlans]
    if not vlan:
        entries.append((1, True))  # a trunk without `vlan` keeps VID 1 as its native VLAN
    for vid, native in entries:
        info: dict[str, Any] = {"vid": vid}
        if native:
            info["flags"] = ["pvid", "untagged"]
        try:
            ipr.vlan_filter("add", index=index, vlan_info=info)
        except Exception as err:
            raise _error(f'failed to setup vlan tag on interface "{name}"', err) from None


def _vlan_infos(entry: Any) -> list[int]:
    spec = entry.get("IFLA_AF_SPEC") or {}
    attrs = spec.get("attrs", []) if isinstance(spec, dict) else getattr(spec, "get", lambda *_: [])("attrs")
    return [value["vid"] for key, value in attrs or [] if key == "IFLA_BRIDGE_VLAN_INFO"]


def ensure_addr(ipr: IPRoute, link: Any, family: int, gateway: str, force: bool) -> None:
    """Put `gateway` ('ip/prefix') on the bridge with Go's conflict rules, then pin its MAC."""
    name = link.get("ifname")
    wanted = ipaddress.ip_interface(gateway)
    index = link["index"]
    for address, prefix, _ in link_addresses(ipr, index, AF_INET if family == 4 else AF_INET6):
        existing = ipaddress.ip_interface(f"{address}/{prefix}")
        if existing == wanted:
            return
        if family == 4 or existing.ip in wanted.network or wanted.ip in existing.network:
            if not force:
                raise CNIError(
                    ErrCode.INTERNAL, f'"{name}" already has an IP address different from {wanted}'
                )
            try:
                ipr.addr("del", index=index, address=str(existing.ip), prefixlen=prefix)
            except Exception as err:
                raise CNIError(
                    ErrCode.INTERNAL, f'could not remove IP address from "{name}": {err}'
                ) from None
    try:
        ipr.addr("add", index=index, **address_kwargs(str(wanted)))
    except Exception as err:
        if not is_exists(err):
            raise CNIError(
                ErrCode.INTERNAL, f'could not add IP address {wanted} to "{name}": {err}'
            ) from None
    try:
        # Pin the MAC: a bridge otherwise takes the lowest port MAC, which changes as ports churn.
        ipr.link("set", index=index, address=mac(link))
    except Exception as err:
        raise CNIError(ErrCode.INTERNAL, f"could not set bridge's mac: {err}") from None


def ensure_vlan_gateway(
    ipr: IPRoute, bridge: Any, vlan: int, preserve_default_vlan: bool, host: NetNS
) -> Any:
    """The `<bridge>.<vlan>` veth that carries the gateway address of a VLAN (created once)."""
    name = f"{bridge.get('ifname')}.{vlan}"
    link = get_link(ipr, name)
    if link is not None:
        return link
    port = create_veth(ipr, name, host, mtu=bridge.get("mtu") or 0, master=bridge["index"], up=True)
    port_link = get_link(ipr, port)
    setup_port(
        ipr,
        port_link["index"],
        port,
        hairpin=False,
        isolated=False,
        vlan=vlan,
        vlans=[],
        preserve_default_vlan=preserve_default_vlan,
    )
    link = get_link(ipr, name)
    ipr.link("set", index=link["index"], state="up")
    return get_link(ipr, name)
