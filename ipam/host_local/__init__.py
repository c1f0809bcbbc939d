"""The host-local IPAM plugin. Verb handlers live in .commands, imported only when a verb runs."""

from libcni.skel import Plugin
from libcni.skel import main as _skel_main

PLUGIN = Plugin(name="host-local", commands="ipam.host_local.commands")


def main() -> None:
    _skel_main(PLUGIN)
