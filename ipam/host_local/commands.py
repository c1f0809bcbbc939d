"""host-local verbs: parse the config, lock the network's store, allocate or release, report."""

from __future__ import annotations

import os

from libcni.skel import CmdArgs
from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import DNS, IPConfig, Result
from libcni.types.version import CURRENT
from pkg.rollback import Rollback

from .allocator import AllocationError, allocate
from .config import IPAMConfig, Requested, load_ipam_config
from .dns import ResolvConfError, parse_resolv_conf
from .ranges import IP, RangeSet, parse_ip
from .store import Store, StoreError

# Error codes for allocation failures (the Go plugin uses 999 for all of them).
_ALLOCATION_CODES = {
    "gateway": ErrCode.INVALID_NETWORK_CONFIG,  # the requested address is the gateway
    "outside": ErrCode.INVALID_NETWORK_CONFIG,
    "taken": ErrCode.TRY_AGAIN_LATER,  # free again once its holder is deleted
    "exhausted": ErrCode.TRY_AGAIN_LATER,
    "duplicate": ErrCode.INTERNAL,  # a second ADD without DEL: kept as in Go
}


class _store:  # noqa: N801  (used as a function: `with _store(conf) as store:`)
    """The network's store, locked; `code` is the error code when it cannot be opened. The side
    index is used only for a big directory (store.INDEX_MIN_DIR_SIZE). A plain class:
    `contextlib` costs ~4 ms of a cold call."""

    __slots__ = ("conf", "code", "store")

    def __init__(self, conf: IPAMConfig, code: int = ErrCode.IO_FAILURE) -> None:
        self.conf = conf
        self.code = code
        self.store: Store | None = None

    def __enter__(self) -> Store:
        conf = self.conf
        try:
            store = Store(conf.data_dir, conf.name, use_index=None)
        except ValueError as err:
            raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, str(err), "name") from None
        try:
            store.__enter__()
        except StoreError as err:
            raise CNIError(self.code, f"cannot use dataDir {conf.data_dir}: {err}", "ipam.dataDir") from None
        self.store = store
        return store

    def __exit__(self, kind: object, err: BaseException | None, tb: object) -> None:
        store, self.store = self.store, None
        assert store is not None
        try:
            if isinstance(err, OSError):
                raise CNIError(ErrCode.IO_FAILURE, f"store {store.dir}: {err}", "ipam.dataDir") from None
        finally:
            store.__exit__(None, None, None)


def _dns(conf: IPAMConfig) -> DNS:
    if not conf.resolv_conf:
        return DNS()
    try:
        return parse_resolv_conf(conf.resolv_conf)
    except ResolvConfError as err:
        raise CNIError(
            ErrCode.INVALID_NETWORK_CONFIG,
            f"cannot use resolvConf {conf.resolv_conf}: {err}",
            "ipam.resolvConf",
        ) from None
    except OSError as err:
        raise CNIError(
            ErrCode.IO_FAILURE,
            f"cannot read resolvConf {conf.resolv_conf}: {err.strerror or err}",
            "ipam.resolvConf",
        ) from None


def _unique(requested: tuple[Requested, ...]) -> list[Requested]:
    seen: set = set()
    out = []
    for r in requested:
        if r.address not in seen:
            seen.add(r.address)
            out.append(r)
    return out


def prepare(args: CmdArgs) -> IPAMConfig:
    """The pure half of every verb: the whole IPAM configuration, validated."""
    return load_ipam_config(args.conf, args.args)


PREPARE = dict.fromkeys(("ADD", "DEL", "CHECK", "GC", "STATUS"), prepare)  # what the fuzzer runs alone


def cmd_add(args: CmdArgs) -> Result:
    conf = prepare(args)
    dns = _dns(conf)  # an unreadable resolvConf fails before anything is allocated
    pending = _unique(conf.requested)
    ips: list[IPConfig] = []
    with _store(conf) as store, Rollback() as rollback:
        # Go releases by attachment once per range set already served.
        rollback.push(
            "release", lambda: ips and store.release_by_id(args.container_id, args.ifname, len(ips))
        )
        for index, rangeset in enumerate(conf.range_sets):
            wanted = next((r for r in pending if rangeset.contains(r.address)), None)
            if wanted is not None:
                pending.remove(wanted)
            try:
                got = allocate(
                    rangeset, index, store, args.container_id, args.ifname, wanted.address if wanted else None
                )
            except AllocationError as err:
                details = wanted.source if wanted else conf.range_set_paths[index]
                raise CNIError(
                    _ALLOCATION_CODES[err.kind], f"failed to allocate for range {index}: {err}", details
                ) from None
            ips.append(IPConfig(address=got.cidr, gateway=str(got.range.gateway)))
        if pending:
            raise CNIError(
                ErrCode.INVALID_NETWORK_CONFIG,
                "failed to allocate all requested IPs: " + " ".join(str(r.address) for r in pending),
                ", ".join(r.source for r in pending),
            )
    return Result(cniVersion=CURRENT, ips=ips, routes=list(conf.routes), dns=dns)


def cmd_del(args: CmdArgs) -> None:
    conf = prepare(args)
    if not os.path.isdir(os.path.join(conf.data_dir, conf.name)):
        return  # nothing was ever allocated here; no need to create directories to find that out
    with _store(conf) as store:
        store.release_by_id(args.container_id, args.ifname, passes=len(conf.range_sets))


def cmd_check(args: CmdArgs) -> None:
    conf = prepare(args)
    with _store(conf) as store:
        if not store.find(args.container_id, args.ifname):
            raise CNIError(
                ErrCode.UNKNOWN_CONTAINER,
                f"host-local: Failed to find address added by container {args.container_id}",
            )


def cmd_gc(args: CmdArgs) -> None:
    """Release every allocation whose attachment is not in cni.dev/valid-attachments."""
    from libcni.gc import valid_attachments

    conf = prepare(args)
    listed = valid_attachments(conf.conf)
    if listed is None:
        return  # no list at all: nothing is known to be stale (an empty list releases everything)
    valid = {(container_id.strip(), ifname) for container_id, ifname in listed}
    valid_ids = {container_id for container_id, _ in valid}
    with _store(conf) as store:
        for name, (container_id, ifname) in store.allocations().items():
            keep = (container_id, ifname) in valid if ifname is not None else container_id in valid_ids
            if not keep:
                store.release(name, (container_id, ifname))


def cmd_status(args: CmdArgs) -> None:
    """Code 50 (plugin not available) when the store cannot be used or a range set is full."""
    conf = prepare(args)
    with _store(conf, code=ErrCode.PLUGIN_NOT_AVAILABLE) as store:
        if not os.access(store.dir, os.W_OK | os.X_OK):
            raise CNIError(
                ErrCode.PLUGIN_NOT_AVAILABLE,
                f"cannot use dataDir {conf.data_dir}: not writable",
                "ipam.dataDir",
            )
        allocated = [ip for ip in map(parse_ip, store.allocated_names()) if ip is not None]
        for index, rangeset in enumerate(conf.range_sets):
            used = sum(1 for ip in allocated if rangeset.contains(ip) and not _is_gateway(rangeset, ip))
            if used >= rangeset.size():
                raise CNIError(
                    ErrCode.PLUGIN_NOT_AVAILABLE,
                    f"no IP addresses available in range set: {rangeset}",
                    conf.range_set_paths[index],
                )


def _is_gateway(rangeset: RangeSet, ip: IP) -> bool:
    r = rangeset.range_for(ip)
    return r is not None and r.gateway == ip
