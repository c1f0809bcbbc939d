"""One entry point for every executable: dispatch on the name it was called by (argv[0]).

The PyInstaller bundle is a single program with bridge, host-local, tuning, portmap and
cnitool as links to it; the test shims call `run(name)` directly.

By default a plugin call runs in this process and leaves nothing behind. With CNI_PY_WARM=1 in
the caller's environment it first tries a warm server (launcher.warm): when one serves this exact
context the call runs there and this process only relays its exit code; otherwise it runs cold,
and then starts a server for the next calls. `--serve` runs the server itself; `--warm-status` /
`--warm-stop` ask the server of this context for its status, or to exit.
"""

from __future__ import annotations

import os
import sys

from launcher.programs import ENTRIES


def run(name: str) -> None:
    module = ENTRIES.get(name)
    if module is None:
        sys.stderr.write(f"unknown program {name!r}; this bundle provides: {', '.join(sorted(ENTRIES))}\n")
        raise SystemExit(2)
    after = None
    if name != "cnitool" and os.environ.get("CNI_PY_WARM"):  # opt-in: nothing to import otherwise
        from launcher.warm import client

        if name in client.SERVED and client.enabled():
            client.call_warm(name)  # returns only when no server took the call
            after = client.start_server
    from importlib import import_module

    entry = import_module(module)
    plugin = getattr(entry, "PLUGIN", None)
    if plugin is None:
        entry.main()
        return
    from libcni.skel import main as skel_main

    skel_main(plugin, after=after)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        from launcher.warm.server import main as serve

        serve(sys.argv[2:])
        return
    if len(sys.argv) > 1 and sys.argv[1] in ("--warm-status", "--warm-stop"):
        # the warm server of this program in this context (netns, namespaces, uid): JSON, or null
        import json

        from launcher.warm import client, protocol

        kind = protocol.KIND_STATUS if sys.argv[1] == "--warm-status" else protocol.KIND_STOP
        print(json.dumps(client.request(kind)))
        return
    name = os.path.basename(sys.argv[0])
    if name not in ENTRIES and len(sys.argv) > 1 and sys.argv[1] in ENTRIES:
        # called as the bundle itself: `cni-plugins bridge` works like `bridge`
        name = sys.argv.pop(1)
    run(name)


if __name__ == "__main__":
    main()
