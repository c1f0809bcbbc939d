"""Is a delegate found in CNI_PATH one of our own programs of this very build? Then the delegating
plugin runs it in-process (pkg/ipam.py through libcni.skel.delegate_plugin): identical results,
one process start-up saved. A wrapper script, another build or another project is exec'd as is.

- From source: the delegate is a shim of this checkout for this python (launcher/shims.py).
- Frozen: the delegate is the frozen program of that name in our support directory, or the
  launcher beside it (launcher/stub/stub.c carries its program's name as a marker).
"""

from __future__ import annotations

import os
import sys

from launcher.programs import ENTRIES, PROJECT, SUPPORT_DIR
from libcni.skel import Plugin, import_module


def plugin_for(path: str, plugin_type: str) -> Plugin | None:
    if plugin_type not in ENTRIES or not _is_this_program(path, plugin_type):
        return None
    return getattr(import_module(ENTRIES[plugin_type]), "PLUGIN", None)


def _is_this_program(path: str, plugin_type: str) -> bool:
    if getattr(sys, "frozen", False):
        return _is_our_frozen_program(path, plugin_type)
    from launcher.shims import TEMPLATE

    expected = TEMPLATE.format(python=sys.executable, name=plugin_type).encode()
    try:
        with open(path, "rb") as f:
            return f.read(len(expected) + 1) == expected
    except OSError:
        return False


def _is_our_frozen_program(path: str, plugin_type: str) -> bool:
    support = os.path.dirname(sys.executable)
    real = os.path.realpath(path)
    if os.path.dirname(real) == support:
        return os.path.basename(real) == plugin_type
    try:
        if not os.path.samefile(os.path.join(os.path.dirname(real), SUPPORT_DIR), support):
            return False
        with open(real, "rb") as f:
            return f"\n{PROJECT}-program={plugin_type}\n".encode() in f.read(1 << 20)
    except OSError:
        return False
