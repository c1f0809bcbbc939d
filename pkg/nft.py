"""nftables through the `nft` binary: atomic batches in (`nft -f -`), JSON out (`nft -j list`).

Raw `conditionsV4/V6` strings from configs are nft syntax, which only `nft` can parse; one
batch is one kernel transaction, so a failed change leaves nothing half-applied.
"""

from __future__ import annotations

from libcni.gojson import decode_text
from libcni.types.errors import CNIError, ErrCode

from .command import Completed, run
from .quoting import go_quote as quote  # noqa: F401 - string literals in nft scripts (comments)

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~3 ms of a cold call
if TYPE_CHECKING:
    from typing import Any

NFT = "nft"


class NftError(CNIError):
    pass


def apply(script: str) -> None:
    """Apply a batch of nft commands atomically; raise NftError with nft's message on failure."""
    proc = run([NFT, "-f", "-"], stdin=script)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        raise NftError(ErrCode.INTERNAL, f"nft failed: {message}")


def list_argv(*what: str) -> list[str]:
    return [NFT, "-j", "list", *what]


def list_json(*what: str) -> list[dict[str, Any]] | None:
    """`nft -j list <what>` as the list of objects under "nftables"; None if it does not exist."""
    return parse_listing(run(list_argv(*what)))


def parse_listing(proc: Completed) -> list[dict[str, Any]] | None:
    """The result of `list_argv(...)`: the objects under "nftables", None if it does not exist."""
    if proc.returncode != 0:
        return None
    try:
        data = decode_text(proc.stdout or b"{}")
    except ValueError:
        return None
    return data.get("nftables", [])


def rules(family: str, table: str, chain: str) -> list[dict[str, Any]]:
    """The rules of one chain (each the JSON `rule` object with handle and comment); [] if absent."""
    items = list_json("chain", family, table, chain) or []
    return [item["rule"] for item in items if "rule" in item]


def available() -> bool:
    """nftables is usable: the binary runs and can list the ruleset."""
    return run([NFT, "list", "tables"]).returncode == 0
