"""The iptables rules of the firewall plugin and the batches that apply them (pure).

Rules are token lists in iptables-save's canonical order, so a saved table can be compared token by
token. The chains, rules and comments are Go's (plugins/meta/firewall iptables.go and
ingresspolicy.go), so each implementation's DEL finds what the other's ADD made. Only our chains
and FORWARD are ever read (`iptables -S CHAIN`) or probed (`-C` lines), never the whole table. A
batch never declares a chain that exists (a declaration would flush it): a missing chain is
created with `-N` inside the batch, which fails (and is retried on a fresh reading) if a concurrent
call created it in between.
"""

from __future__ import annotations

from pkg.iptables import SavedTable
from pkg.quoting import saved_words

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

Rule = tuple[str, ...]

FORWARD = "FORWARD"
PRIV_CHAIN = "CNI-FORWARD"
STAGE1 = "CNI-ISOLATION-STAGE-1"
STAGE2 = "CNI-ISOLATION-STAGE-2"

RULES_COMMENT = "CNI firewall plugin rules"
ADMIN_COMMENT = "CNI firewall plugin admin overrides"
DEFAULT_POLICY_COMMENT = "CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)"


def comment(text: str) -> Rule:
    return ("-m", "comment", "--comment", text)


def priv_rule() -> Rule:
    """FORWARD -> CNI-FORWARD (Go's generateFilterRule)."""
    return (*comment(RULES_COMMENT), "-j", PRIV_CHAIN)


def admin_rule(admin_chain: str) -> Rule:
    """CNI-FORWARD -> the admin chain, first (Go's generateAdminRule)."""
    return (*comment(ADMIN_COMMENT), "-j", admin_chain)


