"""portmap configuration: decoding, validation, backend choice and container addresses (pure).

Messages for the checks Go also makes are worded as Go words them; the extra checks (port above
65535, unknown protocol, bad hostIP, conflicting mappings) name the mapping in `details`.
"""

from __future__ import annotations

import ipaddress

from libcni.frozen import Frozen
from libcni.types.errors import CNIError, ErrCode
from libcni.types.netconf import load as load_conf
from libcni.types.results import Result

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

IPTABLES = "iptables"
NFTABLES = "nftables"
DEFAULT_MARK_BIT = 13
PROTOCOLS = ("tcp", "udp", "sctp")


class Mapping(Frozen):
    """One validated port mapping; `host_ip` is '' or a canonical address. Immutable and hashable."""

    __slots__ = ("host_port", "container_port", "protocol", "host_ip")
    host_port: int
    container_port: int
    protocol: str
    host_ip: str

    def __init__(self, host_port: int, container_port: int, protocol: str, host_ip: str = "") -> None:
        super().__init__(host_port, container_port, protocol, host_ip)

    @property
    def host_family(self) -> int | None:
        if not self.host_ip:
            return None
        try:
            return ipaddress.ip_address(self.host_ip).version
        except ValueError:  # only DEL keeps unparsable text; Go takes it for IPv6 (To4 is nil)
            return 6

    def applies_to(self, family: int) -> bool:
        """A hostIP of the other family skips the mapping for this family (as in Go)."""
        return self.host_family in (None, family)

    @property
    def host_ip_match(self) -> str:
        """The destination to match: '' for none or an unspecified address (0.0.0.0 / ::)."""
        if not self.host_ip or self.host_ip in ("0.0.0.0", "::"):
            return ""
        return self.host_ip


class ContainerNet(Frozen):
    """A container address with the prefix of its subnet as prevResult gave it (10.0.0.2/24)."""

    __slots__ = ("address",)
    address: str

    def __init__(self, address: str) -> None:
        super().__init__(address)

    @property
    def interface(self) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
        return ipaddress.ip_interface(self.address)

    @property
    def ip(self) -> str:
        return str(self.interface.ip)

    @property
    def family(self) -> int:
        return self.interface.version


_UNSET = object()


class PortMapConfig:
    """Everything the verbs need, decided once (no __slots__: callers may note more on it)."""

    FIELDS = (
        "name",
        "backend",
        "snat",
        "masq_all",
        "mark_bit",
        "external_set_mark_chain",
        "conditions_v4",
        "conditions_v6",
        "mappings",
        "prev_result",
        "container_nets",
        "ifname",
        "valid_container_ids",
    )
    name: str
    backend: str
    snat: bool
    masq_all: bool
    mark_bit: int
    external_set_mark_chain: str | None
    conditions_v4: list[str]
    conditions_v6: list[str]
    mappings: list[Mapping]
    prev_result: Result | None
    container_nets: list[ContainerNet]
    ifname: str

    def __init__(
        self,
        name: str,
        backend: str,
        snat: bool,
        masq_all: bool,
        mark_bit: int,
        external_set_mark_chain: str | None,
        conditions_v4: list[str],
        conditions_v6: list[str],
        mappings: list[Mapping],
        prev_result: Result | None,
        container_nets: list[ContainerNet] | None = None,
        ifname: str = "",
        valid_container_ids: set[str] | None = None,
        attachments_of: Any = None,
    ) -> None:
        """`attachments_of`: a decoded config whose cni.dev/valid-attachments give
        `valid_container_ids` when first asked (only GC asks; libcni.gc is not imported before)."""
        self.name = name
        self.backend = backend
        self.snat = snat
        self.masq_all = masq_all
        self.mark_bit = mark_bit
        self.external_set_mark_chain = external_set_mark_chain
        self.conditions_v4 = conditions_v4
        self.conditions_v6 = conditions_v6
        self.mappings = mappings
        self.prev_result = prev_result
        self.container_nets = [] if container_nets is None else container_nets
        self.ifname = ifname
        self._valid_ids: set[str] | None | object = (
            _UNSET if attachments_of is not None else valid_container_ids
        )
        self._attachments_of = attachments_of

    @property
    def valid_container_ids(self) -> set[str] | None:
        """None: no cni.dev/valid-attachments, GC removes nothing."""
        if self._valid_ids is _UNSET:
            self._valid_ids = _valid_container_ids(self._attachments_of)
        return self._valid_ids  # type: ignore[return-value]

    @valid_container_ids.setter
    def valid_container_ids(self, value: set[str] | None) -> None:
        self._valid_ids = value

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.FIELDS)
        return f"PortMapConfig({fields})"

    def conditions(self, family: int) -> list[str]:
        return self.conditions_v6 if family == 6 else self.conditions_v4

    def mappings_for(self, family: int) -> list[Mapping]:
        return [m for m in self.mappings if m.applies_to(family)]


