"""MAC spoof check on a bridge port with nftables (Go's pkg/link SpoofChecker), same names.

Table `bridge nat`, base chain `PREROUTING` (filter, hook prerouting, priority -300), and per
attachment the chains `cni-br-iface-<ref>` and `cni-br-iface-<ref>-mac`; every rule carries the
comment `macspoofchk-<ref>`. Setup is one atomic `nft -f -` batch (Go needs two); teardown
lists PREROUTING once and deletes in one batch.
"""

from __future__ import annotations

import sys

from libcni.types.errors import CNIError, ErrCode

from . import nft

TABLE = "bridge nat"
BASE_CHAIN = "PREROUTING"
BASE_CHAIN_SPEC = "{ type filter hook prerouting priority -300 ; policy accept ; }"


def iface_chain(ref_id: str) -> str:
    return "cni-br-iface-" + ref_id


def mac_chain(ref_id: str) -> str:
    return iface_chain(ref_id) + "-mac"


def rule_comment(ref_id: str) -> str:
    return "macspoofchk-" + ref_id


def setup_script(host_iface: str, mac: str, ref_id: str) -> str:
    chain, mchain = iface_chain(ref_id), mac_chain(ref_id)
    comment = nft.quote(rule_comment(ref_id))
    iface = nft.quote(host_iface)
    return (
        "\n".join(
            [
                f"add table {TABLE}",
                f"add chain {TABLE} {BASE_CHAIN} {BASE_CHAIN_SPEC}",
                f"add chain {TABLE} {chain}",
                f"add chain {TABLE} {mchain}",
                f"flush chain {TABLE} {chain}",
                f"flush chain {TABLE} {mchain}",
                f"add rule {TABLE} {BASE_CHAIN} iifname {iface} jump {chain} comment {comment}",
                f"add rule {TABLE} {chain} jump {mchain} comment {comment}",
                f"add rule {TABLE} {mchain} ether saddr {mac} return comment {comment}",
                f"add rule {TABLE} {mchain} drop comment {comment}",
            ]
        )
        + "\n"
    )


def teardown_script(prerouting_rules: list[dict], ref_id: str, existing_chains: set[str]) -> str:
    """Delete the PREROUTING jumps to this attachment's chain, then both chains."""
    chain, comment = iface_chain(ref_id), rule_comment(ref_id)
    lines = [
        f"delete rule {TABLE} {BASE_CHAIN} handle {rule['handle']}"
        for rule in prerouting_rules
        if rule.get("comment") == comment
        and any(expr.get("jump", {}).get("target") == chain for expr in rule.get("expr", []))
    ]
    lines += [f"delete chain {TABLE} {c}" for c in (chain, mac_chain(ref_id)) if c in existing_chains]
    return "".join(line + "\n" for line in lines)


def setup(host_iface: str, mac: str, ref_id: str) -> None:
    try:
        nft.apply(setup_script(host_iface, mac, ref_id))
    except CNIError as err:
        raise CNIError(ErrCode.INTERNAL, f"failed to setup spoof-check: {err.msg}") from None


def teardown(ref_id: str) -> None:
    """Remove this attachment's rules and chains; a missing table or chain is fine."""
    items = nft.list_json("table", "bridge", "nat")
    if not items:
        return
    chains = {item["chain"]["name"] for item in items if "chain" in item}
    prerouting = [
        item["rule"] for item in items if "rule" in item and item["rule"].get("chain") == BASE_CHAIN
    ]
    script = teardown_script(prerouting, ref_id, chains)
    if not script:
        return
    try:
        nft.apply(script)
    except CNIError as err:
        raise CNIError(ErrCode.INTERNAL, f"failed to teardown spoof-check: {err.msg}") from None


def attachments_of(items: list[dict]) -> dict[str, str]:
    """{ref: host interface} of every attachment with spoof-check chains in a `bridge nat` listing;
    the interface is the one its PREROUTING jump matches ('' when there is no jump)."""
    prefix, suffix = iface_chain(""), "-mac"
    found: dict[str, str] = {}
    for item in items:
        name = item.get("chain", {}).get("name", "")
        if name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix) + len(suffix):
            found.setdefault(name[len(prefix) : -len(suffix)], "")
    for item in items:
        rule = item.get("rule")
        if not rule or rule.get("chain") != BASE_CHAIN:
            continue
        exprs = rule.get("expr", [])
        target = next((e["jump"].get("target", "") for e in exprs if "jump" in e), "")
        ref = target[len(prefix) :] if target.startswith(prefix) else ""
        if ref not in found or rule.get("comment") != rule_comment(ref):
            continue
        for expr in exprs:
            match = expr.get("match", {})
            if match.get("left", {}).get("meta", {}).get("key") == "iifname":
                found[ref] = str(match.get("right", ""))
    return found


def attachments() -> dict[str, str]:
    """attachments_of() the kernel's `bridge nat` table; {} when there is none."""
    return attachments_of(nft.list_json("table", "bridge", "nat") or [])


def teardown_quietly(ref_id: str) -> None:
    """Teardown whose failure is only reported on stderr (Go's behaviour in DEL and rollback)."""
    try:
        teardown(ref_id)
    except CNIError as err:
        sys.stderr.write(f"{err.msg}\n")
