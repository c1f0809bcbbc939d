"""A pydantic base model that decodes JSON the way Go's encoding/json does.

- keys match field names exactly first, then case-insensitively ("Bridge" sets bridge);
- unknown keys are ignored; null leaves the default;
- types are strict (a string is not a bool, 1.0 is not an int);
- validation failures become CNI errors naming the field and the value.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ..gojson import fold, lookup  # noqa: F401 - lookup re-exported for plugins
from ..lean import NO_VALUE, invalid_error
from ..lean import field_path as lean_field_path
from .errors import CNIError

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
            mapping = {fold(f.alias or name): f.alias or name for name, f in cls.model_fields.items()}
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
            alias = keys.get(fold(key)) if isinstance(key, str) else None
            if alias is not None:  # anything else is an unknown key, ignored as Go does
                out[alias] = value
        return out


def field_path(loc: tuple[Any, ...]) -> str:
    # tagged unions and function validators add non-field segments
    return lean_field_path(
        tuple(i for i in loc if not str(i).startswith("function-") and str(i) != "tagged-union")
    )


def validation_error(err: ValidationError, prefix: str = "", where: str = "") -> CNIError:
    """Turn the first pydantic error into a CNI error naming field and value (as libcni.lean)."""
    first = err.errors(include_url=False)[0]
    path = field_path(tuple(first.get("loc", ())))
    if where:
        path = f"{where}.{path}" if path != "(top level)" else where
    value = first["input"] if "input" in first and first.get("type") != "missing" else NO_VALUE
    return invalid_error(first.get("type", ""), path, first.get("msg", "invalid value"), value, prefix)


def parse_model(model: type[GoModel], data: Any, prefix: str = "", where: str = "") -> Any:
    """Validate `data` (already JSON-decoded) into `model`, raising CNIError on failure."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise validation_error(err, prefix, where) from None
