"""The iptables backend: read the nat table once, apply one iptables-restore batch per family."""

from __future__ import annotations

import re

from libcni.types.errors import CNIError, ErrCode
from pkg import iptables
from pkg.command import run_parallel

from . import iptables_rules as rules
from .config import ContainerNet, PortMapConfig

FAMILIES = (4, 6)


def family_label(family: int) -> str:
    return "ipv6" if family == 6 else "ipv4"


def snapshots(families: tuple[int, ...]) -> dict[int, rules.NatTable | CNIError]:
    """`iptables-save -t nat` of each family (run side by side); an error where it is unusable."""
    argvs = [([iptables.binary(f == 6) + "-save", "-t", "nat"], None) for f in families]
    out: dict[int, rules.NatTable | CNIError] = {}
    for family, proc in zip(families, run_parallel(argvs), strict=True):
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


def create_chains(names: list[str], ipv6: bool) -> None:
    """Shared chains are created outside the batch: declaring them there would flush them, and a
    concurrent ADD could lose its rules. Creating an existing chain is fine (a race, not an error)."""
    for name in names:
        try:
            iptables.iptables(["-N", name], ipv6)
        except iptables.IptablesError as err:
            if "exists" not in err.stderr:
                raise


def forward(conf: PortMapConfig, container_id: str, nets: list[ContainerNet]) -> None:
    done: list[ContainerNet] = []
    try:
        for net in nets:
            ipv6 = net.family == 6
            table = snapshots((net.family,))[net.family]
            if isinstance(table, CNIError):
                raise CNIError(ErrCode.INTERNAL, f"failed to open iptables: {table.msg}")
            missing = rules.missing_shared_chains(conf, table)
            if missing:
                create_chains(missing, ipv6)
                for name in missing:
                    table.chains.setdefault(name, [])
            lines = rules.add_batch(conf, container_id, net, table)
            try:
                iptables.restore(lines, ipv6)
            except iptables.IptablesError as err:
                raise CNIError(ErrCode.INTERNAL, f"unable to setup DNAT: {explain(err, lines)}") from None
            done.append(net)
    except CNIError:
        if done:  # roll back the families already set up
            try:
                unforward(conf, container_id, tuple(n.family for n in done))
            except CNIError:
                pass
        raise


def unforward(conf: PortMapConfig, container_id: str, families: tuple[int, ...] = FAMILIES) -> None:
    for family, table in usable_snapshots(families).items():
        lines = rules.del_batch(conf.name, container_id, table)
        if lines is None:
            continue
        try:
            iptables.restore(lines, family == 6)
        except iptables.IptablesError as err:
            raise CNIError(
                ErrCode.INTERNAL, f"could not teardown {family_label(family)} dnat: {explain(err, lines)}"
            ) from None


_FAILED_LINE = re.compile(r"line:? (\d+)")


def failed_line(err: iptables.IptablesError) -> int | None:
    """The 1-based batch line iptables-restore complained about ("line 3 failed", "line: 3")."""
    found = _FAILED_LINE.search(err.stderr)
    return int(found.group(1)) if found else None


def explain(err: iptables.IptablesError, lines: list[str]) -> str:
    """iptables-restore's message, with the batch line it refers to."""
    number = failed_line(err)
    if number is not None and 0 < number <= len(lines):
        return f"{err.msg} (in: {lines[number - 1]})"
    return err.msg


def check(conf: PortMapConfig, container_id: str, nets: list[ContainerNet]) -> None:
    for net in nets:
        table = usable_snapshots((net.family,))[net.family]
        what = f"could not check {family_label(net.family)} dnat"
        chain = rules.dnat_chain_name(conf.name, container_id)
        if not table.has_chain(chain):
            raise CNIError(ErrCode.INTERNAL, f"{what}: chain {chain} not found in iptables table nat")
        lines, checks = rules.check_batch(conf, container_id, net)
        try:
            iptables.restore(lines, net.family == 6)
        except iptables.IptablesError as err:
            number = failed_line(err)
            index = number - 2 if number is not None else -1  # line 1 is "*nat"
            if 0 <= index < len(checks):
                where, rule = checks[index]
                raise CNIError(
                    ErrCode.INTERNAL,
                    f"{what}: rule [{' '.join(rule)}] in chain {where} not found in table nat",
                ) from None
            raise CNIError(ErrCode.INTERNAL, f"{what}: {err.msg}") from None


def gc(conf: PortMapConfig) -> None:
    for family, table in usable_snapshots().items():
        lines = rules.gc_batch(conf.name, conf.valid_container_ids, table)
        if lines is not None:
            try:
                iptables.restore(lines, family == 6)
            except iptables.IptablesError as err:
                raise CNIError(
                    ErrCode.INTERNAL,
                    f"could not garbage-collect {family_label(family)} dnat: {explain(err, lines)}",
                ) from None


def usable() -> bool:
    """Go's SupportsIPTables: iptables can look at the filter table."""
    try:
        iptables.iptables(["-n", "-L", "INPUT"], False, "filter")
    except iptables.IptablesError:
        return False
    return True
