"""JSON read and written the way Go's encoding/json does, for byte-compatible files and requests.

Go decodes an untyped JSON object into map[string]interface{} (every number a float64) and
encodes maps with their keys sorted, compactly, with <, > and & escaped. libcni builds every
plugin request and every cache file that way, so we must too: `loads` keeps Go's number
semantics (all floats) and `dumps` writes Go's bytes. Dicts of type `Struct` keep their key
order (a Go struct's field order) instead of being sorted; `Raw` embeds pre-encoded JSON.
"""

from __future__ import annotations

import _json  # json's C scanner: the json package would pull in re and enum (~8 ms a cold call)
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs ~3 ms of every cold call; annotations here are strings
    from typing import Any


class Struct(dict):
    """A JSON object whose keys are written in insertion order (a Go struct, not a map)."""


class Raw:
    """Already-encoded JSON, written as is (a json.RawMessage or a value with MarshalJSON)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | str) -> None:
        self.data = data.decode() if isinstance(data, bytes) else data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


# Go's encoding/json matches an object key to a struct field exactly, else by Unicode simple case
# folding (bytes.EqualFold); the LAST key of the document that matches a field sets it.
_SIMPLE_FOLDS = str.maketrans({"\u017f": "s", "\u212a": "k", "\u212b": "\u00e5"})


def fold(key: str) -> str:
    """A key's folded form: fold(a) == fold(b) exactly when Go's EqualFold(a, b)."""
    lowered = key.lower()
    return lowered if key.isascii() else lowered.translate(_SIMPLE_FOLDS)


class RepeatedKeys(dict):
    """A decoded object whose document held some key more than once (`repeated`, in order)."""

    __slots__ = ("repeated",)

    def __init__(self, items: dict[str, Any], repeated: list[str]) -> None:
        super().__init__(items)
        self.repeated = repeated


def _last_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose key order is the order of each key's LAST occurrence in the document, so
    that "the last matching key wins" is the last match in iteration order (Go's rule)."""
    out: dict[str, Any] = {}
    repeated: list[str] = []
    for key, value in pairs:
        if out.pop(key, out) is not out:
            repeated.append(key)
        out[key] = value
    return RepeatedKeys(out, repeated) if repeated else out


def repeated_keys(obj: dict) -> list[str]:
    """The keys a decoded object's document held more than once (what a Go map keeps only once)."""
    return getattr(obj, "repeated", [])


def lookup(data: dict, key: str) -> Any:
    """The value Go's decoder gives the field spelled `key`: the last matching key in document
    order (decoded by `decode_object`/`loads`), exact or case-folded; None when absent or null."""
    wanted = fold(key)
    found = None
    for k, v in data.items():
        if k == key or (isinstance(k, str) and fold(k) == wanted):
            found = v
    return found


def _may_hold_surrogate_escape(text: str) -> bool:
    """Whether `text` holds a \\uD800-\\uDFFF escape (or what looks like one): only then is the
    decoded value walked for lone surrogates."""
    at = text.find("\\u")
    while at >= 0:
        if text[at + 2 : at + 3] in ("d", "D") and text[at + 3 : at + 4] in _SURROGATE_SECOND:
            return True
        at = text.find("\\u", at + 2)
    return False


_SURROGATE_SECOND = frozenset("89abcdefABCDEF")


def _replace_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
    if isinstance(value, list):
        return [_replace_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_lone_surrogates(k): _replace_lone_surrogates(v) for k, v in value.items()}
    return value