def address_rules(host: str) -> list[Rule]:
    """Replies to and traffic from one container address (Go's getPrivChainRules)."""
    return [
        ("-d", host, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"),
        ("-s", host, "-j", "ACCEPT"),
    ]


def policy_comment(policy: str) -> Rule:
    return comment(f"CNI firewall plugin rules (ingressPolicy: {policy})")


def isolation_rules(bridge: str, isolated: bool) -> dict[str, Rule]:
    """Go's setupIsolationChains rules, by role."""
    policy = policy_comment("isolated" if isolated else "same-bridge")
    default = comment(DEFAULT_POLICY_COMMENT)
    return {
        "jump": (*default, "-j", STAGE1),
        "stage1": ("-i", bridge, "!", "-o", bridge, *policy, "-j", STAGE2),
        "stage1_drop": ("-i", bridge, "-o", bridge, *policy, "-j", "DROP"),
        "return": (*default, "-j", "RETURN"),
        "stage2": ("-o", bridge, *default, "-j", "DROP"),
    }


def go_text(rule: Sequence[str]) -> str:
    """A rule as Go's %v prints a []string (for CHECK's messages)."""
    return "[" + " ".join(rule) + "]"


# What iptables-restore reads unquoted: was the regex [A-Za-z0-9_./:,+@%=-]+ (fullmatch), written
# as a character set because `re` costs ~6 ms of a cold call (tests/unit/test_plugin_text_checks.py).
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:,+@%=-")


def is_plain(token: str) -> bool:
    return bool(token) and all(c in _PLAIN for c in token)


def quote(token: str) -> str:
    """A token as iptables-restore reads it (double quotes, backslash escapes, as iptables-save)."""
    if token == "!" or is_plain(token):
        return token
    return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'


def line(op: str, chain: str, rule: Sequence[str], position: int | None = None) -> str:
    where = [chain] if position is None else [chain, str(position)]
    return " ".join(quote(t) for t in (op, *where, *rule))


class FilterTable(SavedTable):
    """Chains of the filter table that were read (pkg.iptables.SavedTable), rules compared as
    token tuples."""

    TABLE = "filter"

    def count(self, chain: str, rule: Rule) -> int:
        wanted = tuple(rule)
        return sum(1 for text in self.chains.get(chain, []) if tuple(saved_words(text)) == wanted)

    def has(self, chain: str, rule: Rule) -> bool:
        return self.count(chain, rule) > 0


class _Batch:
    """Commands against a snapshot, tracking what the batch itself adds so each is done once."""

    def __init__(self, table: FilterTable) -> None:
        self.table = table
        self.lines: list[str] = []
        self.new_chains: set[str] = set()
        self.added: set[tuple[str, Rule]] = set()

    def ensure_chain(self, chain: str) -> None:
        if not self.table.has_chain(chain) and chain not in self.new_chains:
            self.new_chains.add(chain)
            self.lines.append(line("-N", chain, ()))

    def _missing(self, chain: str, rule: Rule) -> bool:
        return not self.table.has(chain, rule) and (chain, rule) not in self.added

    def insert_unique(self, chain: str, rule: Rule) -> None:
        if self._missing(chain, rule):
            self.added.add((chain, rule))
            self.lines.append(line("-I", chain, rule, 1))

    def append_unique(self, chain: str, rule: Rule) -> None:
        if self._missing(chain, rule):
            self.added.add((chain, rule))
            self.lines.append(line("-A", chain, rule))

    def script(self) -> list[str] | None:
        return ["*filter", *self.lines, "COMMIT"] if self.lines else None


def shared_rules(
    admin_chain: str, addresses: bool, bridge: str | None, isolated: bool
) -> list[tuple[str, Rule]]:
    """The rules other containers share with this one (jumps, admin jump, isolation rules)."""
    out: list[tuple[str, Rule]] = []
    if addresses:
        out += [(FORWARD, priv_rule()), (PRIV_CHAIN, admin_rule(admin_chain))]
    if bridge:
        rules = isolation_rules(bridge, isolated)
        out += [(FORWARD, rules["jump"]), (STAGE1, rules["stage1"])]
        if isolated:
            out.append((STAGE1, rules["stage1_drop"]))
        out += [(STAGE1, rules["return"]), (STAGE2, rules["stage2"]), (STAGE2, rules["return"])]
    return out


def chains_read(admin_chain: str, addresses: bool, bridge: str | None) -> list[str]:
    """The chains ADD reads when a shared rule is missing."""
    names = [FORWARD]
    if addresses:
        names += [PRIV_CHAIN, admin_chain]
    if bridge:
        names += [STAGE1, STAGE2]
    return names


def check_batch(pairs: Iterable[tuple[str, Rule]]) -> list[str]:
    """`-C` lines: iptables-restore fails at the first rule that is not there (and names the line)."""
    return ["*filter", *(line("-C", chain, rule) for chain, rule in pairs), "COMMIT"]


def add_batch(
    table: FilterTable,
    hosts: Iterable[str],
    admin_chain: str,
    bridge: str | None = None,
    isolated: bool = False,
    shared_present: bool = False,
) -> list[str] | None:
    """ADD for one family (Go's setupChains + AppendUnique of each address rule, then
    setupIsolationChains when `bridge` is given); None when the table already has it all.
    `shared_present`: a probe found every shared rule, and `table` holds only CNI-FORWARD."""
    batch = _Batch(table)
    hosts = list(hosts)
    if hosts:
        if not shared_present:
            batch.ensure_chain(PRIV_CHAIN)
            batch.ensure_chain(admin_chain)
            batch.insert_unique(FORWARD, priv_rule())
            batch.insert_unique(PRIV_CHAIN, admin_rule(admin_chain))
        for host in hosts:
            for rule in address_rules(host):
                batch.append_unique(PRIV_CHAIN, rule)
    if bridge and not shared_present:
        rules = isolation_rules(bridge, isolated)
        batch.ensure_chain(STAGE1)
        batch.ensure_chain(STAGE2)
        batch.insert_unique(FORWARD, rules["jump"])  # before the jump to CNI-FORWARD
        batch.insert_unique(STAGE1, rules["stage1"])
        if isolated:
            batch.insert_unique(STAGE1, rules["stage1_drop"])
        batch.append_unique(STAGE1, rules["return"])
        batch.insert_unique(STAGE2, rules["stage2"])
        batch.append_unique(STAGE2, rules["return"])
    return batch.script()


def del_batch(table: FilterTable, hosts: Iterable[str]) -> list[str] | None:
    """DEL for one family: each address rule once per time it is asked for, as far as the table
    has it (Go deletes rule by rule and ignores the misses). Chains and the isolation rules stay
    (other containers may use them), as in Go."""
    lines: list[str] = []
    wanted: dict[Rule, int] = {}
    for host in hosts:
        for rule in address_rules(host):
            wanted[rule] = wanted.get(rule, 0) + 1
    for rule, times in wanted.items():
        for _ in range(min(times, table.count(PRIV_CHAIN, rule))):
            lines.append(line("-D", PRIV_CHAIN, rule))
    return ["*filter", *lines, "COMMIT"] if lines else None


def optimistic_del_batch(hosts: Iterable[str]) -> list[str] | None:
    """DEL without reading: every address rule deleted once. It fails as a whole (and the caller
    reads CNI-FORWARD and renders `del_batch`) when one is missing; None when an address repeats
    (then only a reading can tell how many copies to delete)."""
    rules = [rule for host in hosts for rule in address_rules(host)]
    if not rules or len(set(rules)) != len(rules):
        return None
    return ["*filter", *(line("-D", PRIV_CHAIN, rule) for rule in rules), "COMMIT"]


def check_rules(hosts: Iterable[str], admin_chain: str) -> list[tuple[str, Rule, str]]:
    """CHECK for one family, in Go's order (checkRules): (chain, rule, Go's message if missing)."""
    hosts = list(hosts)
    if not hosts:
        return []
    out = [
        (FORWARD, priv_rule(), f"expected {FORWARD} rule {go_text(priv_rule())} not found"),
        (
            PRIV_CHAIN,
            admin_rule(admin_chain),
            f"expected {PRIV_CHAIN} rule {go_text(admin_rule(admin_chain))} not found",
        ),
    ]
    for host in hosts:
        for rule in address_rules(host):
            out.append((PRIV_CHAIN, rule, f"expected rule {go_text(rule)} not found"))
    return out


def check(table: FilterTable, hosts: Iterable[str], admin_chain: str) -> str | None:
    """CHECK against a reading of the chains: the first of Go's messages that applies, or None."""
    for chain, rule, message in check_rules(hosts, admin_chain):
        if not table.has(chain, rule):
            return message
    return None
