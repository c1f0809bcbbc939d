"""tuning verbs: ADD writes sysctls and link attributes in the container netns (backing the link
attributes up), DEL restores them from the backup and always succeeds, CHECK compares.

Everything that can be refused (config, allow-list, keys, MAC, result conversion) is refused
before the netns is touched; a failed ADD puts back what it changed.
"""

from __future__ import annotations

from collections import namedtuple

from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import AnyResult, Result, as_current, convert, parse_result
from pkg.mac import parse_mac
from pkg.ns import NetNS, NetNSNotFound
from pkg.rollback import Rollback

from . import backup, sysctls
from .config import Tuning, load, reject_duplicate_sysctl_keys

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~2-3 ms of a cold call
if TYPE_CHECKING:  # pragma: no cover
    from libcni.skel import CmdArgs


def _prev_result(tuning: Tuning) -> AnyResult:
    prev = tuning.conf.prevResult
    if prev is None:
        raise CNIError(ErrCode.INTERNAL, "Required prevResult missing")
    return parse_result(prev, tuning.conf.cniVersion)


def _new_mac(tuning: Tuning) -> str:
    """The configured MAC in the kernel's form, or '' when none is set."""
    if not tuning.mac:
        return ""
    try:
        return parse_mac(tuning.mac)
    except CNIError:
        raise CNIError(
            ErrCode.INVALID_NETWORK_CONFIG,
            f"invalid args {tuning.mac} for MAC addr: address {tuning.mac}: invalid MAC address",
            "mac",
        ) from None


def _add_result(prev: AnyResult, ifname: str, mac: str, version: str) -> AnyResult:
    """prevResult in the config's version; the interface named CNI_IFNAME gets the new MAC.
    Converted here so a result that cannot be expressed fails before anything changes."""
    result: AnyResult = prev
    if mac:
        current: Result = as_current(convert(prev, version))
        for iface in current.interfaces:
            if iface.name == ifname:
                iface.mac = mac
        result = current
    return convert(result, version)


class AddPlan(namedtuple("AddPlan", "tuning targets mac result backup_file")):
    """What ADD will do, decided before the netns is touched."""

    __slots__ = ()
    tuning: Tuning
    targets: list[tuple[str, str]]
    mac: str
    result: AnyResult
    backup_file: str


def prepare_add(args: CmdArgs) -> AddPlan:
    """Everything ADD refuses (keys, allow-list, MAC, sysctl paths, prevResult and its conversion)."""
    reject_duplicate_sysctl_keys(args.conf)
    tuning = load(args)
    sysctls.check_allowlist(tuning.sysctl)
    sysctls.check_ifname(args.ifname)
    prev = _prev_result(tuning)
    targets = sysctls.resolve_all(tuning.sysctl, args.ifname)
    mac = _new_mac(tuning)
    result = _add_result(prev, args.ifname, mac, args.config_version)
    backup_file = backup.backup_path(tuning.data_dir, args.container_id, args.ifname)
    return AddPlan(tuning, targets, mac, result, backup_file)


def prepare_check(args: CmdArgs) -> tuple[Tuning, list[tuple[str, str]]]:
    reject_duplicate_sysctl_keys(args.conf)
    tuning = load(args)
    prev = _prev_result(tuning)
    as_current(convert(prev, args.config_version))  # must be a valid result (Go's NewResultFromResult)
    return tuning, sysctls.resolve_all(tuning.sysctl, args.ifname)


# The pure half of each verb (the fuzzer runs these alone).
PREPARE = {"ADD": prepare_add, "DEL": load, "CHECK": prepare_check, "GC": load}


def cmd_add(args: CmdArgs) -> AnyResult:
    tuning, targets, mac, result, backup_file = prepare_add(args)
    with NetNS.open(args.netns) as ns, Rollback() as rollback:
        with ns.entered():
            undo = sysctls.apply(targets)  # all or nothing
        rollback.push("restore sysctls", lambda: _revert_sysctls(ns, undo))
        if tuning.changes_link:
            _tune_link(ns, args.ifname, tuning, mac, backup_file, rollback, args.container_id)
    return result


def _revert_sysctls(ns: NetNS, undo: list[tuple[str, str]]) -> None:
    with ns.entered():
        sysctls.revert(undo)


def _tune_link(
    ns: NetNS, ifname: str, tuning: Tuning, mac: str, backup_file: str, rollback: Rollback, container_id: str
) -> None:
    """Back up the attributes about to change, then change them (the rollback restores them)."""
    from . import link_settings

    with ns.rtnl() as nl:
        link = link_settings.read(nl, ifname)
        saved = link_settings.snapshot(link, tuning)
        backup.save(backup_file, saved, ifname)
        rollback.push("restore link", lambda: _restore_link_state(ns, link.index, ifname, saved, backup_file))
        backup.record_owner(tuning.data_dir, tuning.conf.name, container_id, ifname)
        link_settings.apply(nl, link, ifname, tuning, mac)


