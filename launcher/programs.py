"""The programs this project provides: executable name -> module with `main()` (and PLUGIN).

The one list of programs: the source shims (launcher/shims.py), the frozen build (build.spec,
scripts/build: one executable per entry) and the release all derive from it, so a new plugin
needs one line here.
"""

ENTRIES: dict[str, str] = {
    "bridge": "plugins.bridge",
    "tuning": "plugins.tuning",
    "portmap": "plugins.portmap",
    "firewall": "plugins.firewall",
    "bandwidth": "plugins.bandwidth",
    "loopback": "plugins.loopback",
    "host-local": "ipam.host_local",
    "cnitool": "libcni.cnitool",
    "cni-install": "launcher.install",
}

# The programs that are not CNI plugins (no PLUGIN, never served by the warm server).
TOOLS = frozenset({"cnitool", "cni-install"})

# The frozen programs and their libraries live in this directory beside the executables a runtime
# runs (launcher/stub/stub.c); it ships in the release tarball with them.
SUPPORT_DIR = "cni-plugins.d"
PROJECT = "pycni-plugins"
