"""The version a program reports is the project's (pyproject.toml), and names its build."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

from libcni.skel import PACKAGE_VERSION, version_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_package_version_is_pyproject_version():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        assert tomllib.load(f)["project"]["version"] == PACKAGE_VERSION


def test_version_flag_names_program_version_and_build():
    code = f"import sys; sys.path.insert(0, {ROOT!r}); sys.argv[1:] = ['--version']; "
    code += "from launcher.multicall import main; main('tuning')"
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    expected = f"tuning (pycni-plugins) v{PACKAGE_VERSION}, build source"
    assert out.stdout.strip() == version_line("tuning") == expected
