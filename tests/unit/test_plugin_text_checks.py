"""Text checks of the plugins written with str methods instead of `re` (which costs ~6 ms of a cold
call): each accepts exactly the language of the regular expression it replaced (kept here)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ipam.host_local.ranges import is_prefix_text
from plugins.firewall.rules import is_plain

# The replaced patterns, as they were (used with fullmatch).
FIREWALL_PLAIN = re.compile(r"[A-Za-z0-9_./:,+@%=-]+")
HOST_LOCAL_PREFIX = re.compile(r"[0-9]+")

# Near misses: ASCII punctuation and blanks, other Unicode digits and letters (Arabic-Indic,
# fullwidth, superscript), a combining mark, NUL and a surrogate.
TRICKY = "".join(chr(c) for c in range(0x20, 0x7F)) + "\t\n\0\u0660\uff11\u00b2\u00e9\u0301\u212a\ud800"
TEXT = st.text(alphabet=TRICKY, max_size=12) | st.text(max_size=12)


@settings(max_examples=3000, deadline=None)
@given(text=TEXT)
def test_firewall_plain_token_is_the_old_pattern(text):
    assert is_plain(text) == bool(FIREWALL_PLAIN.fullmatch(text))


@settings(max_examples=3000, deadline=None)
@given(text=TEXT | st.text(alphabet="0123456789\u0660\uff11\u00b2 +-", max_size=6))
def test_host_local_prefix_digits_are_the_old_pattern(text):
    assert is_prefix_text(text) == bool(HOST_LOCAL_PREFIX.fullmatch(text))


def test_known_tokens():
    for text in ["", "!", "-j", "CNI-FORWARD", "10.0.0.2/24", "a b", 'x"', "é", "\u0660", "24", "0x1"]:
        assert is_plain(text) == bool(FIREWALL_PLAIN.fullmatch(text)), text
        assert is_prefix_text(text) == bool(HOST_LOCAL_PREFIX.fullmatch(text)), text
