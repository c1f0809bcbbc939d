"""pkg.quoting.shell_split, portmap's and firewall's reader of saved iptables rules, splits words
as `shlex.split` does (POSIX mode, no comments) without importing shlex (which imports `re`): same
words for every input, and a ValueError with shlex's message exactly when shlex raises one."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkg.quoting import shell_split

SPLITTERS = [shell_split]

# Every character shlex treats specially, blanks it does not (\v, \f, U+00A0), and plain text.
ALPHABET = " \t\r\n\v\f\u00a0\"'\\#-ab!/:0é"
TEXT = st.text(alphabet=ALPHABET, max_size=40) | st.text(max_size=20)


def _reference(text: str) -> list[str] | str:
    try:
        return shlex.split(text)
    except ValueError as err:
        return f"ValueError: {err}"


def _ours(split, text: str) -> list[str] | str:
    try:
        return split(text)
    except ValueError as err:
        return f"ValueError: {err}"


@pytest.mark.parametrize("split", SPLITTERS)
@settings(max_examples=3000, deadline=None)
@given(text=TEXT)
def test_same_words_and_errors_as_shlex(split, text):
    assert _ours(split, text) == _reference(text)


@pytest.mark.parametrize("split", SPLITTERS)
@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"n\\" id: \\"c\\"" -j CNI-DN-1',
        "-A X -m comment --comment 'it''s' -j Y",
        'a"b c"d \'\' ""',
        "trailing\\",
        '"open',
        "'open",
        '"escaped \\',
        "x\\ y \\\ny",
        '"\\a\\"\\\\"',
    ],
)
def test_known_lines(split, text):
    assert _ours(split, text) == _reference(text)
