"""Plugins that run only the pure half of their verbs: each plugin's own `PREPARE` functions
(decode, validate, CNI_ARGS, runtimeConfig, prevResult and result conversion), stopping before
the first kernel or disk action.

`dispatch(prepared.plugin(name), env, stdin)` runs the real skeleton and the plugins' real
preparation at well under a millisecond per input, which is how the fuzzer reaches 100,000+ inputs;
a share of the inputs also runs the complete verbs against the kernel (stress/fuzz.py).
"""

from __future__ import annotations

import importlib
import sys
import types

from launcher.programs import ENTRIES
from libcni.skel import CmdArgs, Plugin
from libcni.types.results import IPConfig, Result
from libcni.types.version import CURRENT


# Kernel questions a preparation may ask (portmap's backend probes), answered without the kernel.
def _answered_probes() -> dict:
    from plugins.portmap.commands import Probes

    return {"probes": Probes(iptables_usable=lambda: True, nftables_usable=lambda: True)}


_PROBES = {"portmap": _answered_probes}
# What ADD reports once prepared, for the chained plugins; interface plugins report a stand-in.
_RESULTS = {
    "tuning": lambda plan: plan.result,
    "portmap": lambda plan: plan.prev_result,
    "firewall": lambda plan: plan.prev_result,
}
_VERBS = {"ADD": "cmd_add", "DEL": "cmd_del", "CHECK": "cmd_check", "GC": "cmd_gc", "STATUS": "cmd_status"}


def stand_in_result() -> Result:
    """What an interface plugin would report; the skeleton converts it to the config's version."""
    return Result(cniVersion=CURRENT, ips=[IPConfig(address="10.77.0.2/24", gateway="10.77.0.1")])


def _commands(name: str) -> types.ModuleType:
    """The verb module of program `name` (its Plugin's `commands`)."""
    return importlib.import_module(importlib.import_module(ENTRIES[name]).PLUGIN.commands)


def prepare(name: str, args: CmdArgs) -> object:
    """Run plugin `name`'s preparation of args.command, and its IPAM delegate's when it has one."""
    step = _commands(name).PREPARE.get(args.command)
    if step is None:
        return None
    extra = _PROBES.get(name)
    plan = step(args, **(extra() if extra else {}))
    ipam_type = getattr(plan, "ipam_type", "")
    if ipam_type in ENTRIES and ipam_type != name:
        prepare(ipam_type, args)
    return plan


def _verb(name: str, command: str):  # noqa: ANN202
    def run(args: CmdArgs) -> object:
        plan = prepare(name, args)
        if command != "ADD":
            return None
        report = _RESULTS.get(name)
        return report(plan) if report is not None else stand_in_result()

    return run


def plugin(name: str) -> Plugin:
    """A Plugin whose verbs are `name`'s preparations (a module made on first use)."""
    module_name = f"{__name__}.{name.replace('-', '_')}"
    if module_name not in sys.modules:
        module = types.ModuleType(module_name)
        for command, handler in _VERBS.items():
            setattr(module, handler, _verb(name, command))
        sys.modules[module_name] = module
    return Plugin(name=name, commands=module_name)
