"""CNI results of every spec version, Go-compatible JSON, and conversion between versions.

Two shapes exist: `Result020` (0.1.0, 0.2.0: ip4/ip6 objects) and `Result` (0.3.0 to 1.1.0:
interfaces, ips, routes). Plugins build a `Result`; the skeleton converts it to the config's
cniVersion when printing. Conversion follows libcni's GetAsVersion, quirks included (see
cni-spec.md 4.5).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated, Any

from pydantic import AfterValidator

from .errors import CNIError, ErrCode, encode_json
from .gomodel import GoModel, parse_model
from .version import CURRENT, DEFAULT, FAMILY_020, FAMILY_040, FAMILY_100, SUPPORTED_VERSIONS, family_of


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


CIDR = Annotated[str, AfterValidator(normalize_cidr)]
IPText = Annotated[str, AfterValidator(normalize_ip)]


def ip_family(cidr_or_ip: str) -> int:
    """4 or 6 for an IP or IP/prefix text (IPv4-mapped IPv6 counts as 4, like Go's To4)."""
    text = cidr_or_ip.split("/", 1)[0]
    addr = ipaddress.ip_address(text)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return 4
    return addr.version


class Interface(GoModel):
    name: str = ""
    mac: str = ""
    mtu: int = 0
    sandbox: str = ""
    socketPath: str = ""
    pciID: str = ""

    def to_json_dict(self, family: tuple[str, ...]) -> dict:
        out: dict[str, Any] = {"name": self.name}
        if self.mac:
            out["mac"] = self.mac
        if family is FAMILY_100 and self.mtu:
            out["mtu"] = self.mtu
        if self.sandbox:
            out["sandbox"] = self.sandbox
        if family is FAMILY_100:
            if self.socketPath:
                out["socketPath"] = self.socketPath
            if self.pciID:
                out["pciID"] = self.pciID
        return out


class IPConfig(GoModel):
    interface: int | None = None
    address: CIDR
    gateway: IPText = ""

    @property
    def family(self) -> int:
        return ip_family(self.address)

    def to_json_dict(self, family: tuple[str, ...]) -> dict:
        out: dict[str, Any] = {}
        if family is FAMILY_040:
            out["version"] = str(self.family)
        if self.interface is not None:
            out["interface"] = self.interface
        out["address"] = self.address
        if self.gateway:
            out["gateway"] = self.gateway
        return out


class Route(GoModel):
    dst: CIDR
    gw: IPText = ""
    mtu: int = 0
    advmss: int = 0
    priority: int = 0
    table: int | None = None
    scope: int | None = None

    def to_json_dict(self) -> dict:
        out: dict[str, Any] = {"dst": self.dst}
        if self.gw:
            out["gw"] = self.gw
        for key in ("mtu", "advmss", "priority"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        for key in ("table", "scope"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


class DNS(GoModel):
    nameservers: list[str] = []
    domain: str = ""
    search: list[str] = []
    options: list[str] = []

    def is_empty(self) -> bool:
        return not (self.nameservers or self.domain or self.search or self.options)

    def to_json_dict(self) -> dict:
        out: dict[str, Any] = {}
        if self.nameservers:
            out["nameservers"] = list(self.nameservers)
        if self.domain:
            out["domain"] = self.domain
        if self.search:
            out["search"] = list(self.search)
        if self.options:
            out["options"] = list(self.options)
        return out


class Result(GoModel):
    """A result of spec 0.3.0, 0.3.1, 0.4.0, 1.0.0 or 1.1.0."""

    cniVersion: str = ""
    interfaces: list[Interface] = []
    ips: list[IPConfig] = []
    routes: list[Route] = []
    dns: DNS = DNS()

    def to_json_dict(self) -> dict:
        family = family_of(self.cniVersion) or FAMILY_100
        out: dict[str, Any] = {}
        if self.cniVersion:
            out["cniVersion"] = self.cniVersion
        if self.interfaces:
            out["interfaces"] = [i.to_json_dict(family) for i in self.interfaces]
        if self.ips:
            out["ips"] = [ip.to_json_dict(family) for ip in self.ips]
        if self.routes:
            out["routes"] = [r.to_json_dict() for r in self.routes]
        if family is FAMILY_040 or not self.dns.is_empty():
            out["dns"] = self.dns.to_json_dict()
        return out


class IP020(GoModel):
    ip: CIDR
    gateway: IPText = ""
    routes: list[Route] = []

    def to_json_dict(self) -> dict:
        out: dict[str, Any] = {"ip": self.ip}
        if self.gateway:
            out["gateway"] = self.gateway
        if self.routes:
            out["routes"] = [r.to_json_dict() for r in self.routes]
        return out


class Result020(GoModel):
    """A result of spec 0.1.0 or 0.2.0."""

    cniVersion: str = ""
    ip4: IP020 | None = None
    ip6: IP020 | None = None
    dns: DNS = DNS()

    def to_json_dict(self) -> dict:
        out: dict[str, Any] = {}
        if self.cniVersion:
            out["cniVersion"] = self.cniVersion
        if self.ip4 is not None:
            out["ip4"] = self.ip4.to_json_dict()
        if self.ip6 is not None:
            out["ip6"] = self.ip6.to_json_dict()
        out["dns"] = self.dns.to_json_dict()
        return out


AnyResult = Result | Result020


def parse_result(data: Any, default_version: str = "") -> AnyResult:
    """Parse a decoded result by its own cniVersion (absent: `default_version`, then 0.1.0)."""
    if not isinstance(data, dict):
        raise CNIError(ErrCode.DECODING_FAILURE, "failed to decode result: not a JSON object")
    version = data.get("cniVersion") or default_version or DEFAULT
    if not isinstance(version, str):
        raise CNIError(ErrCode.DECODING_FAILURE, "failed to decode result: cniVersion is not a string")
    family = family_of(version)
    if family is None:
        raise CNIError(ErrCode.INCOMPATIBLE_CNI_VERSION, f'unsupported CNI result version "{version}"')
    model = Result020 if family is FAMILY_020 else Result
    result = parse_model(model, data, prefix="failed to decode result: ")
    result.cniVersion = version
    return result


def parse_result_bytes(raw: bytes, default_version: str = "") -> AnyResult:
    try:
        data = json.loads(raw.decode("utf-8", "replace"))  # invalid UTF-8 -> U+FFFD, as Go
    except (ValueError, RecursionError) as err:
        raise CNIError(ErrCode.DECODING_FAILURE, f"failed to unmarshal raw result: {err}") from None
    if data is None:
        data = {}
    return parse_result(data, default_version)


def convert(result: AnyResult, to_version: str) -> AnyResult:
    """Return `result` as a result of `to_version` (libcni GetAsVersion)."""
    target = to_version or DEFAULT
    source = result.cniVersion or DEFAULT
    if target not in SUPPORTED_VERSIONS:
        raise CNIError(
            ErrCode.INCOMPATIBLE_CNI_VERSION, f"no converter for CNI result version {source} to {target}"
        )
    family = family_of(target)
    if isinstance(result, Result020):
        if family is FAMILY_020:
            return result.model_copy(update={"cniVersion": target}, deep=True)
        return _up_from_020(result, target)
    if family is FAMILY_020:
        return _down_to_020(result, target)
    converted = result.model_copy(update={"cniVersion": target}, deep=True)
    if family is FAMILY_040:
        # 0.3/0.4 interfaces have no mtu, socketPath or pciID: they are lost for good.
        for iface in converted.interfaces:
            iface.mtu, iface.socketPath, iface.pciID = 0, "", ""
    return converted


def as_current(result: AnyResult) -> Result:
    """The result as the newest version, the form plugins work on."""
    converted = convert(result, CURRENT)
    assert isinstance(converted, Result)
    return converted


def _up_from_020(old: Result020, target: str) -> Result:
    ips: list[IPConfig] = []
    routes: list[Route] = []
    for ip in (old.ip4, old.ip6):
        if ip is None:
            continue
        ips.append(IPConfig(address=ip.ip, gateway=ip.gateway))
        routes.extend(r.model_copy() for r in ip.routes)
    return Result(cniVersion=target, ips=ips, routes=routes, dns=old.dns.model_copy(deep=True))


def _down_to_020(new: Result, target: str) -> Result020:
    ip4 = ip6 = None
    for ip in new.ips:
        if ip.family == 4 and ip4 is None:
            ip4 = IP020(ip=ip.address, gateway=ip.gateway)
        elif ip.family == 6 and ip6 is None:
            ip6 = IP020(ip=ip.address, gateway=ip.gateway)
        if ip4 is not None and ip6 is not None:
            break
    for route in new.routes:
        holder = ip4 if ip_family(route.dst) == 4 else ip6
        if holder is not None:
            holder.routes.append(Route(dst=route.dst, gw=route.gw))
    if ip4 is None and ip6 is None:
        raise CNIError(ErrCode.INTERNAL, "cannot convert: no valid IP addresses")
    return Result020(cniVersion=target, ip4=ip4, ip6=ip6, dns=new.dns.model_copy(deep=True))


def to_json(result: AnyResult, version: str | None = None) -> bytes:
    """The result printed like Go's PrettyPrint, converted to `version` first if given."""
    if version is not None:
        result = convert(result, version)
    return encode_json(result.to_json_dict())
