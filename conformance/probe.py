"""What the implementation claims (VERSION) and what this machine offers (kernel features).

Scenarios are skipped, with the reason shown, when a plugin does not claim a case's
cniVersion or a feature gate, or when the kernel lacks something a scenario needs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field

from .kernel import TOOL_PATH, Netns, SetupError
from .model import KNOWN_VERSIONS, Scenario
from .shapes import version_reply_problems


@dataclass
class PluginInfo:
    name: str
    path: str
    present: bool
    versions: list[str] = field(default_factory=list)
    reply: str = ""
    problem: str = ""
    about: str = ""

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "present": self.present,
            "supportedVersions": self.versions,
            "problem": self.problem,
            "about": self.about,
        }


def probe_plugin(plugin_dir: str, name: str, extra_env: dict[str, str] | None = None) -> PluginInfo:
    """Ask a plugin for VERSION the way libcni's GetVersionInfo does."""
    path = os.path.join(plugin_dir, name)
    info = PluginInfo(name, path, os.path.isfile(path) and os.access(path, os.X_OK))
    if not info.present:
        info.problem = f"no {name} executable in {plugin_dir}"
        return info
    env = {
        "PATH": TOOL_PATH,
        **(extra_env or {}),
        "CNI_COMMAND": "VERSION",
        "CNI_CONTAINERID": "",
        "CNI_NETNS": "dummy",
        "CNI_IFNAME": "dummy",
        "CNI_ARGS": "",
        "CNI_PATH": "dummy",
    }
    try:
        proc = subprocess.run(
            [path], input=b'{"cniVersion":"1.1.0"}', capture_output=True, env=env, timeout=30, check=False
        )
        about_env = {"PATH": TOOL_PATH, **(extra_env or {})}
        about = subprocess.run([path], capture_output=True, env=about_env, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        info.problem = f"VERSION could not run: {err}"
        return info
    info.reply = proc.stdout.decode(errors="replace").strip()
    info.about = about.stderr.decode(errors="replace").strip().splitlines()[0] if about.stderr.strip() else ""
    if proc.returncode != 0:
        info.problem = f"VERSION failed (exit {proc.returncode}): {info.reply or proc.stderr.decode()[:300]}"
        return info
    try:
        data = json.loads(info.reply)
    except ValueError:
        info.problem = f"VERSION reply is not JSON: {info.reply[:300]!r}"
        return info
    problems = version_reply_problems(data)
    if problems:
        info.problem = "; ".join(problems)
        return info
    info.versions = list(data["supportedVersions"]) or ["0.1.0", "0.2.0"]
    return info


def span(versions: list[str]) -> str:
    known = [v for v in versions if v in KNOWN_VERSIONS]
    if not known:
        return "[" + ", ".join(versions) + "]"
    return f"{known[0]}..{known[-1]}" if len(known) > 2 else ", ".join(known)


def skip_reason(
    scenario: Scenario, version: str, plugins: dict[str, PluginInfo], features: dict[str, str | None]
) -> str | None:
    """Why this case cannot run here, or None."""
    for name in scenario.plugins:
        info = plugins.get(name)
        if info is None or not info.present:
            return f"no {name} executable in the plugin directory"
        if info.problem:
            return f"{name}: {info.problem}"
        if version in KNOWN_VERSIONS and version not in info.versions:
            return f"{name} does not claim cniVersion {version} (supports {span(info.versions)})"
        if scenario.claims and scenario.claims not in info.versions:
            return (
                f"needs a plugin claiming spec {scenario.claims} (behaviour of newer plugin releases); "
                f"{name} supports {span(info.versions)}"
            )
    for need in scenario.requires:
        missing = features.get(need, f"unknown requirement {need!r}")
        if missing:
            return missing
    return None


def probe_features() -> dict[str, str | None]:
    """Feature name -> None when available, else why not. Runs in a scratch netns."""
    features: dict[str, str | None] = {}
    features["ipv6"] = None if os.path.isdir("/proc/sys/net/ipv6") else "kernel has no IPv6"
    for tool, need in (("iptables", "iptables"), ("ip6tables", "ip6tables"), ("nft", "nft")):
        features[need] = None if shutil.which(tool, path=TOOL_PATH) else f"{tool} is not installed"
    features["conntrack"] = (
        None if shutil.which("conntrack", path=TOOL_PATH) else "conntrack is not installed"
    )
    scratch = Netns(f"cfprobe-{os.getpid()}")
    try:
        scratch.create()
        try:
            scratch.run(["ip", "link", "add", "cfpbr0", "type", "bridge", "vlan_filtering", "1"])
            scratch.run(["ip", "link", "add", "cfpv0", "type", "veth", "peer", "name", "cfpv1"])
            scratch.run(["ip", "link", "set", "cfpv0", "master", "cfpbr0"])
            scratch.run(["bridge", "vlan", "add", "dev", "cfpv0", "vid", "100"])
            features["vlan"] = None
        except SetupError:
            features["vlan"] = "kernel lacks bridge VLAN filtering"
        for tool in ("iptables", "ip6tables"):
            if features[tool] is None:
                try:
                    scratch.run([tool, "-w", "-t", "nat", "-S"])
                except SetupError as err:
                    features[tool] = f"{tool} does not work here: {err}"
        if features["nft"] is None:
            try:
                scratch.run(["nft", "add", "table", "inet", "cfprobe"])
            except SetupError as err:
                features["nft"] = f"nft does not work here: {err}"
    finally:
        scratch.delete()
    return features
