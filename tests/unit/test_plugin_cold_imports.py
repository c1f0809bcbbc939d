"""The plugins' and host-local's own code imports none of the costly stdlib modules of a cold call
(docs/architecture.md, issue 14), except where listed below: inside a function of a rare path,
or in a module only such a path imports. What libcni and pkg import is checked on their side."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from tests.harness import COSTLY_MODULES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COSTLY = COSTLY_MODULES
# (file, function or "<module>") -> why that import is off the ADD/DEL/CHECK path.
ALLOWED = {
    ("plugins/tuning/sysctls.py", "check_allowlist"): "only with an allow-list file (its lines are regexps)",
    ("plugins/portmap/iptables_rules.py", "jump_target"): "GC",
    ("plugins/portmap/iptables_rules.py", "stale_dnat_chains"): "GC",
    ("plugins/portmap/config.py", "describe_entry"): "only for an error's details",
    ("plugins/firewall/dbus.py", "<module>"): "firewalld backend only (imported by firewalld.py)",
    ("ipam/host_local/index.py", "Index.open"): "only for a big network directory",
    ("ipam/host_local/index.py", "Index._schema_ok"): "only for a big network directory",
    ("ipam/host_local/store.py", "Store._open_index"): "only for a big network directory",
}
DEV_ONLY = {"models.py"}  # the pydantic definitions (build and test time)


def _costly_imports(path: str) -> list[tuple[str, str, int]]:
    """(where, module, line) of every import of a costly module, outside `if TYPE_CHECKING:`."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, where: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            test = getattr(child, "test", None)
            if isinstance(child, ast.If) and isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                continue
            inner = where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = [*where, child.name]
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            for name in names:
                if name.split(".")[0] in COSTLY:
                    found.append((".".join(inner) or "<module>", name, child.lineno))
            visit(child, inner)

    visit(tree, [])
    return found


def test_no_costly_import_off_the_allowed_places():
    wrong = []
    for package in ("plugins", "ipam"):
        for folder, _dirs, files in os.walk(os.path.join(ROOT, package)):
            for name in sorted(files):
                if not name.endswith(".py") or name in DEV_ONLY:
                    continue
                path = os.path.relpath(os.path.join(folder, name), ROOT)
                for where, module, line in _costly_imports(os.path.join(ROOT, path)):
                    if (path, where) not in ALLOWED:
                        wrong.append(f"{path}:{line} ({where}) imports {module}")
    assert not wrong, "\n".join(wrong)


def test_the_allowed_places_still_exist():
    """An entry of ALLOWED that no longer imports anything costly is removed from the list."""
    places = set()
    for path, _where in ALLOWED:
        places |= {(path, where) for where, _module, _line in _costly_imports(os.path.join(ROOT, path))}
    assert set(ALLOWED) <= places, set(ALLOWED) - places


_RUN = """
import builtins, importlib, sys
costly = set(sys.argv[1].split())
seen = []
real = builtins.__import__


def spy(name, globals=None, locals=None, fromlist=(), level=0):
    who = (globals or {}).get("__name__", "")
    if level == 0 and who.split(".")[0] in ("plugins", "ipam") and name.split(".")[0] in costly:
        seen.append(f"{who} imports {name}")
    return real(name, globals, locals, fromlist, level)


builtins.__import__ = spy
for module in sys.argv[2:]:
    importlib.import_module(module)
print("\\n".join(seen))
"""

# Every module a verb of these plugins imports on ADD, DEL or CHECK (also lazily).
VERB_MODULES = [
    "plugins.bridge.commands",
    "plugins.bridge.bridge_link",
    "plugins.bridge.check",
    "plugins.tuning.commands",
    "plugins.portmap.commands",
    "plugins.portmap.iptables_backend",
    "plugins.portmap.nft_backend",
    "plugins.portmap.localnet",
    "plugins.portmap.conntrack",
    "plugins.firewall.commands",
    "plugins.firewall.iptables_backend",
    "plugins.loopback.commands",
    "plugins.bandwidth.commands",
    "ipam.host_local.commands",
]


def test_importing_the_verbs_runs_no_costly_import_of_ours():
    """The same, as executed: import statements run by our modules while the verbs' modules load
    (whatever libcni and pkg import is theirs to keep lean)."""
    argv = [sys.executable, "-I", "-c", _RUN, " ".join(sorted(COSTLY)), *VERB_MODULES]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
