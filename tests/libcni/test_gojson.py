"""Go encoding/json compatibility of libcni.gojson (the bytes plugins and cache files get)."""

from __future__ import annotations

import pytest

from libcni import gojson


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1500.0, "1500"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (1e-6, "0.000001"),
        (1.2e-10, "1.2e-10"),
        (123456789012345678.0, "123456789012345680"),
        (-2.0, "-2"),
        (0.0, "0"),
    ],
)
def test_floats_are_written_like_go(value, text):
    assert gojson.format_float(value) == text


def test_numbers_decode_as_float64_and_lose_precision_like_go():
    # Go decodes into interface{} as float64: 2^53+1 cannot survive, 1.0 prints as 1.
    data = gojson.loads(b'{"big": 9007199254740993, "one": 1.0, "exp": 1e2}')
    assert gojson.dumps(data) == b'{"big":9007199254740992,"exp":100,"one":1}'


def test_maps_are_sorted_structs_keep_order_and_html_is_escaped():
    value = {"b": 1, "a": gojson.Struct(z="<&>", y=[]), "c": "\u2028\n\x01"}
    assert gojson.dumps(value) == b'{"a":{"z":"\\u003c\\u0026\\u003e","y":[]},"b":1,"c":"\\u2028\\n\\u0001"}'


def test_indent_matches_marshal_indent():
    value = {"k": [1, {"x": {}}], "e": []}
    expected = '{\n    "e": [],\n    "k": [\n        1,\n        {\n            "x": {}\n        }\n    ]\n}'
    assert gojson.dumps(value, indent="    ").decode() == expected


def test_raw_is_embedded_verbatim():
    assert gojson.dumps({"p": gojson.Raw(b'{"z":1,"a":2}')}) == b'{"p":{"z":1,"a":2}}'


def test_invalid_utf8_becomes_replacement_and_nan_is_rejected():
    assert gojson.loads(b'"a\xffb"') == "a\ufffdb"
    with pytest.raises(ValueError):
        gojson.loads(b"NaN")
