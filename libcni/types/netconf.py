"""The keys every plugin's configuration shares (Go's types.NetConf), as the call path sees them.

`NetConfRecord` is the record `libcni.lean` builds for NetConf and for every plugin's subclass of
it (their tables are generated from the pydantic models in config.py and the plugins' models.py);
`load` decodes a plugin's configuration from what the skeleton already decoded.
"""

from __future__ import annotations

from ..lean import Record, decode
from .errors import CNIError, ErrCode
from .results import AnyResult, Result, as_current, convert, parse_result

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only
    from typing import Any

    from ..lean import Model
    from .results import DNS


class NetConfMethods:
    """What the plugins ask of any configuration: of the records here, and of the pydantic models
    (libcni.types.config.NetConf), which share these methods."""

    if TYPE_CHECKING:  # declared for type checkers only: pydantic must not see them as fields
        cniVersion: str
        ipam: dict[str, Any]
        prevResult: dict[str, Any] | None
        valid_attachments: list[Any] | None
        legacy_attachments: list[Any] | None

    @property
    def ipam_type(self) -> str:
        from ..gojson import lookup

        value = lookup(self.ipam, "type")
        return value if isinstance(value, str) else ""

    def gc_valid_attachments(self) -> list[Any]:
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


class NetConfRecord(NetConfMethods, Record):
    cniVersion: str
    name: str
    type: str
    capabilities: dict[str, bool]
    ipam: dict[str, Any]
    dns: DNS
    prevResult: dict[str, Any] | None
    valid_attachments: list[Any] | None
    legacy_attachments: list[Any] | None


def load(table: Model, config: Any, prefix: str = "") -> Any:
    """A plugin's configuration record from the decoded stdin object."""
    if not isinstance(config, dict):
        raise CNIError(ErrCode.DECODING_FAILURE, f"{prefix}not a JSON object")
    return decode(table, config, prefix=prefix)
