"""The bandwidth plugin (traffic shaping). Verb handlers live in .commands, imported only when a
verb runs."""

from libcni.skel import Plugin
from libcni.skel import main as _skel_main

# Go's version.VersionsStartingFrom("0.3.0").
VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

PLUGIN = Plugin(name="bandwidth", commands="plugins.bandwidth.commands", versions=VERSIONS)


def main() -> None:
    _skel_main(PLUGIN)
