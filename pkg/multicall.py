"""One entry point for every executable: dispatch on the name it was called by (argv[0]).

The PyInstaller bundle is a single program with bridge, host-local, tuning, portmap and
cnitool as links to it; the test shims call `run(name)` directly.
"""

from __future__ import annotations

import importlib
import os
import sys

ENTRIES: dict[str, str] = {
    "bridge": "plugins.bridge",
    "tuning": "plugins.tuning",
    "portmap": "plugins.portmap",
    "host-local": "ipam.host_local",
    "cnitool": "libcni.cnitool",
}


def run(name: str) -> None:
    module = ENTRIES.get(name)
    if module is None:
        sys.stderr.write(f"unknown program {name!r}; this bundle provides: {', '.join(sorted(ENTRIES))}\n")
        raise SystemExit(2)
    importlib.import_module(module).main()


def main() -> None:
    name = os.path.basename(sys.argv[0])
    if name not in ENTRIES and len(sys.argv) > 1 and sys.argv[1] in ENTRIES:
        # called as the bundle itself: `cni-plugins bridge` works like `bridge`
        name = sys.argv.pop(1)
    run(name)


if __name__ == "__main__":
    main()