def config_error(message: str, details: str = "") -> CNIError:
    return CNIError(ErrCode.INVALID_NETWORK_CONFIG, message, details)


def with_prefix(err: CNIError, prefix: str) -> CNIError:
    return CNIError(err.code, prefix + err.msg, err.details)


def detect_backend_of_conditions(conditions: list[str] | None) -> str:
    """iptables conditions start with '-' or '!' (e.g. "-d", "!"); anything else is nft syntax."""
    if not conditions or conditions[0] == "":
        return ""
    return IPTABLES if conditions[0][0] in "-!" else NFTABLES


def backend_specific_options(conf: Any) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    if conf.externalSetMarkChain is not None:
        options.setdefault(IPTABLES, []).append("externalSetMarkChain")
    for key, conditions in (("conditionsV4", conf.conditionsV4), ("conditionsV6", conf.conditionsV6)):
        backend = detect_backend_of_conditions(conditions)
        if backend:
            options.setdefault(backend, []).append(key)
    return options


def choose_backend(
    conf: Any, iptables_usable: Callable[[], bool], nftables_usable: Callable[[], bool]
) -> str:
    """Go's ensureBackend: explicit `backend`, else iptables unless only nftables works."""
    backend = conf.backend
    if backend is None:
        backend = NFTABLES if not iptables_usable() and nftables_usable() else IPTABLES
    if backend not in (IPTABLES, NFTABLES):
        raise config_error(f'unrecognized backend "{backend}"')
    wrong = NFTABLES if backend == IPTABLES else IPTABLES
    offending = backend_specific_options(conf).get(wrong)
    if offending:
        raise config_error(
            f"{backend} backend was requested but configuration contains {wrong}-specific options "
            f"[{' '.join(offending)}]"
        )
    return backend


def describe_entry(index: int, entry: Any) -> str:
    import json  # only for an error's details

    text = json.dumps(entry.field_values(), separators=(",", ":"))
    return f"runtimeConfig.portMappings[{index}]: {text}"


def validate_mappings(entries: list[Any], strict: bool) -> list[Mapping]:
    """Go's port checks always; with `strict` (ADD, CHECK) also range, protocol, hostIP, conflicts."""
    mappings: list[Mapping] = []
    for index, entry in enumerate(entries):
        for port, what in ((entry.containerPort, "container"), (entry.hostPort, "host")):
            if port <= 0 or (strict and port > 65535):
                raise config_error(f"Invalid {what} port number: {port}", describe_entry(index, entry))
        protocol = entry.protocol.lower()
        if strict and protocol not in PROTOCOLS:
            raise config_error(
                f'Invalid protocol "{entry.protocol}" in port mapping (want tcp, udp or sctp)',
                describe_entry(index, entry),
            )
        host_ip = entry.hostIP
        if host_ip:
            try:
                host_ip = str(ipaddress.ip_address(host_ip))
            except ValueError:
                if strict:
                    raise config_error(
                        f'Invalid hostIP "{entry.hostIP}" in port mapping', describe_entry(index, entry)
                    ) from None
        mappings.append(Mapping(entry.hostPort, entry.containerPort, protocol or entry.protocol, host_ip))
    if strict:
        check_conflicts(mappings, entries)
    return mappings


