"""The cold path avoids json, re and subprocess (they cost more than a plugin's work); each
hand-written replacement is proven here to accept exactly what the code it replaced accepted."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from libcni import gojson
from libcni.types.errors import CNIError
from libcni.validate import is_identifier
from pkg.command import run, run_parallel
from pkg.iptables import jumps
from pkg.mac import parse_mac
from tests.harness import COSTLY_MODULES

# -- JSON: the C scanner of json, driven directly ----------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


def _document(value, spaces):
    return spaces + json.dumps(value) + spaces


def _outcome(function, text):
    try:
        return ("ok", function(text))
    except json.JSONDecodeError as err:
        return ("error", err.msg, err.pos)
    except ValueError as err:  # NaN / Infinity, refused as Go refuses them
        return ("value-error", str(err))


def _reference(text, parse_int=None):
    return json.loads(
        text, object_pairs_hook=gojson._last_wins, parse_int=parse_int, parse_constant=gojson._reject_constant
    )


@settings(max_examples=300, deadline=None)
@given(value=json_values, spaces=st.sampled_from(["", " ", "\n\t ", "\r\n"]))
def test_scanner_decodes_valid_documents_like_json_loads(value, spaces):
    text = _document(value, spaces)
    assert _outcome(gojson.decode_text, text) == _outcome(_reference, text)
    assert _outcome(gojson.loads, text) == _outcome(lambda t: _reference(t, float), text)


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet='{}[]",:0123456789.-+eE tfnrulasx\\\n\ufeff', max_size=24))
@example(text="")
@example(text="\ufeff{}")
@example(text="{} x")
@example(text="[1,]")
@example(text='{"a": NaN}')
def test_scanner_fails_like_json_loads(text):
    """Malformed documents: the same error, message and position as json.loads."""
    assert _outcome(gojson.decode_text, text) == _outcome(_reference, text)


def test_scanner_reports_errors_when_json_decoder_was_never_imported():
    code = (
        "import sys; sys.path.insert(0, '.'); from libcni import gojson\n"
        "assert 'json.decoder' not in sys.modules\n"
        "try:\n    gojson.decode_text('[1,')\nexcept ValueError as err:\n    print(type(err).__name__, err)\n"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "JSONDecodeError Expecting value: line 1 column 4 (char 3)"


@given(text=st.text(alphabet='\\uUdD89aAfF0x"', max_size=12))
def test_surrogate_escape_check_matches_the_old_pattern(text):
    assert gojson._may_hold_surrogate_escape(text) == bool(re.search(r"\\u[dD][89a-fA-F]", text))


# -- identifiers, MACs, jump targets: plain string checks instead of regexes --------------------


@given(st.text(alphabet="aZ09_.-/ é\n:", max_size=8) | st.text(max_size=6))
@example("a\n")
def test_identifier_rule_is_gos_regex(text):
    assert is_identifier(text) == bool(re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]*", text))


_GO_MAC = (
    re.compile(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2})*\Z"),
    re.compile(r"[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4})*\Z"),
)


def _mac_reference(text):
    """Go's net.ParseMAC forms (the old regexes, anchored at the true end: Go has no `$` quirk)."""
    if _GO_MAC[0].match(text):
        octets = re.split("[:-]", text)
    elif _GO_MAC[1].match(text):
        octets = [group[i : i + 2] for group in text.split(".") for i in (0, 2)]
    else:
        return None
    return ":".join(o.lower() for o in octets) if len(octets) in (6, 8, 20) else None


macs = st.lists(st.text(alphabet="0aF", min_size=1, max_size=4), min_size=1, max_size=21).flatmap(
    lambda parts: st.sampled_from([":", "-", ".", ":-"]).map(
        lambda sep: "".join(p + sep[i % len(sep)] for i, p in enumerate(parts))[:-1]
    )
)


@settings(max_examples=400)
@given(macs | st.text(alphabet="0aFg:-.\n", max_size=20))
@example("aa:bb:cc:dd:ee:ff\n")
@example("0000.0000.0000")
def test_mac_parsing_is_gos(text):
    try:
        ours = parse_mac(text)
    except CNIError:
        ours = None
    assert ours == _mac_reference(text)


@given(
    rule=st.lists(st.sampled_from(["-j", "-g", "KUBE", "KUBE-X", "X", " ", "\t", "-m"]), max_size=6).map(
        "".join
    ),
    target=st.sampled_from(["KUBE", "KUBE-X", "X"]),
)
def test_jump_detection_is_the_old_pattern(rule, target):
    pattern = re.compile(rf"(^|\s)-[jg] {re.escape(target)}(\s|$)")
    assert jumps(rule, target) == bool(pattern.search(rule))


# -- pkg.command: posix_spawn instead of subprocess ---------------------------------------------


def test_command_output_exit_codes_and_missing_tools():
    big = b"0123456789" * 200_000  # more than a pipe holds, both ways
    done = run(["cat"], big)
    assert (done.returncode, done.stdout, done.stderr) == (0, big, b"")
    failed = run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (failed.returncode, failed.stdout, failed.stderr) == (3, b"out\n", b"err\n")
    missing = run(["no-such-tool-anywhere"])
    assert missing.returncode == 127 and b"no-such-tool-anywhere" in missing.stderr


def test_command_children_get_default_signals_and_no_stray_fds(tmp_path):
    # SIGPIPE back at its default: `yes` dies of it when head stops reading (Python ignores it).
    piped = run(["sh", "-c", "yes | head -n 1; echo ${PIPESTATUS:-done}"])
    assert piped.stdout.startswith(b"y\n")
    import os

    leaked = os.open(tmp_path, os.O_RDONLY)  # inheritable (no O_CLOEXEC): like an fd a runtime leaks
    os.set_inheritable(leaked, True)
    try:
        listing = run(["ls", "/proc/self/fd"]).stdout.split()
    finally:
        os.close(leaked)
    assert str(leaked).encode() not in listing


def test_command_timeout_kills_and_parallel_keeps_order():
    slow, quick = run_parallel([(["sleep", "30"], None), (["echo", "quick"], None)], timeout=0.5)
    assert slow.returncode == -9
    assert (quick.returncode, quick.stdout) == (0, b"quick\n")


@pytest.mark.parametrize("module", ["libcni.skel", "pkg.command", "pkg.ns", "pkg.iptables", "pkg.nft"])
def test_core_modules_import_none_of_the_costly_stdlib(module):
    code = f"import sys; sys.path.insert(0, '.'); import {module}; print(' '.join(sys.modules))"
    loaded = set(
        subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True).stdout.split()
    )
    assert loaded & COSTLY_MODULES == set()
