"""Network configuration models: the keys every plugin shares (Go's types.NetConf), as pydantic
models (the definition; the call path uses libcni.types.netconf and the generated tables)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..gojson import decode_text
from .errors import CNIError, ErrCode
from .gomodel import GoModel, lookup, parse_model
from .result_models import DNS
from .results import AnyResult, Result, as_current, convert, parse_result


class Attachment(GoModel):
    containerID: str = ""
    ifname: str = ""


class NetConf(GoModel):
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

    @property
    def ipam_type(self) -> str:
        value = lookup(self.ipam, "type")
        return value if isinstance(value, str) else ""

    def gc_valid_attachments(self) -> list[Attachment]:
        """`cni.dev/valid-attachments`, falling back to the pre-rename key; absent or null is []."""
        if self.valid_attachments is not None:
            return self.valid_attachments
        return self.legacy_attachments or []

    def prev_result(self) -> Result | None:
        """prevResult parsed by its own version (absent: the config's), as the newest version.

        Go parses it with the config's version and fails across families (cni#862); we don't."""
        if self.prevResult is None:
            return None
        parsed: AnyResult = parse_result(self.prevResult, self.cniVersion)
        # Convert through the config's version so lossy steps happen as in Go.
        return as_current(convert(parsed, self.cniVersion or parsed.cniVersion))


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