def check_conflicts(mappings: list[Mapping], entries: list[Any]) -> None:
    """The same protocol, host port and host address may not lead to two different container ports."""
    seen: dict[tuple[int, str, int, str], int] = {}
    for index, mapping in enumerate(mappings):
        for family in (4, 6):
            if not mapping.applies_to(family):
                continue
            key = (family, mapping.protocol, mapping.host_port, mapping.host_ip_match)
            first = seen.setdefault(key, index)
            if first != index and mappings[first].container_port != mapping.container_port:
                raise config_error(
                    f"Conflicting port mappings: {mapping.protocol} host port {mapping.host_port} "
                    f"is mapped to container ports {mappings[first].container_port} and "
                    f"{mapping.container_port}",
                    f"{describe_entry(first, entries[first])}; {describe_entry(index, entries[index])}",
                )


def container_nets(result: Result, ifname: str) -> list[ContainerNet]:
    """Go's pick: the first IPv4 and first IPv6 not on a known non-sandbox or other interface."""
    found: dict[int, ContainerNet] = {}
    for ip in result.ips:
        net = ContainerNet(ip.address)
        if net.family in found:
            continue
        index = ip.interface
        if index is not None and 0 <= index < len(result.interfaces):
            iface = result.interfaces[index]
            if iface.name != ifname or not iface.sandbox:
                continue
        found[net.family] = net
    return [found[family] for family in (4, 6) if family in found]


def _valid_container_ids(conf) -> set[str] | None:
    from libcni.gc import valid_attachments

    valid = valid_attachments(conf)
    return None if valid is None else set(valid.container_ids)


def parse_config(
    config: dict,
    ifname: str,
    *,
    iptables_usable: Callable[[], bool],
    nftables_usable: Callable[[], bool],
    strict: bool = True,
    need_backend: bool = False,
) -> PortMapConfig:
    """Decode and validate (Go's parseConfig; messages unprefixed). The backend is probed only
    when a decision depends on it, so a call without mappings runs no firewall tool."""
    from .schema import PortMapConf

    conf: Any = load_conf(PortMapConf, config, prefix="failed to parse network configuration: ")
    try:
        prev = conf.prev_result()
    except CNIError as err:
        raise with_prefix(err, "could not parse prevResult: ") from None
    if conf.markMasqBit is not None and conf.externalSetMarkChain is not None:
        raise config_error("Cannot specify externalSetMarkChain and markMasqBit")
    mark_bit = DEFAULT_MARK_BIT if conf.markMasqBit is None else conf.markMasqBit
    if not 0 <= mark_bit <= 31:
        raise config_error("MasqMarkBit must be between 0 and 31")
    entries = conf.runtimeConfig.portMappings
    if need_backend or entries or conf.backend is not None or backend_specific_options(conf):
        backend = choose_backend(conf, iptables_usable, nftables_usable)
    else:
        backend = IPTABLES  # unused: nothing to do without mappings
    parsed = PortMapConfig(
        name=conf.name,
        backend=backend,
        snat=True if conf.snat is None else conf.snat,
        masq_all=conf.masqAll,
        mark_bit=mark_bit,
        external_set_mark_chain=conf.externalSetMarkChain,
        conditions_v4=list(conf.conditionsV4 or []),
        conditions_v6=list(conf.conditionsV6 or []),
        mappings=validate_mappings(entries, strict),
        prev_result=prev,
        ifname=ifname,
        attachments_of=conf,
    )
    if prev is not None:
        parsed.container_nets = container_nets(prev, ifname)
    return parsed
