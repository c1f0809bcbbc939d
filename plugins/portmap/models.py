"""portmap's configuration as pydantic models: the one definition of its keys.

The call path decodes with the tables generated from these (schema.py, `make schemas`).
"""

from __future__ import annotations

from pydantic import Field

from libcni.types.config import NetConf
from libcni.types.gomodel import GoModel


class PortMapEntry(GoModel):
    hostPort: int = 0
    containerPort: int = 0
    protocol: str = ""
    hostIP: str = ""


class RuntimeConfig(GoModel):
    portMappings: list[PortMapEntry] = []


class PortMapConf(NetConf):
    backend: str | None = None
    snat: bool | None = None
    conditionsV4: list[str] | None = None
    conditionsV6: list[str] | None = None
    masqAll: bool = False
    markMasqBit: int | None = None
    externalSetMarkChain: str | None = None
    runtimeConfig: RuntimeConfig = Field(default_factory=RuntimeConfig)
