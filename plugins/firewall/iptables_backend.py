"""The iptables backend (kernel edge): per family, read the filter table once
(`iptables-save -t filter`) and apply one `iptables-restore --noflush` batch rendered by
.rules. iptables and ip6tables run side by side. A batch that fails because a concurrent call
changed the table in between is rendered again on a fresh snapshot."""

from __future__ import annotations

import sys
from collections.abc import Callable

from libcni.types.errors import CNIError, ErrCode
from pkg import iptables
from pkg.command import run_parallel

from . import rules
from .config import FirewallConfig

ATTEMPTS = 3
Render = Callable[[int, rules.FilterTable], "list[str] | None"]


def _label(family: int) -> str:
    return iptables.binary(family == 6)


def snapshots(families: tuple[int, ...]) -> dict[int, rules.FilterTable | str]:
    """Each family's filter table, or the error text where it could not be read."""
    argvs = [([iptables.binary(f == 6) + "-save", "-t", "filter"], None) for f in families]
    out: dict[int, rules.FilterTable | str] = {}
    for family, proc in zip(families, run_parallel(argvs), strict=True):
        if proc.returncode == 0:
            out[family] = rules.FilterTable.parse(proc.stdout.decode(errors="replace"))
        else:
            stderr = proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}"
            out[family] = f"{proc.args[0]} failed: {stderr}"
    return out


def restore(batches: dict[int, list[str]]) -> dict[int, str]:
    """Apply each family's batch; the error text of those that failed."""
    families = tuple(batches)
    argvs = [
        ([iptables.binary(f == 6) + "-restore", "--noflush", "--wait"], "\n".join(batches[f]) + "\n")
        for f in families
    ]
    errors: dict[int, str] = {}
    for family, proc in zip(families, run_parallel(argvs), strict=True):
        if proc.returncode != 0:
            stderr = proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}"
            errors[family] = f"{proc.args[0]} failed: {stderr}"
    return errors


def apply(families: tuple[int, ...], render: Render, *, strict: bool) -> dict[int, str]:
    """Snapshot, render and restore each family, retrying a failed family on a fresh snapshot.
    An unreadable table is an error when `strict`, else that family is skipped. Returns the
    families that still failed, with the reason."""
    pending = families
    failed: dict[int, str] = {}
    for _ in range(ATTEMPTS):
        if not pending:
            break
        batches: dict[int, list[str]] = {}
        failed = {}
        for family, table in snapshots(pending).items():
            if isinstance(table, str):
                if strict:
                    failed[family] = table
                continue
            batch = render(family, table)
            if batch is not None:
                batches[family] = batch
        if failed:  # the table cannot even be read: retrying will not help
            return failed
        failed = restore(batches) if batches else {}
        pending = tuple(failed)
    return failed


def add(conf: FirewallConfig, *, addresses: bool = True, isolation: bool = False) -> None:
    """The address rules (when `addresses`) and the isolation chains (when `isolation`) for every
    family of the prevResult addresses (Go's findProtos); one batch per family, all or nothing,
    and a family that fails takes the address rules of the others out again."""
    bridge = conf.bridge if isolation else None
    isolated = conf.ingress_policy == "isolated"

    def render(family: int, table: rules.FilterTable) -> list[str] | None:
        hosts = conf.hosts(family) if addresses else []
        return rules.add_batch(table, hosts, conf.admin_chain, bridge, isolated)

    failed = apply(conf.families, render, strict=True)
    if failed:
        done = tuple(f for f in conf.families if f not in failed)
        if done and addresses:
            delete(conf, done)
        family, text = next(iter(failed.items()))
        raise CNIError(ErrCode.INTERNAL, f"failed to set up {_label(family)} firewall rules: {text}")


def delete(conf: FirewallConfig, families: tuple[int, ...] | None = None) -> None:
    """Remove the address rules; as in Go, failures are reported on stderr only."""

    def render(family: int, table: rules.FilterTable) -> list[str] | None:
        return rules.del_batch(table, conf.hosts(family))

    failed = apply(conf.families if families is None else families, render, strict=False)
    for family, text in failed.items():
        sys.stderr.write(f"firewall: could not remove the {_label(family)} rules: {text}\n")


def check(conf: FirewallConfig) -> None:
    for family, table in snapshots(conf.families).items():
        if isinstance(table, str):
            raise CNIError(ErrCode.INTERNAL, table)
        problem = rules.check(table, conf.hosts(family), conf.admin_chain)
        if problem:
            raise CNIError(ErrCode.INTERNAL, problem)
