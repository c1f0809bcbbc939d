"""The firewall plugin. Verb handlers live in .commands, imported only when a verb runs."""

from libcni.skel import Plugin
from libcni.skel import main as _skel_main

# Go: version.VersionsStartingFrom("0.4.0").
PLUGIN = Plugin(name="firewall", commands="plugins.firewall.commands", versions=("0.4.0", "1.0.0", "1.1.0"))


def main() -> None:
    _skel_main(PLUGIN)
