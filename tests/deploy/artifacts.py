"""The artifacts under test: the built programs, the .deb (make deb) and the image (make image).

A test uses the artifact in dist/ when it is newer than the built programs, else builds a fresh one
into its own temporary directory with the same script (scripts/deb, scripts/image), so a stale
artifact is never tested. Without built programs (make build) the tests skip, saying so.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILT = os.environ.get("CNI_BUILT_DIR", os.path.join(ROOT, "dist", "bin"))
SUPPORT_DIR = "cni-plugins.d"


def _pyproject(key: str) -> str:
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        return re.search(rf'^{key} = "(.*)"', f.read(), re.M).group(1)


NAME = _pyproject("name")
VERSION = _pyproject("version")


def built_dir() -> str:
    if not os.access(os.path.join(BUILT, "cnitool"), os.X_OK):
        pytest.skip(f"no built executables in {BUILT} (run `make build`)")
    return BUILT


def _built_mtime() -> float:
    return max(os.stat(os.path.join(BUILT, SUPPORT_DIR), follow_symlinks=True).st_mtime, 0)


def _fresh(path: str | None) -> bool:
    return bool(path) and os.path.exists(path) and os.stat(path).st_mtime >= _built_mtime()


def _build(script: str, env_key: str, out: str) -> str:
    proc = subprocess.run(
        [os.path.join(ROOT, "scripts", script)],
        cwd=ROOT,
        env={**os.environ, env_key: out, "LINTIAN": "0"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"scripts/{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def deb(tmp_dir: str) -> str:
    built_dir()
    found = sorted(glob.glob(os.path.join(ROOT, "dist", f"{NAME}_{VERSION}-*_*.deb")))
    if found and _fresh(found[-1]):
        return found[-1]
    return _build("deb", "DEB_OUT", os.path.join(tmp_dir, f"{NAME}.deb"))


def image_archive(tmp_dir: str) -> str:
    built_dir()
    path = os.path.join(ROOT, "dist", f"{NAME}-image-v{VERSION}.tar")
    if _fresh(path):
        return path
    return _build("image", "IMAGE_ARCHIVE", os.path.join(tmp_dir, f"{NAME}-image.tar"))
