"""The one GC rule every plugin follows: what `cni.dev/valid-attachments` says about staleness.

- The key is missing (or null): nothing is known to be stale, so GC removes nothing. A runtime
  that sends no list has not said which attachments are alive; treating that as "none are" would
  tear down live containers (mappings, masquerade, addresses).
- The key is present, even as an empty list: it is authoritative. Whatever a plugin made for an
  attachment not on the list is stale.

The pre-rename key `cni.dev/attachments` counts the same when the new one is absent. Works on any
decoded config object with the NetConf attribute names (pydantic model or lean record).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ValidAttachments:
    """An authoritative list of the live (containerID, ifname) pairs of one network."""

    pairs: frozenset[tuple[str, str]]

    @property
    def container_ids(self) -> frozenset[str]:
        return frozenset(cid for cid, _ in self.pairs)

    def keeps(self, container_id: str, ifname: str | None = None) -> bool:
        """Is this attachment alive? Without an ifname: is any attachment of the container alive?"""
        if ifname is None:
            return container_id in self.container_ids
        return (container_id, ifname) in self.pairs

    def __iter__(self):
        return iter(sorted(self.pairs))


def from_list(listed: Iterable | None) -> ValidAttachments | None:
    """None for a missing list; entries are objects with containerID/ifname attributes or dicts."""
    if listed is None:
        return None
    pairs = set()
    for entry in listed:
        if isinstance(entry, dict):
            cid, ifname = entry.get("containerID", ""), entry.get("ifname", "")
        else:
            cid, ifname = entry.containerID, entry.ifname
        pairs.add((str(cid), str(ifname)))
    return ValidAttachments(frozenset(pairs))


def valid_attachments(conf) -> ValidAttachments | None:
    """The authoritative list of a decoded NetConf, or None: GC must then remove nothing."""
    listed = getattr(conf, "valid_attachments", None)
    if listed is None:
        listed = getattr(conf, "legacy_attachments", None)
    return from_list(listed)
