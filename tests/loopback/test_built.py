"""The frozen executable (dist/bin/loopback, `make build`): ADD, CHECK and DEL give what the source
gives. Skipped with a reason when nothing was built (CI builds first)."""

from __future__ import annotations

import os

import pytest

from tests.harness import PluginRunner
from tests.loopback.conftest import conf

pytestmark = pytest.mark.kernel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILT = os.environ.get("CNI_BUILT_DIR", os.path.join(ROOT, "dist", "bin"))


@pytest.mark.parametrize("version", ["0.4.0", "1.1.0"])
def test_built_loopback_matches_the_source(sandbox_factory, runner, host_ns, version):
    if not os.access(os.path.join(BUILT, "loopback"), os.X_OK):
        pytest.skip(f"no built loopback in {BUILT} (run `make build`)")
    built = PluginRunner(BUILT, host_ns)
    outputs = []
    for plugin_runner in (runner, built):
        box = sandbox_factory()
        add = box.run(plugin_runner, "ADD", conf(version)).ok()
        outputs.append(add.stdout.replace(box.path, "SANDBOX"))
        assert box.lo().up
        box.run(plugin_runner, "CHECK", conf(version)).ok()
        box.run(plugin_runner, "DEL", conf(version)).ok()
        assert not box.lo().up
    assert outputs[0] == outputs[1]
