"""CNI results of every spec version, Go-compatible JSON, and conversion between versions.

Two shapes exist: `Result020` (0.1.0, 0.2.0: ip4/ip6 objects) and `Result` (0.3.0 to 1.1.0:
interfaces, ips, routes). Plugins build a `Result`; the skeleton converts it to the config's
cniVersion when printing. Conversion follows libcni's GetAsVersion, quirks included (spec 1.1.0,
"Version considerations": 0.x interfaces lose mtu/socketPath/pciID, 0.2.0 keeps one IP per family).

No pydantic: the records here are built by `libcni.lean` from tables generated from the models in
result_models.py (the one definition of the fields), bound at the end of this module.
"""

from __future__ import annotations

from ..gojson import decode_text
from ..lean import Record, decode
from .errors import CNIError, ErrCode, encode_json
from .ipaddr import ip_family, normalize_cidr, normalize_ip  # noqa: F401 - re-exported
from .version import CURRENT, DEFAULT, FAMILY_020, FAMILY_040, FAMILY_100, SUPPORTED_VERSIONS, family_of

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only
    from typing import Any


class Interface(Record):
    name: str
    mac: str
    mtu: int
    sandbox: str
    socketPath: str
    pciID: str

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


class IPConfig(Record):
    interface: int | None
    address: str
    gateway: str

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


class Route(Record):
    dst: str
    gw: str
    mtu: int
    advmss: int
    priority: int
    table: int | None
    scope: int | None

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


class DNS(Record):
    nameservers: list[str]
    domain: str
    search: list[str]
    options: list[str]

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


class Result(Record):
    cniVersion: str
    interfaces: list[Interface]
    ips: list[IPConfig]
    routes: list[Route]
    dns: DNS
    """A result of spec 0.3.0, 0.3.1, 0.4.0, 1.0.0 or 1.1.0."""

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


class IP020(Record):
    ip: str
    gateway: str
    routes: list[Route]

    def to_json_dict(self) -> dict:
        out: dict[str, Any] = {"ip": self.ip}
        if self.gateway:
            out["gateway"] = self.gateway
        if self.routes:
            out["routes"] = [r.to_json_dict() for r in self.routes]
        return out


class Result020(Record):
    cniVersion: str
    ip4: IP020 | None
    ip6: IP020 | None
    dns: DNS
    """A result of spec 0.1.0 or 0.2.0."""

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
    table = result_schema.Result020 if family is FAMILY_020 else result_schema.Result
    result = decode(table, data, prefix="failed to decode result: ")
    result.cniVersion = version
    return result


def parse_result_bytes(raw: bytes, default_version: str = "") -> AnyResult:
    try:
        data = decode_text(raw)  # invalid UTF-8 -> U+FFFD, as Go
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
            return result.replace(cniVersion=target)
        return _up_from_020(result, target)
    if family is FAMILY_020:
        return _down_to_020(result, target)
    converted = result.replace(cniVersion=target)
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
        routes.extend(r.replace() for r in ip.routes)
    return Result(cniVersion=target, ips=ips, routes=routes, dns=old.dns.replace())


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
    return Result020(cniVersion=target, ip4=ip4, ip6=ip6, dns=new.dns.replace())


def to_json(result: AnyResult, version: str | None = None) -> bytes:
    """The result printed like Go's PrettyPrint, converted to `version` first if given."""
    if version is not None:
        result = convert(result, version)
    return encode_json(result.to_json_dict())


from . import result_schema  # noqa: E402 - binds the records above to their generated tables
