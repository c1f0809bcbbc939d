"""The call path's decoders (libcni.lean + generated schema.py tables) against the pydantic models.

For every model of every plugin and every result shape, the same generated inputs (valid and
invalid values, case variants of keys, nulls, unknown keys, nesting) must give the same acceptance,
the same values and the same CNI error (code, message, field). A model changed without regenerating
its table fails `test_schema_modules_are_current`; a table that decodes differently fails here.
"""

from __future__ import annotations

import importlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from libcni import schemagen
from libcni.lean import Record, decode
from libcni.types.errors import CNIError
from libcni.types.gomodel import parse_model


def _pairs() -> list[tuple[str, str]]:
    out = []
    for out_module, (source, _names, _records) in schemagen.SCHEMAS.items():
        tables = importlib.import_module(out_module)
        models = importlib.import_module(source)
        for name, table in vars(tables).items():
            if hasattr(table, "fields") and hasattr(models, name):
                out.append((f"{source}:{name}", f"{out_module}:{name}"))
    return out


PAIRS = _pairs()

_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 70000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "x", "cni0", "10.1.0.0/16", "10.1.0.5", "fd00::1/64", "::1", "02:00:00:00:00:01"]),
)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
_ADDRESS_TEXTS = [
    "10.1.0.5/16",
    "10.1.0.0/16",
    "fd00::5/64",
    "1.2.3.4",
    "",
    "bad",
    "10.1.0.1",
    "::1",
    "300.1.1.1/8",
]


def _value(kind: tuple, depth: int = 0) -> st.SearchStrategy:
    tag = kind[0]
    if depth > 3:
        return _json_scalar
    valid: st.SearchStrategy
    if tag == "str":
        valid = st.text(max_size=6) | st.sampled_from(_ADDRESS_TEXTS)
    elif tag == "bool":
        valid = st.booleans()
    elif tag == "int":
        valid = st.integers(-5, 70000)
    elif tag == "float":
        valid = st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False)
    elif tag == "any":
        valid = _json
    elif tag == "opt":
        valid = st.none() | _value(kind[1], depth)
    elif tag == "list":
        valid = st.lists(_value(kind[1], depth + 1), max_size=3)
    elif tag == "dict":
        valid = st.dictionaries(st.text(max_size=5), _value(kind[1], depth + 1), max_size=3)
    elif tag == "model":
        valid = _object(kind[1], depth + 1)
    elif tag == "check":
        valid = st.sampled_from(_ADDRESS_TEXTS) | _value(kind[1], depth)
    else:
        raise AssertionError(tag)
    return st.one_of(valid, valid, valid, _json_scalar)  # mostly well-typed, sometimes anything


def _key_variant(key: str) -> st.SearchStrategy:
    return st.sampled_from([key, key.upper(), key.lower(), key[:1].swapcase() + key[1:]])


@st.composite
def _object_draw(draw, table, depth: int) -> dict:
    out: dict = {}
    for _name, key, kind, _default in table.fields:
        for _ in range(draw(st.integers(0, 2))):  # absent, once, or twice (case variants: last wins)
            out[draw(_key_variant(key))] = draw(_value(kind, depth))
    if draw(st.booleans()):
        out[draw(st.text(max_size=5))] = draw(_json_scalar)  # unknown keys are ignored
    return out


def _object(table, depth: int = 0) -> st.SearchStrategy:
    return _object_draw(table, depth)


def _plain(value):
    if isinstance(value, BaseModel):
        return {name: _plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Record):
        return {name: _plain(v) for name, v in value.field_values().items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _outcome(fn):
    try:
        return ("ok", _plain(fn()))
    except CNIError as err:
        return ("error", err.code, err.msg, err.details)


def _load(ref: str):
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(("model_ref", "table_ref"), PAIRS, ids=[p[0] for p in PAIRS])
def test_lean_decoder_equals_pydantic_model(model_ref, table_ref):
    model, table = _load(model_ref), _load(table_ref)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=_object(table) | _json)
    def check(data):
        assert _outcome(lambda: decode(table, data, prefix="p: ")) == _outcome(
            lambda: parse_model(model, data, prefix="p: ")
        )

    check()


def test_every_model_has_a_table():
    assert len(PAIRS) >= 20
    for out_module, (_source, names, _records) in schemagen.SCHEMAS.items():
        tables = importlib.import_module(out_module)
        for name in names:
            assert hasattr(tables, name), f"{out_module} lacks {name}"


def test_schema_modules_are_current():
    stale = [m for m, text in schemagen.generate().items() if schemagen.module_path(m).read_text() != text]
    assert not stale, f"regenerate with `make schemas`: {stale}"


def test_record_annotations_name_the_model_fields():
    """The pure record classes declare the same attribute names as their models (for readers and
    type checkers), so neither can gain or lose a field alone."""
    for _out_module, (source, _names, records) in schemagen.SCHEMAS.items():
        models = importlib.import_module(source)
        for model_name, record_ref in records.items():
            record = _load(record_ref)
            declared = set()
            for cls in type.mro(record):
                declared |= {k for k in getattr(cls, "__annotations__", {}) if not k.startswith("_")}
            fields = set(getattr(models, model_name).model_fields)
            assert fields <= declared or record_ref.endswith("NetConfRecord"), (record_ref, fields - declared)
