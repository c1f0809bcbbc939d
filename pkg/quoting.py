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
