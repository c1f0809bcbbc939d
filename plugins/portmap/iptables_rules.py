"""The iptables rules of portmap (table nat) and the iptables-restore batches that apply them (pure).

Names, comments and rule order are Go's, so either implementation can clean up after the other:

    PREROUTING, OUTPUT:  -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
    CNI-HOSTPORT-DNAT:   -m comment --comment 'dnat name: "net" id: "cid"' -m multiport -p tcp
                         --destination-ports 8080,8081 [conditions] -j CNI-DN-<hash>
    CNI-DN-<hash>:       -p tcp --dport 8080 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK   (snat: hairpin)
                         -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK     (snat, v4: localhost)
                         -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80
    CNI-HOSTPORT-SETMARK: -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
    POSTROUTING (first): -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
    CNI-HOSTPORT-MASQ:   -m mark --mark 0x2000/0x2000 -j MASQUERADE

Each change is one `iptables-restore --noflush` batch per family, built from a listing of only the
chains it touches (`iptables -S CHAIN`, never the whole table, which kube-proxy fills with tens of
thousands of rules): the container's chain is declared (which creates or flushes it) and refilled,
stale jumps to it are deleted by their saved text, and shared rules are appended only when missing.
"""

from __future__ import annotations

import ipaddress

from pkg.hashing import format_chain_name
from pkg.iptables import SavedTable
from pkg.quoting import restore_token, saved_words

from .config import ContainerNet, PortMapConfig

TOP_LEVEL_DNAT_CHAIN = "CNI-HOSTPORT-DNAT"
SET_MARK_CHAIN = "CNI-HOSTPORT-SETMARK"
MARK_MASQ_CHAIN = "CNI-HOSTPORT-MASQ"
OLD_TOP_LEVEL_SNAT_CHAIN = "CNI-HOSTPORT-SNAT"
MULTIPORT_MAX = 15
COMMENT_MAX = 255

Rule = list[str]


class Chain:
    """Go's chain: its own rules, and the rules in `entry_chains` that jump to it."""

    __slots__ = ("name", "entry_chains", "entry_rules", "rules", "prepend_entry")
    name: str
    entry_chains: list[str]
    entry_rules: list[Rule]
    rules: list[Rule]
    prepend_entry: bool

    def __init__(
        self,
        name: str,
        entry_chains: list[str] | None = None,
        entry_rules: list[Rule] | None = None,
        rules: list[Rule] | None = None,
        prepend_entry: bool = False,
    ) -> None:
        self.name = name
        self.entry_chains = [] if entry_chains is None else entry_chains
        self.entry_rules = [] if entry_rules is None else entry_rules
        self.rules = [] if rules is None else rules
        self.prepend_entry = prepend_entry

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"Chain({fields})"

    def entries(self) -> list[tuple[str, Rule]]:
        return [(chain, [*rule, "-j", self.name]) for chain in self.entry_chains for rule in self.entry_rules]


# ---------------------------------------------------------------------------------------------
# The chains, as Go generates them


def mark_spec(bit: int) -> str:
    value = 1 << bit
    return f"{value:#x}/{value:#x}"


def set_mark_chain(bit: int) -> Chain:
    return Chain(
        SET_MARK_CHAIN,
        rules=[
            [
                "-m",
                "comment",
                "--comment",
                "CNI portfwd masquerade mark",
                "-j",
                "MARK",
                "--set-xmark",
                mark_spec(bit),
            ]
        ],
    )


def mark_masq_chain(bit: int) -> Chain:
    # Prepended in POSTROUTING so the bridge/ptp ipMasq rules cannot stomp on it.
    return Chain(
        MARK_MASQ_CHAIN,
        entry_chains=["POSTROUTING"],
        entry_rules=[["-m", "comment", "--comment", "CNI portfwd requiring masquerade"]],
        rules=[["-m", "mark", "--mark", mark_spec(bit), "-j", "MASQUERADE"]],
        prepend_entry=True,
    )


