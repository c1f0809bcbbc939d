"""What may import what: the protocol core and runtime library (libcni) import neither the kernel
helpers (pkg) nor the process entry (launcher); pkg reaches launcher only to ask whether a delegated
IPAM plugin is one of our own programs (pkg/ipam.py, in-process delegation)."""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def imported_packages(package: str) -> dict[str, set[str]]:
    """module file -> top-level packages it imports (at any depth of the file)."""
    found: dict[str, set[str]] = {}
    for directory, _dirs, files in os.walk(os.path.join(ROOT, package)):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            tops = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    tops |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    tops.add(node.module.split(".")[0])
            found[os.path.relpath(path, ROOT)] = tops
    return found


@pytest.mark.parametrize("forbidden", ["pkg", "launcher", "plugins", "ipam"])
def test_libcni_imports_no_higher_layer(forbidden):
    offenders = [path for path, tops in imported_packages("libcni").items() if forbidden in tops]
    assert offenders == []


def test_pkg_reaches_launcher_only_for_in_process_delegation():
    offenders = [path for path, tops in imported_packages("pkg").items() if "launcher" in tops]
    assert offenders in ([], [os.path.join("pkg", "ipam.py")])
