"""The iptables backend (kernel edge). Only our chains and FORWARD are looked at, never the whole
filter table (which can be huge on a policy-heavy host), and each family gets one
`iptables-restore --noflush` batch rendered by .rules; iptables and ip6tables run side by side.

ADD, per family: one `iptables-restore` of `-C` lines probes the shared rules (jumps, admin jump,
isolation rules) beside `iptables -S CNI-FORWARD`; when a shared rule is missing, the chains
involved are listed (`iptables -S CHAIN`) and the batch creates what is missing. That slow path
runs under an exclusive flock (LOCK_PATH) with a fresh probe, so concurrent ADDs of ours never
insert a shared rule twice (iptables-nft replays a batch whose reading went stale, so `-N` alone
does not guard against that); a batch that fails anyway is rendered again on a fresh reading.
DEL first deletes without reading (listing CNI-FORWARD only when that fails); CHECK is one `-C`
batch.
"""

from __future__ import annotations

import os
import sys

from libcni.types.errors import CNIError, ErrCode
from pkg import iptables
from pkg.command import run_parallel

from . import rules
from .config import FirewallConfig

ATTEMPTS = 4
LOCK_PATH = "/run/cni/firewall.lock"
TABLE = "filter"


def _label(family: int) -> str:
    return iptables.binary(family == 6)


def read(families: tuple[int, ...], names: list[str]) -> dict[int, rules.FilterTable | str]:
    """The named chains of each family (`iptables -S CHAIN`, all side by side), or the error text."""
    listed = iptables.list_chains([(name, f == 6) for f in families for name in names], TABLE)
    out: dict[int, rules.FilterTable | str] = {}
    for n, family in enumerate(families):
        found = listed[n * len(names) : (n + 1) * len(names)]
        error = next((r for r in found if isinstance(r, iptables.IptablesError)), None)
        if error is not None:
            out[family] = error.msg
        else:
            out[family] = rules.FilterTable.of_chains(dict(zip(names, found, strict=True)))  # type: ignore[arg-type]
    return out


def probe(
    families: tuple[int, ...], shared: list[tuple[str, rules.Rule]], list_priv: bool
) -> dict[int, tuple[bool, iptables.ChainRules]]:
    """Per family, side by side: whether every shared rule is there (one `-C` batch; True when
    there is none to probe) and the listing of CNI-FORWARD (None when not asked for)."""
    check = "\n".join(rules.check_batch(shared)) + "\n" if shared else None
    commands: list[tuple[list[str], str | None]] = []
    for family in families:
        if check is not None:
            commands.append((iptables.restore_argv(family), check))
        if list_priv:
            commands.append((iptables.list_argv(rules.PRIV_CHAIN, family == 6, TABLE), None))
    procs = iter(run_parallel(commands))
    out: dict[int, tuple[bool, iptables.ChainRules]] = {}
    for family in families:
        present = next(procs).returncode == 0 if check is not None else True
        listing = iptables.parse_listing(rules.PRIV_CHAIN, next(procs)) if list_priv else None
        out[family] = (present, listing)
    return out


def lock(path: str = LOCK_PATH) -> int:
    """An exclusive flock held until the descriptor is closed."""
    import fcntl

    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def add(conf: FirewallConfig, *, addresses: bool = True, isolation: bool = False) -> None:
    """The address rules (when `addresses`) and the isolation chains (when `isolation`) for every
    family of the prevResult addresses (Go's findProtos); one batch per family, all or nothing,
    and a family that fails takes the address rules of the others out again."""
    held: list[int] = []
    try:
        failed = _add(conf, addresses, isolation, held)
    finally:
        for fd in held:
            os.close(fd)
    if failed:
        done = tuple(f for f in conf.families if f not in failed)
        if done and addresses:
            delete(conf, done)
        family, text = next(iter(failed.items()))
        raise CNIError(ErrCode.INTERNAL, f"failed to set up {_label(family)} firewall rules: {text}")


