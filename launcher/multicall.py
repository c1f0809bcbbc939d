"""The entry of every program: `main(name)` with the program's name built in.

The frozen build makes one executable per program (build.spec), each running `main("bridge")`
and so on; the source shims call `run(name)`. Nothing depends on the name a program was called
by (argv[0]), so resolved paths, wrappers (bridge -> bridge.real) and renames (10-tuning) work.

By default a plugin call runs in this process and leaves nothing behind. With CNI_PY_WARM=1 in
the caller's environment it first tries a warm server (launcher.warm): when one serves this exact
context the call runs there and this process only relays its exit code; otherwise it runs cold,
and then starts a server for the next calls. In the frozen build the launcher a runtime executes
(launcher/stub/stub.c) is that client itself, so a warm call starts no Python at all; this process
runs only when no server took the call (then cold, and it starts a server). `--serve` runs the
server itself; `--warm-status` / `--warm-stop` ask the server of this context for its status, or to
exit. `--version` names the project version and build.
"""

from __future__ import annotations

import os
import sys

from launcher.programs import ENTRIES, TOOLS

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~4 ms of every call
if TYPE_CHECKING:  # pragma: no cover
    from libcni.skel import Plugin


def warm_requested(env=os.environ) -> bool:
    """Opt-in: only CNI_PY_WARM=1 (or true/yes/on) in the caller's environment uses (and starts) a
    warm server. Unset or anything else: the plugin is a plain short-lived process."""
    return env.get("CNI_PY_WARM", "").strip().lower() in ("1", "true", "yes", "on")


def run(name: str) -> None:
    module = ENTRIES.get(name)
    if module is None:
        sys.stderr.write(f"unknown program {name!r}; this build provides: {', '.join(sorted(ENTRIES))}\n")
        raise SystemExit(2)
    after = None
    if name not in TOOLS and warm_requested():  # opt-in: nothing to import otherwise
        from launcher.warm import client

        if name in client.SERVED:
            # the launcher (launcher/stub/stub.c) is the client of a built program: it ran us cold
            # because no server took the call; then do not ask again, only start a server after
            if os.environ.pop(client.LAUNCHER_TRIED, None) is None:
                client.call_warm(name)  # returns only when no server took the call
            after = client.start_server
    from libcni.skel import import_module

    entry = import_module(module)
    plugin = getattr(entry, "PLUGIN", None)
    if plugin is None:
        entry.main()
        return
    from libcni.skel import main as skel_main
    from libcni.skel import set_delegate_resolver

    set_delegate_resolver(delegate_plugin)
    skel_main(plugin, after=after)


def delegate_plugin(path: str, plugin_type: str) -> Plugin | None:
    """In-process delegation (libcni.skel.delegate_plugin): our own Plugin behind `path`, or None."""
    from launcher.inprocess import plugin_for

    return plugin_for(path, plugin_type)


# The first arguments main() handles itself, whatever CNI_PY_WARM says (the launcher,
# launcher/stub/stub.c program_flag(), passes these calls on to this program).
FLAGS = ("--version", "--serve", "--warm-status", "--warm-stop")


def main(name: str = "") -> None:
    flag = sys.argv[1] if len(sys.argv) > 1 else ""
    if flag not in FLAGS:
        run(name)
        return
    if flag == "--version":
        from libcni.skel import version_line

        print(version_line(name))
        return
    if flag == "--serve":
        from launcher.warm.server import main as serve

        serve(sys.argv[2:])
        return
    if flag in ("--warm-status", "--warm-stop"):
        # the warm server of this program in this context (netns, namespaces, uid): JSON, or null
        import json

        from launcher.warm import client, protocol

        kind = protocol.KIND_STATUS if flag == "--warm-status" else protocol.KIND_STOP
        print(json.dumps(client.request(kind)))
