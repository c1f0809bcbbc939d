"""The import rule of docs/architecture.md: each layer imports only the layers below it, and a
plugin's verbs never import pydantic or pyroute2 (the cold-start budget)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAYERS = {  # package -> our packages it may import
    "libcni": {"libcni"},
    "pkg": {"libcni", "pkg"},
    "plugins": {"libcni", "pkg", "plugins"},
    "ipam": {"libcni", "pkg", "ipam"},
    "launcher": {"libcni", "pkg", "plugins", "ipam", "launcher"},
}
OURS = set(LAYERS) | {"conformance", "stress", "bench", "tests"}
# Build-time and test-time modules that may use the heavy definitions.
DEV_ONLY = {"libcni/schemagen.py"}


def _imports(path: str) -> set[str]:
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _sources(package: str):
    for folder, _dirs, files in os.walk(os.path.join(ROOT, package)):
        for name in files:
            if name.endswith(".py"):
                yield os.path.relpath(os.path.join(folder, name), ROOT)


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_each_layer_imports_only_the_layers_below(package):
    wrong = []
    for path in _sources(package):
        for module in _imports(os.path.join(ROOT, path)):
            top = module.split(".")[0]
            if top in OURS and top not in LAYERS[package]:
                wrong.append(f"{path} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_plugins_do_not_import_each_other():
    wrong = []
    for path in _sources("plugins"):
        own = path.split(os.sep)[1]
        for module in _imports(os.path.join(ROOT, path)):
            parts = module.split(".")
            if parts[0] == "plugins" and len(parts) > 1 and parts[1] != own:
                wrong.append(f"{path} imports {module}")
    assert not wrong, "\n".join(wrong)


def _verb_modules() -> list[str]:
    from launcher.programs import ENTRIES, TOOLS

    out = []
    for name, package in ENTRIES.items():
        commands = os.path.join(ROOT, *package.split("."), "commands.py")
        if os.path.exists(commands):
            out.append(f"{package}.commands")
        else:
            assert name in TOOLS, name
    return out


_RUN_PREPARE = """
import importlib, sys
from libcni.skel import CmdArgs
from libcni.types.errors import CNIError

module = importlib.import_module(sys.argv[1])
assert "ADD" in module.PREPARE, "no PREPARE for ADD"
prev = {"cniVersion": "1.0.0", "ips": [{"address": "10.1.0.2/24"}]}
ipam = {"subnet": "10.1.0.0/24"}
conf = {"cniVersion": "1.0.0", "name": "n", "type": "t", "prevResult": prev, "ipam": ipam}
for verb, step in module.PREPARE.items():
    try:
        step(CmdArgs(verb, "c", "/x", "eth0", "", "/x", b"", config_version="1.0.0", config=conf))
    except CNIError:
        pass
heavy = ("pydantic", "pydantic_core", "pyroute2")
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in heavy)))
"""


@pytest.mark.parametrize("module", _verb_modules())
def test_verb_modules_stay_off_pydantic_and_pyroute2(module):
    """Import a plugin's verbs and run each of its PREPARE steps on a sample config in a fresh
    interpreter: neither pydantic (nor pydantic_core) nor pyroute2 may be loaded."""
    argv = [sys.executable, "-I", "-c", _RUN_PREPARE, module]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"
