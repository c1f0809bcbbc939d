"""Quoting text for the tools the plugins feed: one rule each, shared by every plugin."""

from __future__ import annotations


def go_quote(text: str) -> str:
    """Go's %q for plain text: double quotes with \\ and \" escaped. Also an nft string literal
    and an iptables comment as Go's plugins write it."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def restore_token(token: str) -> str:
    """A token for iptables-restore, which splits on blanks and knows double quotes with \\" inside:
    quoted only when it must be."""
    if token and not any(c.isspace() or c in "\"'\\" for c in token):
        return token
    return go_quote(token)


_BLANKS = " \t\r\n"  # shlex's whitespace


def shell_split(text: str) -> list[str]:
    """`shlex.split(text)` (POSIX mode, no comments), written out because shlex imports `re`:
    blanks separate words; a backslash escapes the next character; '...' keeps everything; "..."
    keeps everything but a backslash before " or \\ escapes it. ValueError (shlex's message) on an
    unclosed quote or a trailing backslash (tests/unit/test_saved_tokens.py)."""
    words: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _BLANKS:
            i += 1
        if i >= n:
            return words
        word: list[str] = []
        while i < n and text[i] not in _BLANKS:
            c = text[i]
            if c == "\\":
                if i + 1 >= n:
                    raise ValueError("No escaped character")
                word.append(text[i + 1])
                i += 2
            elif c == "'":
                end = text.find("'", i + 1)
                if end < 0:
                    raise ValueError("No closing quotation")
                word.append(text[i + 1 : end])
                i = end + 1
            elif c == '"':
                i += 1
                while True:
                    if i >= n:
                        raise ValueError("No closing quotation")
                    c = text[i]
                    if c == '"':
                        i += 1
                        break
                    if c == "\\":
                        if i + 1 >= n:
                            raise ValueError("No escaped character")
                        if text[i + 1] not in '"\\':
                            word.append(c)
                        word.append(text[i + 1])
                        i += 2
                    else:
                        word.append(c)
                        i += 1
            else:
                word.append(c)
                i += 1
        words.append("".join(word))


def saved_words(saved: str) -> list[str]:
    """The words of a rule as iptables-save printed it: `shell_split`, or `str.split` when that
    fails (an unclosed quote, a trailing backslash)."""
    try:
        return shell_split(saved)
    except ValueError:
        return saved.split()
