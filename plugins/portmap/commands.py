"""portmap verbs: forward host ports to the container addresses of the previous result.

ADD: parse, pick the container's first IPv4 / IPv6, apply the backend's rules (one atomic
batch), flush stale UDP conntrack entries, enable route_localnet for 127.0.0.1 (v4 + snat),
print prevResult. No mappings: nothing is touched, on any verb.
"""

from __future__ import annotations

import sys
from collections import namedtuple

from libcni.skel import CmdArgs, import_module
from libcni.types.errors import CNIError, ErrCode
from libcni.types.results import Result
from pkg.rollback import Rollback

from .config import PortMapConfig, parse_config, with_prefix

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

PARSE_PREFIX = "failed to parse config: "
_BACKENDS = {"iptables": "plugins.portmap.iptables_backend", "nftables": "plugins.portmap.nft_backend"}


def backend_module(name: str) -> ModuleType:
    return import_module(_BACKENDS[name])


def _iptables_usable() -> bool:
    return backend_module("iptables").usable()


def _nftables_usable() -> bool:
    return backend_module("nftables").usable()


class Probes(
    namedtuple("Probes", "iptables_usable nftables_usable", defaults=(_iptables_usable, _nftables_usable))
):
    """The kernel questions the backend choice may ask (the fuzzer answers them itself)."""

    __slots__ = ()
    iptables_usable: Callable[[], bool]
    nftables_usable: Callable[[], bool]


KERNEL = Probes()


def load(
    args: CmdArgs,
    *,
    strict: bool,
    prefix: str = PARSE_PREFIX,
    need_backend: bool = False,
    probes: Probes = KERNEL,
) -> PortMapConfig:
    """Parse the config; the backend is probed (through `probes`) only when a decision needs it."""
    try:
        return parse_config(
            args.conf,
            args.ifname,
            iptables_usable=probes.iptables_usable,
            nftables_usable=probes.nftables_usable,
            strict=strict,
            need_backend=need_backend,
        )
    except CNIError as err:
        raise with_prefix(err, prefix) from None


def prepare_add(args: CmdArgs, probes: Probes = KERNEL) -> PortMapConfig:
    conf = load(args, strict=True, probes=probes)
    if conf.prev_result is None:
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, "must be called as chained plugin")
    return conf


def prepare_del(args: CmdArgs, probes: Probes = KERNEL) -> PortMapConfig:
    return load(args, strict=False, probes=probes)


def prepare_check(args: CmdArgs, probes: Probes = KERNEL) -> PortMapConfig:
    conf = load(args, strict=True, prefix="", probes=probes)
    if conf.prev_result is None:
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, "Required prevResult missing")
    return conf


def prepare_gc(args: CmdArgs, probes: Probes = KERNEL) -> PortMapConfig:
    return load(args, strict=False, need_backend=True, probes=probes)


# The pure half of each verb (the fuzzer runs these alone, answering the backend probes itself).
PREPARE = {
    "ADD": prepare_add,
    "DEL": prepare_del,
    "CHECK": prepare_check,
    "GC": prepare_gc,
    "STATUS": prepare_gc,
}


def cmd_add(args: CmdArgs) -> Result:
    conf = prepare_add(args)
    assert conf.prev_result is not None
    nets = conf.container_nets
    if not conf.mappings or not nets:
        return conf.prev_result
    backend = backend_module(conf.backend)
    with Rollback() as rollback:
        backend.forward(conf, args.container_id, nets)
        rollback.push("remove the port mapping rules", lambda: backend.unforward(conf, args.container_id))
        flush_udp_conntrack(conf, nets)
        v4 = next((n for n in nets if n.family == 4), None)
        if conf.snat and v4 is not None:
            from .localnet import enable_route_localnet

            enable_route_localnet(v4.ip)
    return conf.prev_result


def flush_udp_conntrack(conf: PortMapConfig, nets, *, only_to_container: bool = False) -> None:
    """ADD: after the rules are in, so new packets use them. DEL (`only_to_container`): after the
    rules are out, the entries still NAT-ed to the container's addresses, so a flow the client
    keeps refreshing is not stuck on the deleted container (plugins#1190). Failures are only
    logged (as in Go)."""
    ports = sorted({m.host_port for m in conf.mappings if m.protocol == "udp" and 0 < m.host_port < 65536})
    if not ports:
        return
    from .conntrack import delete_udp_entries

    for net in nets:
        try:
            delete_udp_entries(ports, net.family, [net.ip] if only_to_container else None)
        except OSError as err:
            sys.stderr.write(f"failed to delete stale UDP conntrack entries for {net.ip}: {err}\n")


def flush_udp_conntrack_on_del(conf: PortMapConfig) -> None:
    """The container's addresses from prevResult when given; without them, every UDP entry to the
    mapped ports of both families (a new packet is NAT-ed afresh by whatever rules remain)."""
    from .config import ContainerNet

    nets = conf.container_nets or [ContainerNet("0.0.0.0/0"), ContainerNet("::/0")]
    flush_udp_conntrack(conf, nets, only_to_container=bool(conf.container_nets))


def cmd_del(args: CmdArgs) -> None:
    conf = prepare_del(args)
    if not conf.mappings:
        return
    backend_module(conf.backend).unforward(conf, args.container_id)
    flush_udp_conntrack_on_del(conf)


def cmd_check(args: CmdArgs) -> None:
    conf = prepare_check(args)
    if not conf.mappings:
        return
    backend_module(conf.backend).check(conf, args.container_id, conf.container_nets)


def cmd_gc(args: CmdArgs) -> None:
    """Remove this network's rules of containers not in cni.dev/valid-attachments (not in Go's
    portmap). iptables: this network's CNI-DN chains (named in their comments). nftables: the
    comment is only the container ID, so ownership is the marker our ADD wrote under
    /var/lib/cni/portmap/<network>/: the rules of a marked container that is not valid go (unless
    another network marked it too), then its marker; rules without a marker (Go's) are never touched.
    Without a cni.dev/valid-attachments list nothing is known to be stale: nothing is removed."""
    if prepare_del(args).valid_container_ids is None:
        return
    conf = prepare_gc(args)
    backend_module(conf.backend).gc(conf)


def cmd_status(args: CmdArgs) -> None:
    """Ready when the firewall tool of the backend this config uses is usable (not in Go's
    portmap): the configured backend, else iptables unless only nftables works; code 50 otherwise."""
    conf = prepare_gc(args)
    if backend_module(conf.backend).usable():
        return
    tool = "nft" if conf.backend == "nftables" else "iptables"
    raise CNIError(
        ErrCode.PLUGIN_NOT_AVAILABLE,
        f"portmap cannot program port mappings: {tool} is not usable",
        f"backend {conf.backend}",
    )
