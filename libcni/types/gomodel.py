"""A pydantic base model that decodes JSON the way Go's encoding/json does.

- keys match field names exactly first, then case-insensitively ("Bridge" sets bridge);
- unknown keys are ignored; null leaves the default;
- types are strict (a string is not a bool, 1.0 is not an int);
- validation failures become CNI errors naming the field and the value.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .errors import CNIError, ErrCode
from .gomodel_keys import lookup  # noqa: F401 - re-exported for plugins

# pydantic error types that mean "the JSON had the wrong shape" (Go: unmarshal error, code 6);
# every other failure is a validation of a well-typed value (code 7).
_DECODING_ERROR_SUFFIXES = ("_type", "_parsing")

_KEY_MAPS: dict[type, dict[str, str]] = {}


class GoModel(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        populate_by_name=True,
        defer_build=True,
        arbitrary_types_allowed=True,
    )

    @classmethod
    def _keys(cls) -> dict[str, str]:
        # Built per class on first use: lower-cased JSON key -> alias pydantic expects.
        mapping = _KEY_MAPS.get(cls)
        if mapping is None:
            mapping = {(f.alias or name).lower(): f.alias or name for name, f in cls.model_fields.items()}
            _KEY_MAPS[cls] = mapping
        return mapping

    @model_validator(mode="before")
    @classmethod
    def _go_json_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        keys = cls._keys()
        exact = set(keys.values())
        out: dict[str, Any] = {}
        for key, value in data.items():
            if value is None:
                continue
            if key in exact:
                out[key] = value
                continue
            alias = keys.get(key.lower()) if isinstance(key, str) else None
            out[alias or key] = value
        return out


def describe_value(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def field_path(loc: tuple[Any, ...]) -> str:
    parts = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            # tagged unions and function validators add non-field segments
            if str(item).startswith("function-") or str(item) in ("tagged-union",):
                continue
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def validation_error(err: ValidationError, prefix: str = "", where: str = "") -> CNIError:
    """Turn the first pydantic error into a CNI error naming field and value."""
    first = err.errors(include_url=False)[0]
    path = field_path(tuple(first.get("loc", ())))
    if where:
        path = f"{where}.{path}" if path != "(top level)" else where
    kind = first.get("type", "")
    message = first.get("msg", "invalid value")
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    code = (
        ErrCode.DECODING_FAILURE
        if kind.endswith(_DECODING_ERROR_SUFFIXES)
        else ErrCode.INVALID_NETWORK_CONFIG
    )
    if kind == "missing":
        text = f'missing required field "{path}"'
    elif "input" in first:
        text = f'invalid "{path}": {message} (got {describe_value(first["input"])})'
    else:
        text = f'invalid "{path}": {message}'
    return CNIError(code, prefix + text, path)


def parse_model(model: type[GoModel], data: Any, prefix: str = "", where: str = "") -> Any:
    """Validate `data` (already JSON-decoded) into `model`, raising CNIError on failure."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise validation_error(err, prefix, where) from None
