"""Shared fixtures. Kernel fixtures refuse to run outside tests/isolated."""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Plugins started by the tests run cold (no warm server outliving a test): see launcher/warm.
os.environ.setdefault("CNI_PY_WARM", "0")

from tests.harness import GO_PLUGIN_DIR, Netns, PluginRunner, kernel_tests_allowed  # noqa: E402


def pytest_collection_modifyitems(config, items):
    allowed, reason = kernel_tests_allowed()
    if allowed:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cni_bin(tmp_path_factory) -> str:
    """A directory of launchers named like the plugins, running this checkout's code."""
    from launcher.shims import write_shims

    directory = str(tmp_path_factory.mktemp("cni-bin"))
    write_shims(directory)
    return directory


@pytest.fixture
def host_ns():
    """A fresh netns playing the host for one test; deleting it removes all it holds."""
    ns = Netns.create("cnih-")
    try:
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def netns_factory():
    """Make container netns on demand; all are deleted at the end of the test."""
    made: list[Netns] = []

    def make() -> Netns:
        ns = Netns.create("cnic-")
        made.append(ns)
        return ns

    try:
        yield make
    finally:
        for ns in made:
            ns.delete()


@pytest.fixture
def container_ns(netns_factory) -> Netns:
    return netns_factory()


@pytest.fixture
def runner(cni_bin, host_ns) -> PluginRunner:
    """Runs our plugins inside the test's host netns."""
    return PluginRunner(cni_bin, host_ns)


@pytest.fixture
def go_runner(host_ns) -> PluginRunner:
    """Runs the Go reference plugins (Debian containernetworking-plugins) inside the host netns."""
    if not os.path.isfile(os.path.join(GO_PLUGIN_DIR, "bridge")):
        pytest.skip(f"Go reference plugins not installed in {GO_PLUGIN_DIR}")
    return PluginRunner(GO_PLUGIN_DIR, host_ns)
