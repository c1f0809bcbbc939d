"""The iptables backend: read each family's nat table once, apply one iptables-restore batch per
family. iptables and ip6tables are independent, so both families run side by side."""

from __future__ import annotations

import re
from collections.abc import Callable

from libcni.types.errors import CNIError, ErrCode
from pkg import iptables
from pkg.command import run_parallel

from . import iptables_rules as rules
from .config import ContainerNet, PortMapConfig

FAMILIES = (4, 6)
Batch = list[str]


def family_label(family: int) -> str:
    return "ipv6" if family == 6 else "ipv4"


def snapshots(families: tuple[int, ...], with_raw: bool = False) -> dict[int, rules.NatTable | CNIError]:
    """`iptables-save -t nat` of each family; an error where that family is unusable. With
    `with_raw`, also (at the same time) the IPv4 raw table's text under key 0 (None if unreadable)."""
    argvs = [([iptables.binary(f == 6) + "-save", "-t", "nat"], None) for f in families]
    procs = run_parallel(argvs + ([(["iptables-save", "-t", "raw"], None)] if with_raw else []))
    out: dict = {}
    if with_raw:
        raw = procs.pop()
        out[0] = raw.stdout.decode(errors="replace") if raw.returncode == 0 else None
    for family, proc in zip(families, procs, strict=True):
        if proc.returncode == 0:
            out[family] = rules.NatTable.parse(proc.stdout.decode(errors="replace"))
        else:
            stderr = proc.stderr.decode(errors="replace").strip()
            out[family] = CNIError(
                ErrCode.INTERNAL, f"{proc.args[0]} failed: exit status {proc.returncode}: {stderr}"
            )
    return out


def usable_snapshots(families: tuple[int, ...] = FAMILIES) -> dict[int, rules.NatTable]:
    """Go's maybeGetIptables for each family: an error only when none is usable."""
    found = snapshots(families)
    usable = {f: t for f, t in found.items() if isinstance(t, rules.NatTable)}
    if not usable:
        reasons = ", ".join(f"({iptables.binary(f == 6)}) {found[f]}" for f in families)
        raise CNIError(ErrCode.INTERNAL, f"neither iptables nor ip6tables is usable, {reasons}")
    return usable


_FAILED_LINE = re.compile(r"line:? (\d+)")


def failed_line(stderr: str) -> int | None:
    """The 1-based batch line iptables-restore complained about ("line 3 failed", "line: 3")."""
    found = _FAILED_LINE.search(stderr)
    return int(found.group(1)) if found else None


def restore_all(batches: dict[int, Batch]) -> dict[int, str]:
    """Apply each family's batch (`iptables-restore --noflush`); the error text of those that failed,
    naming the batch line it refers to."""
    families = tuple(batches)
    argvs = [
        ([iptables.binary(f == 6) + "-restore", "--noflush", "--wait"], "\n".join(batches[f]) + "\n")
        for f in families
    ]
    errors: dict[int, str] = {}
    for family, proc in zip(families, run_parallel(argvs), strict=True):
        if proc.returncode == 0:
            continue
        stderr = proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        text = f"{proc.args[0]} failed: {stderr}"
        number = failed_line(stderr)
        if number is not None and 0 < number <= len(batches[family]):
            text += f" (in: {batches[family][number - 1]})"
        errors[family] = text
    return errors


def create_chains(names: list[str], ipv6: bool) -> None:
    """Shared chains are created outside the batch: declaring them there would flush them, and a
    concurrent ADD could lose its rules. Creating an existing chain is fine (a race, not an error)."""
    for name in names:
        try:
            iptables.iptables(["-N", name], ipv6)
        except iptables.IptablesError as err:
            if "exists" not in err.stderr:
                raise CNIError(ErrCode.INTERNAL, f"unable to create chain {name}: {err.msg}") from None


def needs_localnet_guard(conf: PortMapConfig, families) -> bool:
    """snat on IPv4: route_localnet gets enabled, so the guard goes in (localnet.py)."""
    return conf.snat and 4 in families


def forward(conf: PortMapConfig, container_id: str, nets: list[ContainerNet]) -> None:
    by_family = {net.family: net for net in nets}
    guard = needs_localnet_guard(conf, by_family)
    tables = snapshots(tuple(by_family), with_raw=guard)
    raw = tables.pop(0, None)
    batches: dict[int, Batch] = {}
    for family, table in tables.items():
        if isinstance(table, CNIError):
            raise CNIError(ErrCode.INTERNAL, f"failed to open iptables: {table.msg}")
        missing = rules.missing_shared_chains(conf, table)
        if missing:
            create_chains(missing, family == 6)
            for name in missing:
                table.chains.setdefault(name, [])
        batches[family] = rules.add_batch(conf, container_id, by_family[family], table)
    if guard and isinstance(raw, str):
        from .localnet import iptables_guard_batch

        batches[4] += iptables_guard_batch(raw)
    errors = restore_all(batches)
    if errors:
        done = tuple(f for f in batches if f not in errors)
        if done:  # roll back the families that were set up
            try:
                unforward(conf, container_id, done)
            except CNIError:
                pass
        raise CNIError(ErrCode.INTERNAL, f"unable to setup DNAT: {next(iter(errors.values()))}")


def _apply_per_family(
    families: tuple[int, ...], render: Callable[[rules.NatTable], Batch | None], what: str
) -> None:
    batches = {}
    for family, table in usable_snapshots(families).items():
        batch = render(table)
        if batch is not None:
            batches[family] = batch
    errors = restore_all(batches) if batches else {}
    for family, text in errors.items():
        raise CNIError(ErrCode.INTERNAL, f"could not {what} {family_label(family)} dnat: {text}")


def unforward(conf: PortMapConfig, container_id: str, families: tuple[int, ...] = FAMILIES) -> None:
    _apply_per_family(families, lambda table: rules.del_batch(conf.name, container_id, table), "teardown")


def gc(conf: PortMapConfig) -> None:
    _apply_per_family(
        FAMILIES, lambda table: rules.gc_batch(conf.name, conf.valid_container_ids, table), "garbage-collect"
    )


def check(conf: PortMapConfig, container_id: str, nets: list[ContainerNet]) -> None:
    chain = rules.dnat_chain_name(conf.name, container_id)
    for net in nets:
        table = usable_snapshots((net.family,))[net.family]
        what = f"could not check {family_label(net.family)} dnat"
        if not table.has_chain(chain):
            raise CNIError(ErrCode.INTERNAL, f"{what}: chain {chain} not found in iptables table nat")
        lines, checks = rules.check_batch(conf, container_id, net)
        try:
            iptables.restore(lines, net.family == 6)
        except iptables.IptablesError as err:
            number = failed_line(err.stderr)
            index = number - 2 if number is not None else -1  # line 1 is "*nat"
            if 0 <= index < len(checks):
                where, rule = checks[index]
                raise CNIError(
                    ErrCode.INTERNAL,
                    f"{what}: rule [{' '.join(rule)}] in chain {where} not found in table nat",
                ) from None
            raise CNIError(ErrCode.INTERNAL, f"{what}: {err.msg}") from None


def usable() -> bool:
    """Go's SupportsIPTables: `iptables -t filter -S INPUT 1` works (exit 1, "no such rule", counts
    as working: only whether iptables can look is asked)."""
    try:
        iptables.iptables(["-S", "INPUT", "1"], False, "filter")
    except iptables.IptablesError as err:
        return err.exit_status == 1
    return True
