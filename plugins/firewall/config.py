"""firewall configuration: decoding (one `load`), defaults and validation, pydantic-free.

Go checks ingressPolicy and the bridge interface only after it has added the address rules (and
leaves them in place when it then fails); here every check runs before anything is touched, with
Go's messages. The admin chain name is checked too (Go leaves that to iptables).
"""

from __future__ import annotations

from collections import namedtuple

from libcni.types.errors import CNIError, ErrCode

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - `typing` costs ~3 ms of a cold call
    from libcni.skel import CmdArgs
    from libcni.types.results import Result

LOAD_PREFIX = "failed to load netconf: "
IPTABLES = "iptables"
FIREWALLD = "firewalld"
DEFAULT_ZONE = "trusted"
DEFAULT_ADMIN_CHAIN = "CNI-ADMIN"
OPEN = "open"
SAME_BRIDGE = "same-bridge"
ISOLATED = "isolated"
POLICIES = ("", OPEN, SAME_BRIDGE, ISOLATED)
MAX_CHAIN_NAME = 28  # XT_EXTENSION_MAXNAMELEN - 1


class Address(namedtuple("Address", "family host")):
    """family: 4 or 6; host: "10.88.0.5/32", "fd00::5/128" (Go's ipString)."""

    __slots__ = ()
    family: int
    host: str


class FirewallConfig(
    namedtuple(
        "FirewallConfig",
        "name cni_version backend admin_chain zone ingress_policy prev_result addresses bridge",
    )
):
    """backend: as given ("iptables", "firewalld", anything else means auto); ingress_policy: ""
    counts as open; addresses: one per prevResult IP, in order (duplicates kept, as in Go);
    bridge: prevResult.interfaces[0].name, "" when absent."""

    __slots__ = ()
    name: str
    cni_version: str
    backend: str
    admin_chain: str
    zone: str
    ingress_policy: str
    prev_result: Result | None
    addresses: tuple[Address, ...]
    bridge: str

    @property
    def isolating(self) -> bool:
        return self.ingress_policy in (SAME_BRIDGE, ISOLATED)

    @property
    def families(self) -> tuple[int, ...]:
        """The families of the prevResult addresses (Go's findProtos, without repeats)."""
        return tuple(f for f in (4, 6) if any(a.family == f for a in self.addresses))

    def hosts(self, family: int) -> list[str]:
        return [a.host for a in self.addresses if a.family == family]


def address_of(cidr: str) -> Address:
    """Go's ipString: the bare address as a /32 or /128 (an IPv4-mapped IPv6 address is IPv4)."""
    ip = cidr.split("/", 1)[0]
    if ":" not in ip:
        return Address(4, ip + "/32")
    low = ip.lower()
    if low.startswith("::ffff:"):  # rare: only then parse (results print it as ::ffff:a01:203)
        import ipaddress

        try:
            mapped = ipaddress.IPv6Address(low).ipv4_mapped
        except ValueError:
            mapped = None
        if mapped is not None:
            return Address(4, f"{mapped}/32")
    return Address(6, low + "/128")


def policy_error(policy: str) -> CNIError:
    return CNIError(
        ErrCode.INTERNAL,
        f"unknown ingress policy: {_go_quote(policy)}",
        'field ingressPolicy: must be "open", "same-bridge" or "isolated"',
    )


def _go_quote(text: str) -> str:
    from libcni.gojson import quote

    return quote(text)


def check_admin_chain(name: str) -> None:
    bad = (
        len(name) > MAX_CHAIN_NAME
        or any(c.isspace() for c in name)
        or name.startswith(("-", "!"))
        or not name.isprintable()
    )
    if bad:
        raise CNIError(
            ErrCode.INVALID_NETWORK_CONFIG,
            f"invalid iptablesAdminChainName {_go_quote(name)}",
            f"field iptablesAdminChainName: at most {MAX_CHAIN_NAME} printable characters, no spaces, "
            "not starting with '-' or '!'",
        )


def decode(config: dict) -> FirewallConfig:
    """Decode the stdin object (as skel decoded it) with the tables generated from models.py."""
    from libcni.types.netconf import load as load_conf

    from .schema import FirewallNetConf

    conf = load_conf(FirewallNetConf, config, prefix=LOAD_PREFIX)
    prev = None
    if conf.prevResult is not None:
        try:
            prev = conf.prev_result()
        except CNIError as err:
            raise CNIError(err.code, f"could not parse prevResult: {err.msg}", err.details) from None
    addresses = tuple(address_of(ip.address) for ip in prev.ips) if prev is not None else ()
    bridge = prev.interfaces[0].name if prev is not None and prev.interfaces else ""
    return FirewallConfig(
        name=conf.name,
        cni_version=conf.cniVersion,
        backend=conf.backend,
        admin_chain=conf.iptablesAdminChainName or DEFAULT_ADMIN_CHAIN,
        zone=conf.firewalldZone or DEFAULT_ZONE,
        ingress_policy=conf.ingressPolicy,
        prev_result=prev,
        addresses=addresses,
        bridge=bridge,
    )


def load(args: CmdArgs, *, need_prev: bool = False, check_policy: bool = True) -> FirewallConfig:
    """Decode and validate. ADD and CHECK need prevResult (`need_prev`); DEL works without it and
    checks the policy itself, after the removal (`check_policy=False`), as Go does."""
    conf = decode(args.conf)
    if need_prev and conf.prev_result is None:
        raise CNIError(ErrCode.INTERNAL, "missing prevResult from earlier plugin")
    if check_policy and conf.ingress_policy not in POLICIES:
        raise policy_error(conf.ingress_policy)
    check_admin_chain(conf.admin_chain)
    return conf


def check_bridge(conf: FirewallConfig) -> None:
    """same-bridge / isolated need the bridge: the first interface of prevResult (Go's checks)."""
    if conf.prev_result is None or not conf.prev_result.interfaces:
        raise CNIError(
            ErrCode.INTERNAL,
            f"interface needs to be set for ingress policy {_go_quote(conf.ingress_policy)}, "
            'make sure to chain "firewall" plugin with "bridge"',
        )
    if not conf.bridge:
        raise CNIError(ErrCode.INTERNAL, "got empty bridge name")
