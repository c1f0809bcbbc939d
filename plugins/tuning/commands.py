"""tuning verbs: ADD writes sysctls and link attributes in the container netns (backing the link
attributes up), DEL restores them from the backup and always succeeds, CHECK compares.

Everything that can be refused (config, allow-list, keys, MAC, result conversion) is refused
before the netns is touched; a failed ADD puts back what it changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import AnyResult, Result, as_current, convert, parse_result
from pkg.mac import parse_mac
from pkg.ns import NetNS, NetNSNotFound

from . import backup, sysctls
from .config import Tuning, load, reject_duplicate_sysctl_keys

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


def cmd_add(args: CmdArgs) -> AnyResult:
    reject_duplicate_sysctl_keys(args.stdin_data)
    tuning = load(args)
    sysctls.check_allowlist(tuning.sysctl)
    sysctls.check_ifname(args.ifname)
    prev = _prev_result(tuning)
    targets = sysctls.resolve_all(tuning.sysctl, args.ifname)
    mac = _new_mac(tuning)
    result = _add_result(prev, args.ifname, mac, args.config_version)
    backup_file = backup.backup_path(tuning.data_dir, args.container_id, args.ifname)

    with NetNS.open(args.netns) as ns:
        with ns.entered():
            undo = sysctls.apply(targets)
        try:
            if tuning.changes_link:
                _tune_link(ns, args.ifname, tuning, mac, backup_file, args.container_id)
        except BaseException:
            with ns.entered():
                sysctls.revert(undo)
            raise
    return result


def _tune_link(ns: NetNS, ifname: str, tuning: Tuning, mac: str, backup_file: str, container_id: str) -> None:
    """Back up the attributes about to change, then change them; undo everything on failure."""
    from . import link_settings

    ipr = ns.iproute()
    try:
        link = link_settings.read(ipr, ifname)
        saved = link_settings.snapshot(link, tuning)
        backup.save(backup_file, saved, ifname)
        backup.record_owner(tuning.data_dir, tuning.conf.name, container_id, ifname)
        try:
            link_settings.apply(ipr, link, ifname, tuning, mac)
        except BaseException:
            if not link_settings.restore(ipr, link.index, ifname, saved):
                backup.remove(backup_file)
            raise
    finally:
        ipr.close()


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
    from . import link_settings

    try:
        ipr = ns.iproute()
    except Exception:  # noqa: BLE001 - DEL never fails
        return
    try:
        try:
            link = link_settings.read(ipr, ifname)
        except link_settings.LinkNotFound:
            backup.remove(backup_file)  # gone with its interface: nothing left to restore
            return
        except CNIError:
            return
        if not link_settings.restore(ipr, link.index, ifname, saved):
            backup.remove(backup_file)
    except Exception:  # noqa: BLE001 - DEL never fails
        return
    finally:
        ipr.close()


def cmd_check(args: CmdArgs) -> None:
    reject_duplicate_sysctl_keys(args.stdin_data)
    tuning = load(args)
    prev = _prev_result(tuning)
    as_current(convert(prev, args.config_version))  # must be a valid result (Go's NewResultFromResult)
    targets = sysctls.resolve_all(tuning.sysctl, args.ifname)
    with NetNS.open(args.netns) as ns:
        with ns.entered():
            sysctls.verify(targets)
        _check_link(ns, args.ifname, tuning)


def _check_link(ns: NetNS, ifname: str, tuning: Tuning) -> None:
    from . import link_settings

    missing = CNIError(ErrCode.INTERNAL, f"Cannot find container link {ifname}")
    needs_netlink = bool(tuning.mac or tuning.mtu) or tuning.allmulti is not None or tuning.txqlen is not None
    if not needs_netlink:
        flags = link_settings.interface_flags(ns, ifname)
        if flags is None:
            raise missing
        _compare_promisc(ifname, tuning.promisc, bool(flags & link_settings.IFF_PROMISC))
        return

    ipr = ns.iproute()
    try:
        link = link_settings.read(ipr, ifname)
    except link_settings.LinkNotFound:
        raise missing from None
    finally:
        ipr.close()
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
