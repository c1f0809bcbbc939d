"""The iptables backend: read the few chains a change touches (`iptables -S CHAIN`, never the whole nat
table, so the cost stays flat however many rules kube-proxy keeps there), apply one
`iptables-restore --noflush` batch per family. iptables and ip6tables are independent, so both
families run side by side."""

from __future__ import annotations

import errno
import time

from libcni.types.errors import CNIError, ErrCode
from pkg import iptables
from pkg.command import run_parallel

from . import iptables_rules as rules
from .config import ContainerNet, PortMapConfig

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    import _socket

FAMILIES = (4, 6)
Batch = list[str]
LOCK_NAME = "cni-portmap-iptables-setup"


def family_label(family: int) -> str:
    return "ipv6" if family == 6 else "ipv4"


def read(families: tuple[int, ...], names: list[str]) -> dict[int, rules.NatTable | CNIError]:
    """The named chains of each family's nat table (`iptables -S CHAIN`, all side by side; never the
    whole table); an error where that family is unusable."""
    listed = iptables.list_chains([(name, f == 6) for f in families for name in names])
    out: dict[int, rules.NatTable | CNIError] = {}
    for n, family in enumerate(families):
        found = listed[n * len(names) : (n + 1) * len(names)]
        error = next((r for r in found if isinstance(r, iptables.IptablesError)), None)
        if error is not None:
            out[family] = CNIError(ErrCode.INTERNAL, error.msg)
        else:
            out[family] = rules.NatTable.of_chains(dict(zip(names, found, strict=True)))  # type: ignore[arg-type]
    return out


def usable_tables(families: tuple[int, ...], names: list[str]) -> dict[int, rules.NatTable]:
    """Go's maybeGetIptables for each family: an error only when none is usable."""
    found = read(families, names)
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
                raise CNIError(ErrCode.INTERNAL, f"unable to create chain {name}: {err.msg}") from None


def needs_localnet_guard(conf: PortMapConfig, families) -> bool:
    """snat on IPv4: route_localnet gets enabled, so the guard goes in (localnet.py)."""
    return conf.snat and 4 in families


def probe_shared(
    conf: PortMapConfig, families: tuple[int, ...], guard: list[str] | None = None
) -> dict[int, tuple[bool, iptables.ChainRules]]:
    """For each family, side by side: whether every shared rule is already there (one
    `iptables-restore` of `-C` lines) and the rules of CNI-HOSTPORT-DNAT (stale jumps to the
    container's chain). Two processes per family instead of a listing of six chains. With a
    `guard` list, also (at the same time) the IPv4 raw PREROUTING chain, whose route_localnet guard
    lines still missing are appended to it (localnet.iptables_guard_batch)."""
    check = "\n".join(rules.shared_check_batch(conf)) + "\n"
    commands: list[tuple[list[str], str | None]] = []
    for family in families:
        commands += [
            (iptables.restore_argv(family), check),
            (iptables.list_argv(rules.TOP_LEVEL_DNAT_CHAIN, family == 6), None),
        ]
    if guard is not None:
        commands.append((iptables.list_argv("PREROUTING", False, "raw"), None))
    procs = run_parallel(commands)
    if guard is not None:
        raw = procs.pop()
        if raw.returncode == 0:
            from .localnet import iptables_guard_batch

            guard += iptables_guard_batch(raw.stdout.decode(errors="replace"))
    return {
        family: (
            procs[2 * n].returncode == 0,
            iptables.parse_listing(rules.TOP_LEVEL_DNAT_CHAIN, procs[2 * n + 1]),
        )
        for n, family in enumerate(families)
    }


def forward(conf: PortMapConfig, container_id: str, nets: list[ContainerNet]) -> None:
    by_family = {net.family: net for net in nets}
    families = tuple(by_family)
    guard: list[str] | None = [] if needs_localnet_guard(conf, by_family) else None
    probed = probe_shared(conf, families, guard)
    if all(present and isinstance(dnat, list) for present, dnat in probed.values()):
        batches = {
            family: rules.add_batch(
                conf,
                container_id,
                by_family[family],
                rules.NatTable.of_chains({rules.TOP_LEVEL_DNAT_CHAIN: dnat}),  # type: ignore[dict-item]
                shared_present=True,
            )
            for family, (_, dnat) in probed.items()
        }
        commit_add(conf, container_id, _with_guard(batches, guard))
        return
    # Shared rules to add (a first ADD on this host): read, create and apply holding the lock, so
    # that first ADDs racing each other add them once.
    with setup_lock():
        batches = {}
        for family, table in read(families, rules.add_reads(conf)).items():
            if isinstance(table, CNIError):
                raise CNIError(ErrCode.INTERNAL, f"failed to open iptables: {table.msg}")
            missing = rules.missing_shared_chains(conf, table)
            if missing:
                create_chains(missing, family == 6)
                for name in missing:
                    table.chains.setdefault(name, [])
            batches[family] = rules.add_batch(conf, container_id, by_family[family], table)
        commit_add(conf, container_id, _with_guard(batches, guard))