def top_level_dnat_chain() -> Chain:
    return Chain(
        TOP_LEVEL_DNAT_CHAIN,
        entry_chains=["PREROUTING", "OUTPUT"],
        entry_rules=[["-m", "addrtype", "--dst-type", "LOCAL"]],
    )


def dnat_chain_name(network: str, container_id: str) -> str:
    return format_chain_name(network, container_id, "DN-")


def old_snat_chain_name(network: str, container_id: str) -> str:
    return format_chain_name(network, container_id, "SN-")


def trim_comment(text: str) -> str:
    return text if len(text) <= COMMENT_MAX else text[:253] + "..."


def dnat_comment(network: str, container_id: str) -> str:
    return trim_comment(f'dnat name: "{network}" id: "{container_id}"')


def split_ports(ports: list[int]) -> list[str]:
    """multiport takes at most 15 ports per rule."""
    return [
        ",".join(str(p) for p in ports[i : i + MULTIPORT_MAX]) for i in range(0, len(ports), MULTIPORT_MAX)
    ]


def format_ip_port(net: ContainerNet, port: int) -> str:
    return f"[{net.ip}]:{port}" if net.family == 6 else f"{net.ip}:{port}"


def dnat_chain(conf: PortMapConfig, container_id: str, net: ContainerNet) -> Chain:
    """The per-container chain with its entry rules (Go's genDnatChain + fillDnatRules)."""
    chain = Chain(dnat_chain_name(conf.name, container_id), entry_chains=[TOP_LEVEL_DNAT_CHAIN])
    comment = dnat_comment(conf.name, container_id)
    conditions = conf.conditions(net.family)

    # Entry rules: one per protocol (sorted) and group of 15 host ports, all mappings of the
    # protocol included (also those skipped below for their hostIP's family), as in Go.
    by_protocol: dict[str, list[int]] = {}
    for mapping in conf.mappings:
        by_protocol.setdefault(mapping.protocol, []).append(mapping.host_port)
    for protocol in sorted(by_protocol):
        for ports in split_ports(by_protocol[protocol]):
            rule = ["-m", "comment", "--comment", comment, "-m", "multiport", "-p", protocol]
            chain.entry_rules.append([*rule, "--destination-ports", ports, *conditions])

    set_mark = conf.external_set_mark_chain or SET_MARK_CHAIN
    any_source = "::/0" if net.family == 6 else "0.0.0.0/0"
    for mapping in conf.mappings_for(net.family):
        base = ["-p", mapping.protocol, "--dport", str(mapping.host_port)]
        if mapping.host_ip_match:
            base += ["-d", mapping.host_ip_match]
        if conf.snat:
            # Mark hairpin (and, for v4, localhost) traffic for masquerading before the DNAT.
            chain.rules.append([*base, "-s", any_source if conf.masq_all else net.address, "-j", set_mark])
            if net.family == 4 and not conf.masq_all:
                chain.rules.append([*base, "-s", "127.0.0.1", "-j", set_mark])
        chain.rules.append(
            [*base, "-j", "DNAT", "--to-destination", format_ip_port(net, mapping.container_port)]
        )
    return chain


def shared_chains(conf: PortMapConfig) -> list[Chain]:
    """The chains every container uses, in Go's setup order."""
    chains = []
    if conf.snat and conf.external_set_mark_chain is None:
        chains += [set_mark_chain(conf.mark_bit), mark_masq_chain(conf.mark_bit)]
    chains.append(top_level_dnat_chain())
    return chains


# ---------------------------------------------------------------------------------------------
# Reading the nat table (some of its chains, or all of it as `iptables-save -t nat` prints it)


class NatTable(SavedTable):
    """Chains of the nat table that were read (pkg.iptables.SavedTable), and whether a rule is there
    the way iptables-save would print it."""

    TABLE = "nat"

    def has_rule(self, chain: str, rule: Rule) -> bool:
        wanted = rule_signature(rule)
        return any(rule_signature(saved_tokens(saved)) == wanted for saved in self.chains.get(chain, []))


