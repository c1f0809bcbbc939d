"""Fixtures for the libcni tests: scriptable fake plugins, conf dirs, a private cache dir."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_SOURCE = os.path.join(HERE, "fake_plugin.py")


@dataclass
class FakePlugins:
    bin_dir: str
    log: str
    cache_dir: str
    conf_dir: str

    def install(self, *names: str) -> None:
        for name in names:
            path = os.path.join(self.bin_dir, name)
            with open(path, "w") as f:
                f.write(f"#!{sys.executable} -I\n")
                with open(FAKE_SOURCE) as src:
                    f.write(src.read())
            os.chmod(path, 0o755)

    def records(self) -> list[dict]:
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def requests(self) -> list[tuple[str, str, dict]]:
        """(plugin, command, decoded stdin) per call, in call order."""
        out = []
        for r in self.records():
            stdin = json.loads(r["stdin"]) if r["stdin"].strip() else None
            out.append((r["plugin"], r["env"]["CNI_COMMAND"], stdin))
        return out

    def clear(self) -> None:
        if os.path.exists(self.log):
            os.unlink(self.log)

    def env(self, **extra: str) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "FAKE_PLUGIN_LOG": self.log}
        env.update(extra)
        return env

    def write_conf(self, filename: str, conf: dict | str | bytes) -> str:
        path = os.path.join(self.conf_dir, filename)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = (
            conf
            if isinstance(conf, bytes)
            else (conf if isinstance(conf, str) else json.dumps(conf)).encode()
        )
        with open(path, "wb") as f:
            f.write(data)
        return path


@pytest.fixture
def fake(tmp_path) -> FakePlugins:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    conf_dir = tmp_path / "net.d"
    conf_dir.mkdir()
    plugins = FakePlugins(str(bin_dir), str(tmp_path / "calls.jsonl"), str(tmp_path / "cache"), str(conf_dir))
    plugins.install("alpha", "beta", "gamma")
    return plugins
