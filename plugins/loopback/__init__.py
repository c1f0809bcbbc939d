"""The loopback plugin. Verb handlers live in .commands, imported only when a verb runs."""

from libcni.skel import Plugin
from libcni.skel import main as _skel_main

PLUGIN = Plugin(name="loopback", commands="plugins.loopback.commands")


def main() -> None:
    _skel_main(PLUGIN)
