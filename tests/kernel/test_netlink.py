"""The lean pyroute2 import behind pkg.netlink, in a fresh interpreter (it changes sys.modules)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.kernel

PROGRAM = """
import sys
from pkg.netlink import iproute
ipr = iproute()
names = [link.get("ifname") for link in ipr.get_links()]
ipr.close()
assert "lo" in names, names
heavy = [m for m in ("pyroute2.ndb", "pyroute2.ipdb", "pyroute2.nftables") if m in sys.modules]
assert not heavy, heavy
from pyroute2 import NetlinkError, IPRoute   # package names still load on demand
from pyroute2.netlink.exceptions import NetlinkError as Same
assert NetlinkError is Same
print("ok")
"""


def test_lean_import_works_and_package_names_still_load():
    proc = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
