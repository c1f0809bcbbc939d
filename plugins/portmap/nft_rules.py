"""The nftables rules of portmap and the `nft -f -` batches that apply them (pure).

Tables `ip cni_hostport` and `ip6 cni_hostport`, laid out as Go's knftables backend does:

    prerouting (nat, dstnat) / output (nat, dstnat): [conditions] fib daddr type local jump hostports_all
    hostports_all:  jump hostip_hostports; jump hostports      (hostip_hostports: legacy, kept empty)
    hostports:      [ip daddr H] tcp dport 8080 dnat to 10.0.0.2:80 comment "<containerID>"
    masquerading (nat, srcnat): ip saddr 10.0.0.2 ip daddr 10.0.0.2 masquerade comment "<containerID>"
                                ip saddr 127.0.0.1 ip daddr 10.0.0.2 masquerade comment "<containerID>"

A container's rules are the ones whose comment is its ID (any network), which is how Go finds
them too. Unlike Go, an ADD first deletes the container's existing rules in the same
transaction, so a repeated ADD does not duplicate them (unless another network's ADD made rules
for the same container: see pkg/owners.py).
"""

from __future__ import annotations

from libcni.frozen import Frozen
from pkg.nft import quote

from .config import ContainerNet, PortMapConfig

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    from typing import Any

TABLE = "cni_hostport"
TABLE_COMMENT = "CNI portmap plugin"
HOSTPORTS = "hostports"
HOSTIP_HOSTPORTS = "hostip_hostports"
HOSTPORTS_ALL = "hostports_all"
MASQUERADING = "masquerading"
CONTAINER_CHAINS = (HOSTPORTS, HOSTIP_HOSTPORTS, MASQUERADING)
DSTNAT_PRIORITY = -100
SRCNAT_PRIORITY = 100


def family_name(family: int) -> str:
    return "ip6" if family == 6 else "ip"


class ListedRule(Frozen):
    """A rule of the table as `nft -j list table` shows it (immutable, hashable)."""

    __slots__ = ("family", "chain", "handle", "comment")
    family: int
    chain: str
    handle: int
    comment: str | None

    def __init__(self, family: int, chain: str, handle: int, comment: str | None) -> None:
        super().__init__(family, chain, handle, comment)


def parse_listing(family: int, items: list[dict[str, Any]] | None) -> list[ListedRule]:
    rules = []
    for item in items or []:
        rule = item.get("rule")
        if isinstance(rule, dict) and "handle" in rule:
            rules.append(ListedRule(family, rule.get("chain", ""), int(rule["handle"]), rule.get("comment")))
    return rules


def _prefix(family: int) -> str:
    return f"{family_name(family)} {TABLE}"


def skeleton(family: int, conditions: list[str], snat: bool) -> list[str]:
    """Tables and chains (created if missing) and the fixed rules (rewritten every time)."""
    t = _prefix(family)
    entry = " ".join([*conditions, "fib daddr type local jump", HOSTPORTS_ALL])
    lines = [
        f"add table {family_name(family)} {TABLE} {{ comment {quote(TABLE_COMMENT)} ; }}",
        f"add chain {t} {HOSTPORTS}",
        f"add chain {t} {HOSTIP_HOSTPORTS}",
        f"add chain {t} {HOSTPORTS_ALL}",
        f"flush chain {t} {HOSTPORTS_ALL}",
        f"add rule {t} {HOSTPORTS_ALL} jump {HOSTIP_HOSTPORTS}",
        f"add rule {t} {HOSTPORTS_ALL} jump {HOSTPORTS}",
    ]
    for chain in ("prerouting", "output"):
        lines += [
            f"add chain {t} {chain} {{ type nat hook {chain} priority {DSTNAT_PRIORITY} ; }}",
            f"flush chain {t} {chain}",
            f"add rule {t} {chain} {entry}",
        ]
    if snat:
        lines.append(
            f"add chain {t} {MASQUERADING} {{ type nat hook postrouting priority {SRCNAT_PRIORITY} ; }}"
        )
    return lines


def dnat_target(net: ContainerNet, port: int) -> str:
    return f"[{net.ip}]:{port}" if net.family == 6 else f"{net.ip}:{port}"


def container_rules(conf: PortMapConfig, container_id: str, net: ContainerNet) -> list[str]:
    t = _prefix(net.family)
    ipx = family_name(net.family)
    comment = f"comment {quote(container_id)}"
    lines = []
    for mapping in conf.mappings_for(net.family):
        match = f"{ipx} daddr {mapping.host_ip_match} " if mapping.host_ip_match else ""
        lines.append(
            f"add rule {t} {HOSTPORTS} {match}{mapping.protocol} dport {mapping.host_port} "
            f"dnat to {dnat_target(net, mapping.container_port)} {comment}"
        )
    if conf.snat:
        # Hairpin (and, for v4, localhost) traffic must be masqueraded to find its way back.
        source = ("::/0" if net.family == 6 else "0.0.0.0/0") if conf.masq_all else net.ip
        lines.append(
            f"add rule {t} {MASQUERADING} {ipx} saddr {source} {ipx} daddr {net.ip} masquerade {comment}"
        )
        if net.family == 4 and not conf.masq_all:
            lines.append(
                f"add rule {t} {MASQUERADING} ip saddr 127.0.0.1 ip daddr {net.ip} masquerade {comment}"
            )
    return lines


def delete_lines(rules: list[ListedRule]) -> list[str]:
    return [f"delete rule {_prefix(r.family)} {r.chain} handle {r.handle}" for r in rules]


def owned_by(rules: list[ListedRule], container_id: str) -> list[ListedRule]:
    return [r for r in rules if r.chain in CONTAINER_CHAINS and r.comment == container_id]


def add_script(
    conf: PortMapConfig,
    container_id: str,
    nets: list[ContainerNet],
    existing: list[ListedRule],
    replace: bool = True,
) -> str:
    """One transaction for all families: skeleton, the container's old rules out (unless `replace`
    is off: another network's rules share the comment), new rules in."""
    lines: list[str] = []
    for net in nets:
        lines += skeleton(net.family, conf.conditions(net.family), conf.snat)
    if replace:
        lines += delete_lines(owned_by(existing, container_id))
    for net in nets:
        lines += container_rules(conf, container_id, net)
    return "\n".join(lines) + "\n"


def del_script(container_id: str, existing: list[ListedRule]) -> str | None:
    lines = delete_lines(owned_by(existing, container_id))
    return "\n".join(lines) + "\n" if lines else None


def gc_script(stale_ids: set[str], existing: list[ListedRule]) -> str | None:
    """The rules of the given containers (the caller decides which ones this network may remove)."""
    stale = [r for r in existing if r.chain in CONTAINER_CHAINS and r.comment in stale_ids]
    lines = delete_lines(stale)
    return "\n".join(lines) + "\n" if lines else None


def expected_counts(conf: PortMapConfig, net: ContainerNet) -> dict[str, int]:
    """Go's checkPorts: how many rules with the container's comment each chain must hold."""
    counts = {HOSTPORTS: len(conf.mappings_for(net.family))}
    if conf.snat:
        counts[MASQUERADING] = 2 if net.family == 4 and not conf.masq_all else 1
    return {chain: n for chain, n in counts.items() if n > 0}


def check_errors(
    conf: PortMapConfig, container_id: str, net: ContainerNet, existing: list[ListedRule]
) -> str | None:
    for chain, wanted in expected_counts(conf, net).items():
        found = sum(
            1 for r in existing if r.family == net.family and r.chain == chain and r.comment == container_id
        )
        if found < wanted:
            return f'missing hostport rules in "{chain}" chain'
    return None
