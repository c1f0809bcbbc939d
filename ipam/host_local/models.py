"""host-local's configuration as pydantic models: the one definition of its keys.

The call path decodes with the tables generated from these (schema.py, `make schemas`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from libcni.types.config import NetConf
from libcni.types.gomodel import GoModel
from libcni.types.result_models import Route

from .config import cidr_text, ip_text, requested_text

CIDRText = Annotated[str, AfterValidator(cidr_text)]
IPText = Annotated[str, AfterValidator(ip_text)]
RequestedIP = Annotated[str, AfterValidator(requested_text)]


class RangeConf(GoModel):
    subnet: CIDRText | None = None
    rangeStart: IPText = ""
    rangeEnd: IPText = ""
    gateway: IPText = ""


class IPAMConf(RangeConf):
    """The `ipam` object; its own subnet/rangeStart/rangeEnd/gateway are the legacy single range."""

    type: str = ""
    routes: list[Route] = []
    dataDir: str = ""
    resolvConf: str = ""
    ranges: list[list[RangeConf]] = []


class RuntimeConf(GoModel):
    ipRanges: list[list[RangeConf]] = []
    ips: list[RequestedIP] = []


class CNIArgsConf(GoModel):
    ips: list[RequestedIP] = []


class ArgsConf(GoModel):
    cni: CNIArgsConf | None = None


class HostLocalNetConf(NetConf):
    ipam: IPAMConf | None = None  # type: ignore[assignment]
    runtimeConfig: RuntimeConf = RuntimeConf()
    args: ArgsConf | None = None