def _with_guard(batches: dict[int, Batch], guard: list[str] | None) -> dict[int, Batch]:
    """The route_localnet guard's missing lines ride in the IPv4 batch (localnet.py)."""
    if guard and 4 in batches:
        batches[4] += guard
    return batches


def commit_add(conf: PortMapConfig, container_id: str, batches: dict[int, Batch]) -> None:
    errors = iptables.restore_all(batches)
    if errors:
        done = tuple(f for f in batches if f not in errors)
        if done:  # roll back the families that were set up
            try:
                unforward(conf, container_id, done)
            except CNIError:
                pass
        raise CNIError(ErrCode.INTERNAL, f"unable to setup DNAT: {next(iter(errors.values()))}")


class setup_lock:  # noqa: N801  (used as a function: `with setup_lock():`)
    """A lock for the ADDs that add shared rules: an abstract unix socket bound to `name`, which
    exists per network namespace (as the nat table does), needs no file, and goes away with its
    process. Best effort: after `timeout` the call goes on without it (at worst a shared rule is
    doubled, as racing Go ADDs do). Never the xtables lock: iptables-restore --wait takes that one.
    A plain context manager class: `contextlib` costs ~4 ms of a cold call."""

    __slots__ = ("name", "timeout", "_sock")

    def __init__(self, name: str = LOCK_NAME, timeout: float = 30.0) -> None:
        self.name = name
        self.timeout = timeout
        self._sock: _socket.socket | None = None

    def __enter__(self) -> None:
        import _socket  # only on this rare path (a first ADD on a host); the C module: no enum

        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
        self._sock = sock
        try:
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    sock.bind("\0" + self.name)
                    break
                except OSError as err:
                    if err.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                        break
                    time.sleep(0.005)
        except BaseException:
            self._close()
            raise

    def __exit__(self, *exc: object) -> None:
        self._close()  # releases the name

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def _apply(batches: dict[int, Batch], what: str) -> None:
    errors = iptables.restore_all(batches) if batches else {}
    for family, text in errors.items():
        raise CNIError(ErrCode.INTERNAL, f"could not {what} {family_label(family)} dnat: {text}")


def unforward(conf: PortMapConfig, container_id: str, families: tuple[int, ...] = FAMILIES) -> None:
    tables = usable_tables(families, rules.del_reads(conf.name, container_id))
    legacy = tuple(
        f for f, t in tables.items() if t.has_chain(rules.old_snat_chain_name(conf.name, container_id))
    )
    for family, table in (read(legacy, [rules.OLD_TOP_LEVEL_SNAT_CHAIN]) if legacy else {}).items():
        if isinstance(table, rules.NatTable):
            tables[family].chains.update(table.chains)
    batches = {}
    for family, table in tables.items():
        batch = rules.del_batch(conf.name, container_id, table)
        if batch is not None:
            batches[family] = batch
    _apply(batches, "teardown")


def gc(conf: PortMapConfig) -> None:
    """Only CNI-HOSTPORT-DNAT is read: a jump to a chain proves it exists, and teardown needs no more."""
    valid = conf.valid_container_ids
    assert valid is not None  # without the list cmd_gc removes nothing
    batches = {}
    for family, table in usable_tables(FAMILIES, [rules.TOP_LEVEL_DNAT_CHAIN]).items():
        for saved in list(table.chains.get(rules.TOP_LEVEL_DNAT_CHAIN, [])):
            target = rules.jump_target(saved)
            if target is not None:
                table.chains.setdefault(target, [])
        batch = rules.gc_batch(conf.name, valid, table)
        if batch is not None:
            batches[family] = batch
    _apply(batches, "garbage-collect")


def check(conf: PortMapConfig, container_id: str, nets: list[ContainerNet]) -> None:
    chain = rules.dnat_chain_name(conf.name, container_id)
    for net in nets:
        table = usable_tables((net.family,), [chain])[net.family]
        what = f"could not check {family_label(net.family)} dnat"
        if not table.has_chain(chain):
            raise CNIError(ErrCode.INTERNAL, f"{what}: chain {chain} not found in iptables table nat")
        lines, checks = rules.check_batch(conf, container_id, net)
        try:
            iptables.restore(lines, net.family == 6)
        except iptables.IptablesError as err:
            number = iptables.failed_line(err.stderr)
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
