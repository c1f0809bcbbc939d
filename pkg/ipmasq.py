"""Masquerade for container IPs leaving their subnet (Go's pkg/ip ipmasq), both backends.

Names, comments and rule shapes are exactly Go's, so either implementation cleans up after the
other:
- iptables (table nat): chain `FormatChainName(network, containerID)` holding
  `-d <ip/prefix> -j ACCEPT` and `! -d <multicast> -j MASQUERADE`, jumped to from POSTROUTING
  by `-s <ip> -j <chain>`; every rule carries `FormatComment(network, containerID)`.
- nftables: table `inet cni_plugins_masquerade`, one rule per IP in chain `masq_checks` with a
  comment that starts with a hash of (network, ifname, containerID).

Beyond Go (plugins#816, cni#957): a packet conntrack classes INVALID (a FIN or RST after the
connection's entry was flushed or expired) skips NAT and would leave with the container's own
address. Each masqueraded IP therefore also gets a rule dropping INVALID packets from it to
outside its subnet, installed and removed with the masquerade rules, carrying the same comment:
- iptables: table mangle, first in POSTROUTING (a table of its own: an ACCEPT in filter FORWARD,
  e.g. the firewall plugin's, cannot skip it),
  `-s <ip> ! -d <subnet> -m conntrack --ctstate INVALID -j DROP`.
- nftables: chain `drop_invalid` (filter, hook forward) of the same table,
  `<ip> saddr <ip> <ip> daddr != <subnet> ct state invalid drop`.
Go's DEL does not know these rules and leaves them behind (harmless: they only drop what is
invalid anyway); our DEL and GC remove them, whoever made the masquerade rules, and each of our
setups removes, best effort, the drops whose masquerade is gone (no POSTROUTING jump to their
chain; in nftables no masq_checks rule with their comment): Go's DEL leaves at most one behind
until the next setup.

Each change is one batch (`iptables-restore --noflush`, `nft -f -`) after one listing; for iptables
only the chain, POSTROUTING and mangle POSTROUTING are listed (`iptables -S`), never the whole nat
table, except by GC. Teardown
and GC do not need the container IPs: iptables rules are found by their chain, nftables rules by
their comment hash. That lets DEL clean up even when the netns is gone (Go leaks the rules then,
containernetworking/plugins#810).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from libcni.types.errors import CNIError, ErrCode

from . import iptables, nft
from .hashing import format_chain_name, format_comment, sha512_hex
from .iptables import SavedTable
from .quoting import go_quote

TABLE = "cni_plugins_masquerade"
CHAIN = "masq_checks"
INVALID_CHAIN = "drop_invalid"
INVALID_IPT_TABLE, INVALID_IPT_CHAIN = "mangle", "POSTROUTING"  # iptables: where the drops go
INVALID_CHAIN_COMMENT = "Drop INVALID packets from masqueraded IPs: they would leave un-NATed"
TABLE_COMMENT = "Masquerading for plugins from github.com/containernetworking/plugins"
CHAIN_COMMENT = "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet"
COMMENT_MAX = 128  # knftables.CommentLengthMax
BACKENDS = ("iptables", "nftables")


# ---------------------------------------------------------------- names (pure)


def hash_for_network(network: str) -> str:
    return sha512_hex(network)[:16]


def hash_for_instance(network: str, ifname: str, container_id: str) -> str:
    return hash_for_network(network) + "-" + sha512_hex(f"{ifname}:{container_id}")[:16]


def comment_for_instance(network: str, ifname: str, container_id: str) -> str:
    def strip(text: str) -> str:
        return text.replace('"', "")

    comment = (
        f"{hash_for_instance(network, ifname, container_id)}, net: {strip(network)}, "
        f"if: {strip(ifname)}, id: {strip(container_id)}"
    )
    return comment[:COMMENT_MAX]


def validate_backend(backend: str | None) -> None:
    if backend is not None and backend not in BACKENDS:
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, f'unknown ipmasq backend "{backend}"')


def choose_backend(backend: str | None) -> str:
    """The configured backend; absent: iptables unless only nftables is usable (like Go)."""
    validate_backend(backend)
    if backend is not None:
        return backend
    if not iptables.available() and nft.available():
        return "nftables"
    return "iptables"


def _only_nftables(tables: Tables) -> bool:
    """No backend configured and the iptables listings failed: is nftables the one usable? (The
    probes of choose_backend run only then: where iptables works its listing already said so.)"""
    failed = any(isinstance(found, iptables.IptablesError) for found in tables.values())
    return failed and choose_backend(None) == "nftables"


# ---------------------------------------------------------------- iptables rendering (pure)


def _multicast(version: int) -> str:
    return "ff00::/8" if version == 6 else "224.0.0.0/4"


def iptables_rules(cidr: str, chain: str, comment: str) -> list[tuple[str, str, str]]:
    """(chain, Go's argument order, iptables-save form) for the three rules of one IP."""
    iface = ipaddress.ip_interface(cidr)
    quoted = go_quote(comment)
    host = f"{iface.ip}/{iface.max_prefixlen}"
    return [
        (chain, f"-d {cidr} -j ACCEPT", f"-d {iface.network} -m comment --comment {quoted} -j ACCEPT"),
        (
            chain,
            f"! -d {_multicast(iface.version)} -j MASQUERADE",
            f"! -d {_multicast(iface.version)} -m comment --comment {quoted} -j MASQUERADE",
        ),
        ("POSTROUTING", f"-s {iface.ip} -j {chain}", f"-s {host} -m comment --comment {quoted} -j {chain}"),
    ]


def iptables_setup_script(saved: SavedTable, cidrs: Sequence[str], chain: str, comment: str) -> list[str]:
    """An iptables-restore script adding what is missing (create chain, append-unique rules)."""
    lines: list[str] = []
    if chain not in saved.chains:
        lines.append(f":{chain} - [0:0]")  # declaring an existing chain would flush it
    present = set(saved.lines())
    for cidr in cidrs:
        for target_chain, args, save_form in iptables_rules(cidr, chain, comment):
            line = f"-A {target_chain} {save_form}"
            if line in present:
                continue
            present.add(line)
            lines.append(f"-A {target_chain} {args} -m comment --comment {go_quote(comment)}")
    return ["*nat", *lines, "COMMIT"] if lines else []


def iptables_teardown_script(saved: SavedTable, chain: str) -> list[str]:
    """Delete every POSTROUTING jump to `chain`, then flush and delete the chain."""
    lines = [f"-D {source} {rule}" for source, rule in saved.jumps_to(chain) if source == "POSTROUTING"]
    if chain in saved.chains:
        lines += [f"-F {chain}", f"-X {chain}"]
    return ["*nat", *lines, "COMMIT"] if lines else []


def _unquote(text: str, start: int) -> tuple[str, int] | None:
    """The Go-quoted string whose text begins at `start` (after its opening quote), unescaped, and
    the index after its closing quote; None when it is not closed."""
    out = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    return None


def parse_go_comment(comment: str) -> tuple[str, str] | None:
    """(network, containerID) from `name: "<net>" id: "<id>"`, else None."""
    if not comment.startswith('name: "') or not comment.endswith('"'):
        return None
    network = _unquote(comment, len('name: "'))
    if network is None:
        return None
    rest = comment[network[1] :]
    if not rest.startswith(' id: "'):
        return None
    container_id = _unquote(rest, len(' id: "'))
    if container_id is None or container_id[1] != len(rest):
        return None
    return network[0], container_id[0]


def _saved_comment(rule: str) -> str | None:
    """The comment of an iptables-save rule line, unescaped."""
    marker = ' --comment "'
    start = rule.find(marker)
    if start < 0:
        return None
    found = _unquote(rule, start + len(marker))
    return found[0] if found is not None else None


def iptables_stale_chains(saved: SavedTable, network: str, valid_ids: Iterable[str]) -> list[str]:
    """Chains of `network` whose container is not in `valid_ids` (found through their comments)."""
    valid = {format_chain_name(network, cid) for cid in valid_ids}
    stale = []
    for chain in sorted(saved.chains):
        if not chain.startswith("CNI-") or chain in valid:
            continue
        for rule in saved.rules_of(chain):
            comment = _saved_comment(rule)
            parsed = parse_go_comment(comment) if comment is not None else None
            if parsed and parsed[0] == network and format_chain_name(network, parsed[1]) == chain:
                stale.append(chain)
                break
    return stale


def _invalid_rule(cidr: str, comment: str) -> tuple[str, str]:
    """(the rule as we add it, as iptables-save prints it) in the INVALID-drop chain."""
    iface = ipaddress.ip_interface(cidr)
    quoted = go_quote(comment)
    body = f"-s {iface.ip}/{iface.max_prefixlen} ! -d {iface.network} -m conntrack --ctstate INVALID"
    rule = f"{body} -m comment --comment {quoted} -j DROP"
    return rule, f"-A {INVALID_IPT_CHAIN} {rule}"


def iptables_invalid_setup(saved: SavedTable, cidrs: Sequence[str], comment: str) -> list[str]:
    """A `*mangle` section putting each IP's INVALID drop first in POSTROUTING, unless present."""
    present = set(saved.lines())
    lines = []
    for cidr in cidrs:
        rule, save_form = _invalid_rule(cidr, comment)
        if save_form not in present:
            present.add(save_form)
            lines.append(f"-I {INVALID_IPT_CHAIN} 1 {rule}")
    return _invalid_section(lines)


def _invalid_section(lines: list[str]) -> list[str]:
    return [f"*{INVALID_IPT_TABLE}", *lines, "COMMIT"] if lines else []


def _invalid_drops(saved: SavedTable) -> list[tuple[str, str]]:
    """(rule line, comment) of our INVALID drops."""
    out = []
    for rule in saved.rules_of(INVALID_IPT_CHAIN):
        if "--ctstate INVALID" in rule and rule.endswith(" -j DROP"):
            comment = _saved_comment(rule)
            if comment is not None:
                out.append((f"-A {INVALID_IPT_CHAIN} {rule}", comment))
    return out


def iptables_invalid_teardown(saved: SavedTable, comment: str) -> list[str]:
    lines = ["-D" + rule[2:] for rule, found in _invalid_drops(saved) if found == comment]
    return _invalid_section(lines)


def iptables_invalid_orphans(filt: SavedTable, postrouting: SavedTable, own_comment: str) -> list[str]:
    """A `*mangle` section deleting the INVALID drops whose container has no masquerade any more
    (no POSTROUTING jump to the chain its comment names: a Go DEL removed the masquerade and knew
    nothing of the drop). Ours is skipped: its jump is being added in the same change."""
    lines = []
    for rule, comment in _invalid_drops(filt):
        parsed = parse_go_comment(comment)
        if comment == own_comment or parsed is None:
            continue
        if not any(source == "POSTROUTING" for source, _ in postrouting.jumps_to(format_chain_name(*parsed))):
            lines.append("-D" + rule[2:])
    return _invalid_section(lines)


def iptables_invalid_stale(saved: SavedTable, network: str, valid_ids: Iterable[str]) -> list[str]:
    """A `*mangle` section deleting the INVALID drops of `network`'s containers not in `valid_ids`."""
    valid = set(valid_ids)
    lines = []
    for rule, comment in _invalid_drops(saved):
        parsed = parse_go_comment(comment)
        if parsed and parsed[0] == network and parsed[1] not in valid:
            lines.append("-D" + rule[2:])
    return _invalid_section(lines)


# ---------------------------------------------------------------- nftables rendering (pure)


def nft_setup_script(
    cidrs: Sequence[str],
    network: str,
    ifname: str,
    container_id: str,
    stale_handles: Iterable[int],
    stale_invalid_handles: Iterable[int] = (),
) -> str:
    table = f"inet {TABLE}"
    lines = [
        f"add table {table} {{ comment {nft.quote(TABLE_COMMENT)} ; }}",
        f"add chain {table} {CHAIN} {{ comment {nft.quote(CHAIN_COMMENT)} ; }}",
        f"add chain {table} postrouting {{ type nat hook postrouting priority srcnat ; }}",
        f"flush chain {table} postrouting",
        f"add rule {table} postrouting ip daddr == 224.0.0.0/4 return",
        f"add rule {table} postrouting ip6 daddr == ff00::/8 return",
        f"add rule {table} postrouting goto {CHAIN}",
        f"add chain {table} {INVALID_CHAIN} {{ type filter hook forward priority filter ; "
        f"comment {nft.quote(INVALID_CHAIN_COMMENT)} ; }}",
    ]
    lines += [f"delete rule {table} {CHAIN} handle {handle}" for handle in stale_handles]
    lines += [f"delete rule {table} {INVALID_CHAIN} handle {handle}" for handle in stale_invalid_handles]
    comment = nft.quote(comment_for_instance(network, ifname, container_id))
    for cidr in cidrs:
        iface = ipaddress.ip_interface(cidr)
        proto = "ip6" if iface.version == 6 else "ip"
        match = f"{proto} saddr == {iface.ip} {proto} daddr != {iface.network}"
        lines.append(f"add rule {table} {CHAIN} {match} masquerade comment {comment}")
        lines.append(f"add rule {table} {INVALID_CHAIN} {match} ct state invalid drop comment {comment}")
    return "\n".join(lines) + "\n"


def nft_delete_script(handles: Iterable[int], chain: str = CHAIN) -> str:
    return "".join(f"delete rule inet {TABLE} {chain} handle {h}\n" for h in handles)


# ---------------------------------------------------------------- kernel edge


def _nft_rules(items: list[dict] | None = None) -> dict[str, list[dict]]:
    """The rules of the masquerade and INVALID-drop chains, by chain (one listing of the table,
    made here unless given)."""
    if items is None:
        items = nft.list_json("table", "inet", TABLE) or []
    out: dict[str, list[dict]] = {CHAIN: [], INVALID_CHAIN: []}
    for item in items:
        rule = item.get("rule")
        if rule is not None and rule.get("chain") in out:
            out[rule["chain"]].append(rule)
    return out


def _handles(rules: dict[str, list[dict]], keep) -> dict[str, list[int]]:
    return {
        chain: [r["handle"] for r in found if keep(str(r.get("comment", "")))]
        for chain, found in rules.items()
    }


def _handles_with_prefix(prefix: str, items: list[dict]) -> dict[str, list[int]]:
    return _handles(_nft_rules(items), lambda comment: comment.startswith(prefix))


def _nft_delete(handles: dict[str, list[int]]) -> None:
    script = "".join(nft_delete_script(found, chain) for chain, found in handles.items())
    if script:
        nft.apply(script)


def _saved(ipv6: bool) -> SavedTable:
    """The whole nat table: only GC needs it (it looks for chains it does not know the names of)."""
    return SavedTable.parse(iptables.save("nat", ipv6))


Tables = dict[bool, "tuple[SavedTable, SavedTable] | iptables.IptablesError"]


def _read_chains(chain: str, families: Sequence[bool], with_nft: bool = False) -> tuple[Tables, list[dict]]:
    """Only `chain` and POSTROUTING of each family's nat table, and POSTROUTING of its mangle table
    (the INVALID drops), all side by side (`iptables -S`): what setup and teardown touch, so their cost
    does not grow with the rest of the tables. (nat, mangle) per family, or the first error; and,
    `with_nft`, our nftables table's objects, listed at the same time."""
    from .command import run_parallel

    requests = [(name, ipv6, "nat") for ipv6 in families for name in (chain, "POSTROUTING")]
    requests += [(INVALID_IPT_CHAIN, ipv6, INVALID_IPT_TABLE) for ipv6 in families]
    commands: list[tuple[list[str], None]] = [
        (iptables.list_argv(name, ipv6, table), None) for name, ipv6, table in requests
    ]
    if with_nft:
        commands.append((nft.list_argv("table", "inet", TABLE), None))
    procs = run_parallel(commands)
    nft_items = (nft.parse_listing(procs.pop()) or []) if with_nft else []
    listed = [iptables.parse_listing(name, proc) for (name, _, _), proc in zip(requests, procs, strict=True)]
    out: Tables = {}
    for n, ipv6 in enumerate(families):
        nat = listed[2 * n : 2 * n + 2]
        forward = listed[2 * len(families) + n]
        error = next((r for r in [*nat, forward] if isinstance(r, iptables.IptablesError)), None)
        if error is not None:
            out[ipv6] = error
            continue
        out[ipv6] = (
            SavedTable.of_chains(dict(zip((chain, "POSTROUTING"), nat, strict=True))),  # type: ignore[arg-type]
            SavedTable.of_chains({INVALID_IPT_CHAIN: forward}),  # type: ignore[dict-item]
        )
    return out, nft_items


def _drops_chain(ipv6: bool) -> SavedTable:
    """mangle POSTROUTING alone (GC: the INVALID drops of stale containers)."""
    (rules,) = iptables.list_chains([(INVALID_IPT_CHAIN, ipv6)], INVALID_IPT_TABLE)
    if isinstance(rules, iptables.IptablesError):
        raise rules
    return SavedTable.of_chains({INVALID_IPT_CHAIN: rules})


def _by_family(cidrs: Sequence[str]) -> dict[bool, list[str]]:
    out: dict[bool, list[str]] = {}
    for cidr in cidrs:
        out.setdefault(ipaddress.ip_interface(cidr).version == 6, []).append(cidr)
    return out


def setup(backend: str | None, cidrs: Sequence[str], network: str, ifname: str, container_id: str) -> None:
    """Masquerade traffic from each `cidrs` IP to anything outside its subnet."""
    validate_backend(backend)
    if backend != "nftables":
        chain = format_chain_name(network, container_id)
        by_family = _by_family(cidrs)
        tables, _ = _read_chains(chain, list(by_family))
        if backend is not None or not _only_nftables(tables):
            _setup_iptables(tables, by_family, chain, format_comment(network, container_id))
            return
    _setup_nft(cidrs, network, ifname, container_id)


def _setup_nft(cidrs: Sequence[str], network: str, ifname: str, container_id: str) -> None:
    listed = _nft_rules()
    prefix = hash_for_instance(network, ifname, container_id)
    stale = _handles(listed, lambda comment: comment.startswith(prefix))
    nft.apply(nft_setup_script(cidrs, network, ifname, container_id, stale[CHAIN], stale[INVALID_CHAIN]))
    masqueraded = {str(r.get("comment", "")) for r in listed[CHAIN]}
    orphans = [
        r["handle"]
        for r in listed[INVALID_CHAIN]
        if not str(r.get("comment", "")).startswith(prefix) and r.get("comment") not in masqueraded
    ]
    if orphans:  # best effort, as for iptables
        try:
            nft.apply(nft_delete_script(orphans, INVALID_CHAIN))
        except CNIError:
            pass


def _setup_iptables(tables: Tables, by_family: dict[bool, list[str]], chain: str, comment: str) -> None:
    for ipv6, family_cidrs in by_family.items():
        found = tables[ipv6]
        if isinstance(found, iptables.IptablesError):
            raise found
        nat, filt = found
        script = iptables_setup_script(nat, family_cidrs, chain, comment)
        script += iptables_invalid_setup(filt, family_cidrs, comment)
        if script:
            iptables.restore(script, ipv6)
        orphans = iptables_invalid_orphans(filt, nat, comment)
        if orphans:  # best effort: a concurrent setup may be removing the same ones
            try:
                iptables.restore(orphans, ipv6)
            except CNIError:
                pass


def _teardown_iptables(tables: Tables, network: str, container_id: str) -> list[str]:
    chain = format_chain_name(network, container_id)
    comment = format_comment(network, container_id)
    errors = []
    batches: dict[int, list[str]] = {}
    for ipv6 in (False, True):
        found = tables[ipv6]
        if isinstance(found, iptables.IptablesError):
            if iptables.available(ipv6):
                errors.append(str(found))
            continue
        nat, filt = found
        # The drop first: a drop without its masquerade counts as a Go leftover (setup above).
        script = iptables_invalid_teardown(filt, comment) + iptables_teardown_script(nat, chain)
        if script:
            batches[6 if ipv6 else 4] = script
    for family, text in iptables.restore_all(batches).items():
        if iptables.available(family == 6):
            errors.append(text)
    return errors


def _teardown_nft(items: list[dict], network: str, ifname: str, container_id: str) -> list[str]:
    try:
        _nft_delete(_handles_with_prefix(hash_for_instance(network, ifname, container_id), items))
    except CNIError as err:
        if nft.available():
            return [str(err)]
    return []


def teardown(network: str, ifname: str, container_id: str) -> None:
    """Remove this attachment's rules from both backends (it may have been made by either): the
    iptables chains and our nftables table are listed at once, then each family's rules go in one
    iptables-restore, side by side."""
    tables, nft_items = _read_chains(format_chain_name(network, container_id), (False, True), with_nft=True)
    errors = _teardown_iptables(tables, network, container_id) + _teardown_nft(
        nft_items, network, ifname, container_id
    )
    if errors:
        raise CNIError(ErrCode.INTERNAL, "\n".join(errors))


def gc(network: str, attachments: Iterable[tuple[str, str]]) -> None:
    """Remove rules of `network` whose (containerID, ifname) is not in `attachments`."""
    attachments = list(attachments)
    errors: list[str] = []
    for ipv6 in (False, True):
        try:
            saved, filt = _saved(ipv6), _drops_chain(ipv6)
            valid_ids = [cid for cid, _ in attachments]
            lines: list[str] = []
            for chain in iptables_stale_chains(saved, network, valid_ids):
                lines += iptables_teardown_script(saved, chain)[1:-1]
            script = (["*nat", *lines, "COMMIT"] if lines else []) + iptables_invalid_stale(
                filt, network, valid_ids
            )
            if script:
                iptables.restore(script, ipv6)
        except CNIError as err:
            if iptables.available(ipv6):
                errors.append(str(err))
    try:
        valid = {comment_for_instance(network, ifname, cid) for cid, ifname in attachments}
        prefix = hash_for_network(network)
        _nft_delete(_handles(_nft_rules(), lambda c: c.startswith(prefix) and c not in valid))
    except CNIError as err:
        if nft.available():
            errors.append(str(err))
    if errors:
        raise CNIError(ErrCode.INTERNAL, "\n".join(errors))