def jump_target(saved: str) -> str | None:
    """The chain (or target) a saved rule jumps or goes to (GC only: `re` is imported here)."""
    import re

    found = re.search(r"(?:^|\s)-[jg] (\S+)", saved)
    return found.group(1) if found else None


def saved_tokens(saved: str) -> Rule:
    """A saved rule's words (pkg.quoting.saved_words: shlex.split's, without importing re)."""
    return saved_words(saved)


_OPTION_ALIASES = {
    "--source": "-s",
    "--src": "-s",
    "--destination": "-d",
    "--dst": "-d",
    "--protocol": "-p",
    "--jump": "-j",
    "--goto": "-g",
    "--in-interface": "-i",
    "--out-interface": "-o",
    "--match": "-m",
    "--destination-port": "--dport",
    "--destination-ports": "--dports",
    "--source-port": "--sport",
    "--source-ports": "--sports",
}


def _canonical_value(option: str, value: str) -> str:
    if option not in ("-s", "-d"):
        return value
    try:
        return ",".join(str(ipaddress.ip_network(v, strict=False)) for v in value.split(","))
    except ValueError:
        return value


def rule_signature(tokens: Rule) -> frozenset[tuple[str, ...]]:
    """A rule as its set of (option, values...) groups, the way iptables-save would print it:
    options reordered, long names shortened, addresses as networks, `-m` module loads ignored
    (save adds implicit ones such as `-m tcp`)."""
    groups: list[tuple[str, ...]] = []
    negate = False
    for token in tokens:
        if token == "!":
            negate = True
        elif token.startswith("-") and not token.lstrip("-").isdigit() or not groups:
            option = _OPTION_ALIASES.get(token, token)
            groups.append(("!", option) if negate else (option,))
            negate = False
        else:
            option = groups[-1][-1] if len(groups[-1]) <= 2 else ""
            groups[-1] = (*groups[-1], _canonical_value(option, token))
    return frozenset(g for g in groups if g[0] not in ("-m", "--match"))


# ---------------------------------------------------------------------------------------------
# Batches


def rule_line(command: str, chain: str, rule: Rule, position: int | None = None) -> str:
    head = [command, chain] if position is None else [command, chain, str(position)]
    return " ".join([*head, *(restore_token(t) for t in rule)])


def batch(lines: list[str]) -> list[str]:
    return ["*nat", *lines, "COMMIT"]


def add_reads(conf: PortMapConfig) -> list[str]:
    """The chains an ADD reads: the shared ones and the chains with their entry rules (the container's
    own chain is only jumped to from CNI-HOSTPORT-DNAT, which is one of them)."""
    names: list[str] = []
    for chain in shared_chains(conf):
        for name in (chain.name, *chain.entry_chains):
            if name not in names:
                names.append(name)
    return names


def del_reads(network: str, container_id: str) -> list[str]:
    """The chains a DEL reads first: the container's chain with its entry chain, and its legacy SNAT
    chain (whose entry chain CNI-HOSTPORT-SNAT is read only when that one exists)."""
    return [
        dnat_chain_name(network, container_id),
        TOP_LEVEL_DNAT_CHAIN,
        old_snat_chain_name(network, container_id),
    ]


def missing_shared_chains(conf: PortMapConfig, table: NatTable) -> list[str]:
    """Shared chains to create before the batch (never declared in it: that would flush them)."""
    return [c.name for c in shared_chains(conf) if not table.has_chain(c.name)]


def shared_check_batch(conf: PortMapConfig) -> list[str]:
    """`-C` lines for every shared rule and entry rule: iptables-restore succeeds only when all are
    there (the usual case once a host has one container), which saves reading those chains."""
    lines: list[str] = []
    for chain in shared_chains(conf):
        lines += [rule_line("-C", chain.name, rule) for rule in chain.rules]
        lines += [rule_line("-C", entry_chain, rule) for entry_chain, rule in chain.entries()]
    return batch(lines)