def _add(conf: FirewallConfig, addresses: bool, isolation: bool, held: list[int]) -> dict[int, str]:
    """The attempts of `add`; the lock it takes goes into `held`. The families that failed."""
    bridge = conf.bridge if isolation else None
    isolated = conf.ingress_policy == "isolated"
    shared = rules.shared_rules(conf.admin_chain, addresses, bridge, isolated)
    names = rules.chains_read(conf.admin_chain, addresses, bridge)
    pending = conf.families
    failed: dict[int, str] = {}
    for _ in range(ATTEMPTS):
        if not pending:
            break
        probed = probe(pending, shared, addresses)
        unknown = tuple(
            f for f, (present, listing) in probed.items() if not present or isinstance(listing, Exception)
        )
        if unknown and not held:
            held.append(lock())
            continue  # probe again: the call we waited for may have made it all
        tables = read(unknown, names) if unknown else {}
        batches: dict[int, list[str]] = {}
        failed = {}
        for family in pending:
            hosts = conf.hosts(family) if addresses else []
            if family in unknown:
                table = tables[family]
                if isinstance(table, str):
                    failed[family] = table
                    continue
                batch = rules.add_batch(table, hosts, conf.admin_chain, bridge, isolated)
            else:
                listing = probed[family][1]
                table = rules.FilterTable.of_chains({rules.PRIV_CHAIN: listing})  # type: ignore[dict-item]
                batch = rules.add_batch(table, hosts, conf.admin_chain, shared_present=True)
            if batch is not None:
                batches[family] = batch
        if failed:  # a chain cannot even be read: retrying will not help
            break
        failed = iptables.restore_all(batches) if batches else {}
        pending = tuple(failed)
    return failed


def delete(conf: FirewallConfig, families: tuple[int, ...] | None = None) -> None:
    """Remove the address rules: first a batch deleting each once, without reading (the usual
    DEL after ADD: one process per family); where that fails, CNI-FORWARD is listed and only the
    rules it has are deleted. As in Go, failures are only reported on stderr."""
    pending = conf.families if families is None else families
    optimistic: dict[int, list[str]] = {}
    for family in pending:
        batch = rules.optimistic_del_batch(conf.hosts(family))
        if batch is not None:
            optimistic[family] = batch
    errors = iptables.restore_all(optimistic) if optimistic else {}
    pending = tuple(f for f in pending if f in errors or f not in optimistic)
    failed: dict[int, str] = {}
    for _ in range(ATTEMPTS):
        if not pending:
            break
        batches: dict[int, list[str]] = {}
        for family, table in read(pending, [rules.PRIV_CHAIN]).items():
            if isinstance(table, str):
                failed[family] = table
                continue
            batch = rules.del_batch(table, conf.hosts(family))
            if batch is not None:
                batches[family] = batch
        errors = iptables.restore_all(batches) if batches else {}
        failed.update(errors)
        pending = tuple(errors)
    for family, text in failed.items():
        sys.stderr.write(f"firewall: could not remove the {_label(family)} rules: {text}\n")


def check(conf: FirewallConfig) -> None:
    """One `-C` batch per family, side by side; the first missing rule gets Go's message."""
    wanted = {f: rules.check_rules(conf.hosts(f), conf.admin_chain) for f in conf.families}
    wanted = {f: w for f, w in wanted.items() if w}
    families = tuple(wanted)
    batches = {f: rules.check_batch((chain, rule) for chain, rule, _ in wanted[f]) for f in families}
    procs = run_parallel([(iptables.restore_argv(f), "\n".join(batches[f]) + "\n") for f in families])
    for family, proc in zip(families, procs, strict=True):
        if proc.returncode == 0:
            continue
        stderr = proc.stderr.decode(errors="replace").strip()
        number = iptables.failed_line(stderr)
        index = number - 2 if number is not None else -1  # line 1 is "*filter"
        if 0 <= index < len(wanted[family]):
            raise CNIError(ErrCode.INTERNAL, wanted[family][index][2])
        raise CNIError(
            ErrCode.INTERNAL, f"{proc.args[0]} failed: {stderr or f'exit status {proc.returncode}'}"
        )
