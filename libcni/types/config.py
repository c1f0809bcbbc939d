"""Network configuration models: the keys every plugin shares (Go's types.NetConf), as pydantic
models (the definition; the call path uses libcni.types.netconf and the generated tables)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..gojson import decode_text
from .errors import CNIError, ErrCode
from .gomodel import GoModel, parse_model
from .netconf import NetConfMethods
from .result_models import DNS


class Attachment(GoModel):
    containerID: str = ""
    ifname: str = ""


class NetConf(NetConfMethods, GoModel):
    """Keys common to every plugin's configuration; plugins subclass it with their own."""

    cniVersion: str = ""
    name: str = ""
    type: str = ""
    capabilities: dict[str, bool] = {}
    ipam: dict[str, Any] = {}
    dns: DNS = DNS()
    prevResult: dict[str, Any] | None = None
    valid_attachments: list[Attachment] | None = Field(default=None, alias="cni.dev/valid-attachments")
    legacy_attachments: list[Attachment] | None = Field(default=None, alias="cni.dev/attachments")


def decode_json_object(stdin: bytes, what: str = "network config") -> dict[str, Any]:
    """Decode a JSON object as Go does (libcni.gojson.decode_text)."""
    try:
        data = decode_text(stdin)
    except ValueError as err:
        raise CNIError(ErrCode.DECODING_FAILURE, f"error unmarshall {what}: {err}") from None
    if not isinstance(data, dict):
        raise CNIError(ErrCode.DECODING_FAILURE, f"error unmarshall {what}: not a JSON object")
    return data


def load_conf(model: type[NetConf], stdin: bytes, prefix: str = "") -> Any:
    """Decode stdin into a plugin's NetConf subclass, with Go's key matching and clear errors."""
    return parse_model(model, decode_json_object(stdin), prefix=prefix)
