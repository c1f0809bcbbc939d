"""CNI results of every spec version as pydantic models: the one definition of their fields.

Two shapes exist: `Result020` (0.1.0, 0.2.0: ip4/ip6 objects) and `Result` (0.3.0 to 1.1.0:
interfaces, ips, routes). The call path never imports this module: it decodes with the tables
generated from it (libcni/types/result_schema.py) into the records of libcni/types/results.py,
which also hold the conversion and printing logic.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from .gomodel import GoModel
from .ipaddr import normalize_cidr, normalize_ip

CIDR = Annotated[str, AfterValidator(normalize_cidr)]
IPText = Annotated[str, AfterValidator(normalize_ip)]


class Interface(GoModel):
    name: str = ""
    mac: str = ""
    mtu: int = 0
    sandbox: str = ""
    socketPath: str = ""
    pciID: str = ""


class IPConfig(GoModel):
    interface: int | None = None
    address: CIDR
    gateway: IPText = ""


class Route(GoModel):
    dst: CIDR
    gw: IPText = ""
    mtu: int = 0
    advmss: int = 0
    priority: int = 0
    table: int | None = None
    scope: int | None = None


class DNS(GoModel):
    nameservers: list[str] = []
    domain: str = ""
    search: list[str] = []
    options: list[str] = []


class Result(GoModel):
    """A result of spec 0.3.0, 0.3.1, 0.4.0, 1.0.0 or 1.1.0."""

    cniVersion: str = ""
    interfaces: list[Interface] = []
    ips: list[IPConfig] = []
    routes: list[Route] = []
    dns: DNS = DNS()


class IP020(GoModel):
    ip: CIDR
    gateway: IPText = ""
    routes: list[Route] = []


class Result020(GoModel):
    """A result of spec 0.1.0 or 0.2.0."""

    cniVersion: str = ""
    ip4: IP020 | None = None
    ip6: IP020 | None = None
    dns: DNS = DNS()
