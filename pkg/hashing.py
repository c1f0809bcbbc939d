"""Names and comments derived from hashes, identical to Go's pkg/utils so either side can clean up."""

from __future__ import annotations

try:  # the builtin module: hashlib would load OpenSSL (~5 ms of a cold call) for the same digest
    from _sha512 import sha512
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import sha512

from .quoting import go_quote

MAX_CHAIN_LENGTH = 28
CHAIN_PREFIX = "CNI-"


def sha512_hex(text: str) -> str:
    return sha512(text.encode()).hexdigest()


def format_chain_name(name: str, container_id: str, prefix: str = "") -> str:
    """("test", "1234") -> CNI-2bbe0c48b91a7d1b8a6753a8; prefix "DN-" -> CNI-DN-2bbe0c48b91a7d1b8a675."""
    return (CHAIN_PREFIX + prefix + sha512_hex(name + container_id))[:MAX_CHAIN_LENGTH]


def format_comment(name: str, container_id: str) -> str:
    return f"name: {go_quote(name)} id: {go_quote(container_id)}"