def decode_text(data: bytes | str, parse_int: Any = None) -> Any:
    """Decode JSON as Go does: invalid UTF-8 (raw surrogate bytes too) and lone surrogate escapes
    become U+FFFD, NaN/Infinity are refused, objects keep Go's last-key-wins order (`lookup`).
    Raises ValueError (RecursionError is reported as Go's depth error)."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    try:
        value = _scan(text, _GO_FLOATS if parse_int is float else _PLAIN)
    except RecursionError:
        raise ValueError("exceeded max depth") from None  # Go's decoder also stops at a depth
    if _may_hold_surrogate_escape(text):  # rare: only then walk the whole value
        value = _replace_lone_surrogates(value)
    return value


class _Options:
    """What json.JSONDecoder hands its C scanner (json.scanner.c_make_scanner reads these)."""

    strict = True
    object_hook = None
    object_pairs_hook = staticmethod(_last_wins)
    parse_float = float
    parse_constant = staticmethod(_reject_constant)

    def __init__(self, parse_int: type) -> None:
        self.parse_int = parse_int


_PLAIN = _Options(int)
_GO_FLOATS = _Options(float)
_WHITESPACE = " \t\n\r"


def _scan(text: str, options: _Options) -> Any:
    """json.loads(text, ...) with the same value and the same JSONDecodeError, without importing
    the json package up front (json.decoder is imported when a document is malformed)."""
    if text.startswith("\ufeff"):
        _fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _json.make_scanner(options)(text, start)  # type: ignore[arg-type]  # duck-typed
    except StopIteration as err:
        _fail("Expecting value", text, err.value)
    except SystemError:
        # The C scanner raises its JSONDecodeError from json.decoder, which it only finds once
        # imported: import it (a malformed document is the rare case) and scan again.
        if "json.decoder" in sys.modules:
            raise
        import json.decoder  # noqa: F401

        return _scan(text, options)
    rest = len(text) - len(text[end:].lstrip(_WHITESPACE))
    if rest != len(text):
        _fail("Extra data", text, rest)
    return value


def _fail(message: str, text: str, at: int) -> Any:
    from json import JSONDecodeError

    raise JSONDecodeError(message, text, at) from None


def loads(data: bytes | str, go_numbers: bool = True) -> Any:
    """Decode like json.Unmarshal into interface{}: numbers become floats (float64) when
    `go_numbers`; invalid UTF-8 becomes U+FFFD; NaN/Infinity are rejected."""
    return decode_text(data, parse_int=float if go_numbers else None)


def format_float(value: float) -> str:
    """Go's float64 encoding: shortest digits, plain notation for 1e-6 <= |v| < 1e21."""
    import math  # only the runtime side prints floats

    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {value}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    shortest = repr(value)
    magnitude = abs(value)
    if 1e-6 <= magnitude < 1e21:
        from decimal import Decimal  # ~9 ms: only the runtime side prints floats

        text = format(Decimal(shortest), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mantissa, _, exponent = shortest.partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    sign = exponent[0] if exponent[0] in "+-" else "+"
    digits = exponent.lstrip("+-").lstrip("0") or "0"
    if len(digits) == 1 and sign == "-":
        return f"{mantissa}e-{digits}"
    if sign == "-":
        return f"{mantissa}e-{digits.zfill(2)}"
    return f"{mantissa}e+{digits.zfill(2)}"


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def quote(text: str) -> str:
    """A Go-escaped JSON string (HTML-safe, U+2028/9 escaped, lone surrogates replaced)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif code < 0x20 or ch in "<>&" or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _encode(value: Any, out: list[str], indent: str | None, level: int, ordered: bool = False) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(quote(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_float(value))
    elif isinstance(value, Raw):
        if indent is None:
            out.append(value.data)
        else:
            _encode(loads(value.data, go_numbers=False), out, indent, level, ordered)
    elif isinstance(value, dict):
        items = list(value.items()) if ordered or isinstance(value, Struct) else sorted(value.items())
        if not items:
            out.append("{}")
            return
        out.append("{")
        for i, (key, item) in enumerate(items):
            if i:
                out.append(",")
            if indent is not None:
                out.append("\n" + indent * (level + 1))
            out.append(quote(str(key)))
            out.append(": " if indent is not None else ":")
            _encode(item, out, indent, level + 1, ordered)
        if indent is not None:
            out.append("\n" + indent * level)
        out.append("}")
    elif isinstance(value, list | tuple):
        if not value:
            # Go writes a nil slice as null; callers that mean "absent" leave the key out.
            out.append("[]")
            return
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            if indent is not None:
                out.append("\n" + indent * (level + 1))
            _encode(item, out, indent, level + 1, ordered)
        if indent is not None:
            out.append("\n" + indent * level)
        out.append("]")
    else:
        raise TypeError(f"json: unsupported type: {type(value).__name__}")


def dumps(value: Any, indent: str | None = None, ordered: bool = False) -> bytes:
    """Encode like json.Marshal (or json.MarshalIndent(v, "", indent) when `indent` is set).
    `ordered`: every dict is written in its own key order (all of them Go structs, as a result or
    an error object is), not only `Struct`s."""
    out: list[str] = []
    _encode(value, out, indent, 0, ordered)
    return "".join(out).encode()


def sort_keys_deep(value: Any) -> Any:
    """What a Go struct becomes after a round trip through map[string]interface{}: plain maps."""
    if isinstance(value, dict):
        return {k: sort_keys_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sort_keys_deep(v) for v in value]
    return value
