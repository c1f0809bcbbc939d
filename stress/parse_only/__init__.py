"""Verb modules that run only the pure front half of each plugin's verbs: decoding, validation,
CNI_ARGS, runtimeConfig, prevResult parsing and result conversion, with the plugins' own
functions, and stop before the first kernel or disk action.

`dispatch(Plugin(name, commands="stress.parse_only.<plugin>"), env, stdin)` then runs the real
skeleton and the real parsers at ~0.3 ms per input, which is how the fuzzer reaches 100,000+
inputs; a share of the inputs also runs the complete verbs against the kernel (stress/fuzz.py).
"""

from __future__ import annotations

from libcni.skel import Plugin
from libcni.types.results import IPConfig, Result
from libcni.types.version import CURRENT

MODULES = {
    "bridge": "stress.parse_only.bridge",
    "host-local": "stress.parse_only.host_local",
    "tuning": "stress.parse_only.tuning",
    "portmap": "stress.parse_only.portmap",
}


def plugin(name: str) -> Plugin:
    return Plugin(name=name, commands=MODULES[name])


def stand_in_result() -> Result:
    """What an interface plugin would report; the skeleton converts it to the config's version."""
    return Result(cniVersion=CURRENT, ips=[IPConfig(address="10.77.0.2/24", gateway="10.77.0.1")])
