"""The loopback configuration: Go's plain types.NetConf (the plugin has no keys of its own)."""

from __future__ import annotations

from libcni.types.config import NetConf


class LoopbackConf(NetConf):
    """cniVersion, name, type, capabilities, ipam, dns, prevResult: decoded (and type-checked) as
    Go's json.Unmarshal into types.NetConf does; only cniVersion and prevResult are used."""