def add_batch(
    conf: PortMapConfig, container_id: str, net: ContainerNet, table: NatTable, shared_present: bool = False
) -> list[str]:
    """Set up one family: shared rules appended if missing (`shared_present`: known to be all there),
    the container's chain rewritten whole."""
    lines: list[str] = []
    for chain in [] if shared_present else shared_chains(conf):
        for rule in chain.rules:
            if not table.has_rule(chain.name, rule):
                lines.append(rule_line("-A", chain.name, rule))
        for entry_chain, rule in chain.entries():
            if not table.has_rule(entry_chain, rule):
                command = "-I" if chain.prepend_entry else "-A"
                lines.append(
                    rule_line(command, entry_chain, rule, position=1 if chain.prepend_entry else None)
                )
    own = dnat_chain(conf, container_id, net)
    lines = [f":{own.name} - [0:0]", *lines]  # declared: created, or flushed if it exists
    lines += [rule_line("-A", own.name, rule) for rule in own.rules]
    # Jumps to the chain: keep those still wanted (in place, as Go does), replace the others.
    wanted = own.entries()
    for from_chain, saved in table.jumps_to(own.name):
        signature = rule_signature(saved_tokens(saved))
        match = next((w for w in wanted if w[0] == from_chain and rule_signature(w[1]) == signature), None)
        if match is None:
            lines.append(f"-D {from_chain} {saved}")
        else:
            wanted.remove(match)
    lines += [rule_line("-A", name, rule) for name, rule in wanted]
    return batch(lines)


def teardown_lines(table: NatTable, chain: str) -> list[str]:
    """Delete every jump to `chain`, then flush and delete it; nothing if it does not exist."""
    if not table.has_chain(chain):
        return []
    lines = [f"-D {source} {saved}" for source, saved in table.jumps_to(chain)]
    return [*lines, f"-F {chain}", f"-X {chain}"]


def del_batch(network: str, container_id: str, table: NatTable) -> list[str] | None:
    """Remove the container's chain (and a legacy CNI-SN chain); None when there is nothing to do."""
    lines = teardown_lines(table, dnat_chain_name(network, container_id))
    lines += teardown_lines(table, old_snat_chain_name(network, container_id))
    return batch(lines) if lines else None


def check_batch(
    conf: PortMapConfig, container_id: str, net: ContainerNet
) -> tuple[list[str], list[tuple[str, Rule]]]:
    """`-C` lines for every rule of the container (iptables-restore fails at the first missing one),
    and the (chain, rule) each line checks, for the error message."""
    own = dnat_chain(conf, container_id, net)
    checks = [(own.name, rule) for rule in own.rules] + own.entries()
    return batch([rule_line("-C", chain, rule) for chain, rule in checks]), checks


def stale_dnat_chains(network: str, valid_ids: set[str], table: NatTable) -> list[str]:
    """GC: this network's CNI-DN chains (named by their entry rule's comment) of containers that
    are not in the valid attachments. Chain names are compared, so trimmed comments still work."""
    import re  # GC only

    comment_pattern = re.compile(r'--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))')
    keep = {dnat_chain_name(network, cid) for cid in valid_ids}
    prefix = f'dnat name: "{network}" id: "'
    stale: list[str] = []
    for saved in table.chains.get(TOP_LEVEL_DNAT_CHAIN, []):
        target = re.search(r"(?:^|\s)-j (CNI-DN-\S+)", saved)
        comment = comment_pattern.search(saved)
        if not target or not comment:
            continue
        text = comment.group(1).replace('\\"', '"') if comment.group(1) is not None else comment.group(2)
        name = target.group(1)
        if text.startswith(prefix) and name not in keep and name not in stale and table.has_chain(name):
            stale.append(name)
    return stale


def gc_batch(network: str, valid_ids: set[str], table: NatTable) -> list[str] | None:
    lines: list[str] = []
    for chain in stale_dnat_chains(network, valid_ids, table):
        lines += teardown_lines(table, chain)
    return batch(lines) if lines else None