def _restore_link_state(
    ns: NetNS, index: int, ifname: str, saved: backup.SavedLink, backup_file: str
) -> None:
    from . import link_settings

    with ns.rtnl() as nl:
        if not link_settings.restore(nl, index, ifname, saved):
            backup.remove(backup_file)  # nothing left to restore on DEL


def cmd_del(args: CmdArgs) -> None:
    """Restore what the backup holds. Never fails once the config parsed (Go semantics)."""
    tuning = load(args)
    try:
        backup_file = backup.backup_path(tuning.data_dir, args.container_id, args.ifname)
    except CNIError:
        return
    saved = backup.load(backup_file)
    backup.forget_owner(tuning.data_dir, tuning.conf.name, args.container_id, args.ifname)
    if saved is None:
        return
    try:
        ns = NetNS.open(args.netns)
    except NetNSNotFound:
        # The interface went with its netns: nothing can ever be restored, drop the stale backup.
        backup.remove(backup_file)
        return
    except CNIError:
        return
    with ns:
        _restore_link(ns, args.ifname, saved, backup_file)


def _restore_link(ns: NetNS, ifname: str, saved: backup.SavedLink, backup_file: str) -> None:
    """DEL never fails: a link that cannot be read or restored keeps its backup for a next DEL."""
    from . import link_settings

    try:
        nl = ns.rtnl()
    except OSError:  # no netlink socket (fd limits, ...): nothing can be restored now
        return
    with nl:
        try:
            link = link_settings.read(nl, ifname)
        except link_settings.LinkNotFound:
            backup.remove(backup_file)  # gone with its interface: nothing left to restore
            return
        except CNIError:
            return
        if not link_settings.restore(nl, link.index, ifname, saved):
            backup.remove(backup_file)


def cmd_check(args: CmdArgs) -> None:
    tuning, targets = prepare_check(args)
    with NetNS.open(args.netns) as ns:
        with ns.entered():
            sysctls.verify(targets)
        _check_link(ns, args.ifname, tuning)


def _check_link(ns: NetNS, ifname: str, tuning: Tuning) -> None:
    from . import link_settings

    with ns.rtnl() as nl:
        try:
            link = link_settings.read(nl, ifname)
        except link_settings.LinkNotFound:
            raise CNIError(ErrCode.INTERNAL, f"Cannot find container link {ifname}") from None
    if tuning.mac:
        try:
            wanted = parse_mac(tuning.mac)
        except CNIError:
            wanted = tuning.mac
        if wanted != link.mac:
            raise CNIError(
                ErrCode.INTERNAL,
                f"Error: Tuning configured Ethernet of {ifname} is {tuning.mac}, current value is {link.mac}",
            )
    _compare_promisc(ifname, tuning.promisc, link.promisc)
    if tuning.mtu and tuning.mtu != link.mtu:
        raise CNIError(
            ErrCode.INTERNAL,
            f"Error: Tuning configured MTU of {ifname} is {tuning.mtu}, current value is {link.mtu}",
        )
    if tuning.allmulti is not None and tuning.allmulti != link.allmulti:
        raise CNIError(
            ErrCode.INTERNAL,
            f"Error: Tuning configured all-multicast mode of {ifname} is {_go_bool(tuning.allmulti)}, "
            f"current value is {_go_bool(link.allmulti)}",
        )
    if tuning.txqlen is not None and tuning.txqlen != link.txqlen:
        raise CNIError(
            ErrCode.INTERNAL,
            f"Error: Tuning configured Transmit Queue Length of {ifname} is {tuning.txqlen}, "
            f"current value is {link.txqlen}",
        )


def _compare_promisc(ifname: str, wanted: bool, current: bool) -> None:
    """Exact: promisc false (or absent) means the link must NOT be promiscuous."""
    if wanted != current:
        raise CNIError(
            ErrCode.INTERNAL,
            f"Error: Tuning link {ifname} configured promisc is {_go_bool(wanted)}, "
            f"current value is {int(current)}",
        )


def _go_bool(value: bool) -> str:
    return "true" if value else "false"


def cmd_gc(args: CmdArgs) -> None:
    """Remove the backups of this network's attachments that are gone (not in Go's tuning). Without
    a cni.dev/valid-attachments list nothing is known to be stale: nothing is removed."""
    from libcni.gc import valid_attachments

    tuning = load(args)
    valid = valid_attachments(tuning.conf)
    if valid is None:
        return
    backup.gc(tuning.data_dir, tuning.conf.name, set(valid.pairs))
