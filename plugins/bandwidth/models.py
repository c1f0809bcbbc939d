"""The bandwidth configuration as pydantic models: the one definition of its keys and types.

The verbs decode with a lean decoder that follows these models (config.py); pydantic itself is
never imported on a verb's path.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from libcni.types.config import NetConf
from libcni.types.gomodel import GoModel

from .config import uint64

Uint64 = Annotated[int, AfterValidator(uint64)]


class BandwidthEntry(GoModel):
    """Rates in bits per second, bursts in bits; 0 means no limit (Go's BandwidthEntry)."""

    ingressRate: Uint64 = 0
    ingressBurst: Uint64 = 0
    egressRate: Uint64 = 0
    egressBurst: Uint64 = 0


class RuntimeConfig(GoModel):
    """The `bandwidth` capability, as a runtime passes it (Kubernetes pod annotations)."""

    bandwidth: BandwidthEntry | None = None


class BandwidthConf(NetConf):
    """Top-level keys of the embedded entry: when any is present, runtimeConfig is not used."""

    ingressRate: Uint64 | None = None
    ingressBurst: Uint64 | None = None
    egressRate: Uint64 | None = None
    egressBurst: Uint64 | None = None
    runtimeConfig: RuntimeConfig = RuntimeConfig()
