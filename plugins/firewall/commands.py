"""firewall verbs (Go's plugins/meta/firewall).

ADD: the backend lets the prevResult addresses through (iptables: CNI-FORWARD rules, firewalld:
the addresses join a zone), then same-bridge / isolated set up the CNI-ISOLATION chains with
iptables whatever the backend; prevResult is passed through. DEL removes the address rules (the
shared chains stay, as in Go); CHECK verifies them. GC and STATUS do nothing, as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from libcni.skel import CmdArgs
from libcni.types.errors import CNIError
from libcni.types.results import Result

from .config import FIREWALLD, IPTABLES, POLICIES, FirewallConfig, check_bridge, load, policy_error

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` is not imported on the call path
    from typing import Any


def backend(conf: FirewallConfig, env: Mapping[str, str]) -> Any:
    """Go's getBackend: the named one, else firewalld when it owns its bus name, else iptables.
    Either has add(conf), delete(conf) and check(conf)."""
    if conf.backend == IPTABLES:
        return _iptables()
    from . import firewalld

    if conf.backend == FIREWALLD or firewalld.running(env):
        return firewalld.Backend(env)
    return _iptables()


def _iptables() -> ModuleType:
    from . import iptables_backend

    return iptables_backend


def prepare_add(args: CmdArgs) -> FirewallConfig:
    conf = load(args, need_prev=True)
    if conf.isolating:
        check_bridge(conf)
    return conf


def prepare_del(args: CmdArgs) -> FirewallConfig:
    return load(args, check_policy=False)


def prepare_check(args: CmdArgs) -> FirewallConfig:
    return load(args, need_prev=True)


# The pure half of each verb (the fuzzer runs these alone).
PREPARE = {"ADD": prepare_add, "DEL": prepare_del, "CHECK": prepare_check}


def cmd_add(args: CmdArgs) -> Result:
    conf = prepare_add(args)
    assert conf.prev_result is not None  # need_prev
    chosen = backend(conf, args.env)
    ipt = _iptables()
    if chosen is ipt:
        ipt.add(conf, isolation=conf.isolating)  # one batch per family for both parts
        return conf.prev_result
    chosen.add(conf)
    if conf.isolating:  # iptables whatever the backend, as in Go
        try:
            ipt.add(conf, addresses=False, isolation=True)
        except CNIError:
            chosen.delete(conf)
            raise
    return conf.prev_result


def cmd_del(args: CmdArgs) -> None:
    conf = prepare_del(args)
    backend(conf, args.env).delete(conf)
    if conf.ingress_policy not in POLICIES:  # Go reports it after the removal
        raise policy_error(conf.ingress_policy)


def cmd_check(args: CmdArgs) -> None:
    conf = prepare_check(args)
    backend(conf, args.env).check(conf)
