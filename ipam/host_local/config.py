"""host-local configuration (Go's allocator.LoadIPAMConfig): JSON models at the edge, then
one validated `IPAMConfig` with canonical range sets and requested addresses.

Range-set order: runtimeConfig.ipRanges, the legacy single range (ipam.subnet...), ipam.ranges;
the index in that list names `last_reserved_ip.<index>`. Requested addresses: CNI_ARGS `IP`,
then args.cni.ips, then runtimeConfig.ips (prefix lengths ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from libcni.lean import Record
from libcni.types.args import load_args
from libcni.types.errors import CNIError, ErrCode
from libcni.types.netconf import load as load_conf
from libcni.types.results import Route
from libcni.types.version import greater_or_equal

from .ranges import CIDR, IP, RangeError, RangeSet, RawRange, canonicalize_range_set, parse_ip

DEFAULT_DATA_DIR = "/var/lib/cni/networks"


def cidr_text(value: str) -> str:
    CIDR.parse(value)
    return value


def ip_text(value: str) -> str:
    """An optional IP: "" means unset (Go's net.IP decodes "" to nil)."""
    if value and parse_ip(value) is None:
        raise ValueError(f"invalid IP address: {value}")
    return value


def parse_ip_or_cidr(value: str) -> IP | None:
    """Go's ip.ParseIP: an address with or without a prefix length; the prefix is dropped."""
    if "/" in value:
        try:
            return CIDR.parse(value).ip
        except ValueError:
            return None
    return parse_ip(value)


def requested_text(value: str) -> str:
    if value and parse_ip_or_cidr(value) is None:
        raise ValueError(f"invalid IP address {value}")
    return value


class RangeRecord(Record):
    """One range as decoded (keys: models.RangeConf)."""

    subnet: str | None
    rangeStart: str
    rangeEnd: str
    gateway: str

    def raw(self) -> RawRange:
        return RawRange(
            subnet=CIDR.parse(self.subnet) if self.subnet is not None else None,
            range_start=parse_ip(self.rangeStart) if self.rangeStart else None,
            range_end=parse_ip(self.rangeEnd) if self.rangeEnd else None,
            gateway=parse_ip(self.gateway) if self.gateway else None,
        )


class IPAMRecord(RangeRecord):
    """The `ipam` object (keys: models.IPAMConf); its own subnet/rangeStart/rangeEnd/gateway are the
    legacy single range."""

    type: str
    routes: list[Route]
    dataDir: str
    resolvConf: str
    ranges: list[list[RangeRecord]]


@dataclass(frozen=True)
class Requested:
    address: IP
    source: str  # where it came from, for error details


@dataclass(frozen=True)
class IPAMConfig:
    name: str
    cni_version: str
    range_sets: tuple[RangeSet, ...]
    range_set_paths: tuple[str, ...]
    requested: tuple[Requested, ...]
    routes: tuple[Route, ...]
    data_dir: str
    resolv_conf: str
    conf: Any


def _invalid(msg: str, field: str) -> CNIError:
    return CNIError(ErrCode.INVALID_NETWORK_CONFIG, msg, field)


def _requested(conf: Any, cni_args: str) -> list[Requested]:
    texts: list[tuple[str, str]] = []
    if cni_args:
        value = load_args(cni_args, {"IP"}).get("IP", "")
        if value and parse_ip_or_cidr(value) is None:
            raise CNIError(
                ErrCode.INVALID_ENVIRONMENT_VARIABLES,
                f'ARGS: error parsing value of pair "IP={value}": invalid IP address {value}',
                "CNI_ARGS IP",
            )
        if value:
            texts.append((value, "CNI_ARGS IP"))
    if conf.args is not None and conf.args.cni is not None:
        texts += [(v, f"args.cni.ips[{i}]") for i, v in enumerate(conf.args.cni.ips)]
    texts += [(v, f"runtimeConfig.ips[{i}]") for i, v in enumerate(conf.runtimeConfig.ips)]
    out = []
    for text, source in texts:
        addr = parse_ip_or_cidr(text) if text else None
        if addr is None:
            raise _invalid(f"cannot understand ip: IP {text or '<nil>'} not v4 nor v6", source)
        out.append(Requested(addr, source))
    return out


def _range_sets(conf: Any) -> tuple[list[RangeSet], list[str]]:
    ipam = conf.ipam
    assert ipam is not None
    configured: list[tuple[list[RangeRecord], str]] = []
    configured += [(s, f"runtimeConfig.ipRanges[{i}]") for i, s in enumerate(conf.runtimeConfig.ipRanges)]
    if ipam.subnet is not None:
        configured.append(([ipam], "ipam"))
    configured += [(s, f"ipam.ranges[{i}]") for i, s in enumerate(ipam.ranges)]
    if not configured:
        raise _invalid("no IP ranges specified", "ipam.ranges")
    sets: list[RangeSet] = []
    for index, (confs, path) in enumerate(configured):
        try:
            sets.append(canonicalize_range_set(r.raw() for r in confs))
        except RangeError as err:
            where = err.where if path != "ipam" else err.where.removeprefix("[0]")
            raise _invalid(f"invalid range set {index}: {err}", path + where) from None
    return sets, [path for _, path in configured]


def _check_data_dir(data_dir: str) -> str:
    if "\0" in data_dir:
        raise _invalid('invalid "ipam.dataDir": contains a NUL byte', "ipam.dataDir")
    if ".." in data_dir.split("/"):
        raise _invalid(f'invalid "ipam.dataDir": must not contain ".." (got "{data_dir}")', "ipam.dataDir")
    return data_dir or DEFAULT_DATA_DIR


def load_ipam_config(config: dict, cni_args: str) -> IPAMConfig:
    """The validated configuration from the decoded stdin object and CNI_ARGS."""
    from .schema import HostLocalNetConf

    conf: Any = load_conf(HostLocalNetConf, config)
    if conf.ipam is None:
        raise _invalid("IPAM config missing 'ipam' key", "ipam")
    requested = _requested(conf, cni_args)
    sets, paths = _range_sets(conf)

    version = conf.cniVersion or "0.1.0"
    per_family = [sum(1 for s in sets if s.version == v) for v in (4, 6)]
    if max(per_family) > 1 and not greater_or_equal(version, "0.3.0"):
        raise _invalid(
            f"CNI version {conf.cniVersion} does not support more than 1 address per family", "cniVersion"
        )
    for i, first in enumerate(sets):
        for j in range(i + 1, len(sets)):
            if first.overlaps(sets[j]):
                raise _invalid(f"range set {i} overlaps with {j}", paths[j])

    return IPAMConfig(
        name=conf.name,
        cni_version=version,
        range_sets=tuple(sets),
        range_set_paths=tuple(paths),
        requested=tuple(requested),
        routes=tuple(conf.ipam.routes),
        data_dir=_check_data_dir(conf.ipam.dataDir),
        resolv_conf=conf.ipam.resolvConf,
        conf=conf,
    )
