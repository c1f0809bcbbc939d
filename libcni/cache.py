"""The result cache, byte-compatible with Go's libcni (cache kind "cniCacheV1").

One file per attachment: <cache dir>/results/<network>-<container id>-<ifname>, mode 0600 in a
0700 directory, holding a JSON object with Go's field order: kind, containerId, config (the
list's original bytes, base64 because Go encodes []byte that way), ifName, networkName, netns,
cniArgs, capabilityArgs, result (the final ADD result as a Go map: keys sorted). A runtime can
switch between Go's libcni and ours and still find its attachments.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from typing import Any

from . import gojson
from .files import mkdir_all

CACHE_DIR = "/var/lib/cni"
CACHE_KIND = "cniCacheV1"


class CacheError(Exception):
    pass


@dataclass
class CachedInfo:
    """A decoded cache file (Go's cachedInfo)."""

    kind: str = ""
    container_id: str = ""
    config: bytes = b""
    ifname: str = ""
    network_name: str = ""
    netns: str = ""
    cni_args: list[tuple[str, str]] | None = None
    capability_args: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    has_config: bool = field(default=False, repr=False)


def results_dir(cache_dir: str) -> str:
    return os.path.join(cache_dir, "results")


def cache_file_path(cache_dir: str, network: str, container_id: str, ifname: str) -> str:
    if not network or not container_id or not ifname:
        raise CacheError(
            f"cache file path requires network name ({json.dumps(network)}), container ID "
            f"({json.dumps(container_id)}), and interface name ({json.dumps(ifname)})"
        )
    return os.path.join(results_dir(cache_dir), f"{network}-{container_id}-{ifname}")


def encode_cache(
    *,
    container_id: str,
    config: bytes,
    ifname: str,
    network: str,
    netns: str,
    cni_args: list[tuple[str, str]] | None,
    capability_args: dict[str, Any] | None,
    result: Any,
) -> bytes:
    """The file's bytes, exactly as json.Marshal(&cachedInfo) writes them.

    `result` is the result's JSON value (any key order): Go stores it as a map, so sorted."""
    info = gojson.Struct(
        kind=CACHE_KIND,
        containerId=container_id,
        config=base64.b64encode(config).decode(),
        ifName=ifname,
        networkName=network,
    )
    if netns:
        info["netns"] = netns
    if cni_args:
        info["cniArgs"] = [[k, v] for k, v in cni_args]
    if capability_args:
        info["capabilityArgs"] = capability_args
    if result:
        info["result"] = gojson.sort_keys_deep(result)
    return gojson.dumps(info)


def write_cache_file(path: str, data: bytes) -> None:
    """Write atomically (temp file, fsync, rename) so a crash never leaves an empty or half
    file behind (cni#1055); the temp name starts with '.' and no attachment reader takes it."""
    directory = os.path.dirname(path)
    mkdir_all(directory, 0o700)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def remove_cache_file(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def read_file(path: str) -> bytes | None:
    """The file's bytes, or None when it cannot be read (Go ignores read errors here)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def decode_cache(data: bytes) -> CachedInfo:
    """json.Unmarshal(data, &cachedInfo): raises CacheError where Go's Unmarshal would fail."""
    try:
        raw = gojson.loads(data, go_numbers=False)
    except ValueError as err:
        raise CacheError(str(err)) from None
    info = CachedInfo()
    if raw is None:
        return info
    if not isinstance(raw, dict):
        raise CacheError("json: cannot unmarshal into Go value of type libcni.cachedInfo")

    def text(key: str) -> str:
        value = gojson.lookup(raw, key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise CacheError(f"json: cannot unmarshal into Go struct field cachedInfo.{key} of type string")
        return value

    info.kind = text("kind")
    info.container_id = text("containerId")
    info.ifname = text("ifName")
    info.network_name = text("networkName")
    info.netns = text("netns")
    config = text("config")
    try:
        info.config = base64.b64decode(config, validate=True)
    except (binascii.Error, ValueError):
        raise CacheError("illegal base64 data in cachedInfo.config") from None
    info.has_config = gojson.lookup(raw, "config") is not None
    cni_args = gojson.lookup(raw, "cniArgs")
    if cni_args is not None:
        if not isinstance(cni_args, list) or not all(
            isinstance(p, list) and all(isinstance(x, str) for x in p) for p in cni_args
        ):
            raise CacheError("json: cannot unmarshal into Go struct field cachedInfo.cniArgs")
        # a Go [2]string: extra items are dropped, missing ones are empty
        info.cni_args = [(p[0] if p else "", p[1] if len(p) > 1 else "") for p in cni_args]
    caps = gojson.lookup(raw, "capabilityArgs")
    if caps is not None:
        if not isinstance(caps, dict):
            raise CacheError("json: cannot unmarshal into Go struct field cachedInfo.capabilityArgs")
        info.capability_args = caps
    result = gojson.lookup(raw, "result")
    if result is not None:
        if not isinstance(result, dict):
            raise CacheError("json: cannot unmarshal into Go struct field cachedInfo.result")
        info.result = result
    return info


@dataclass
class CachedAttachment:
    container_id: str
    network: str
    ifname: str
    config: bytes
    netns: str
    cni_args: list[tuple[str, str]] | None
    capability_args: dict[str, Any] | None


def cached_attachments(cache_dir: str, container_id: str = "") -> list[CachedAttachment]:
    """Every readable cniCacheV1 file with an ifname and a network name, in name order;
    with `container_id`, only that container's (by file name, then by content)."""
    directory = results_dir(cache_dir)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    except OSError as err:
        raise CacheError(f"open {directory}: {err.strerror}") from None
    found = []
    for name in sorted(names, key=os.fsencode):
        if name.startswith("."):
            continue  # our in-flight temp files
        if container_id:
            part = f"-{container_id}-"
            pos = name.find(part)
            if pos <= 0 or pos + len(part) >= len(name):
                continue
        data = read_file(os.path.join(directory, name))
        if data is None:
            continue
        try:
            info = decode_cache(data)
        except CacheError:
            continue
        if info.kind != CACHE_KIND:
            continue
        if container_id and info.container_id != container_id:
            continue
        if not info.ifname or not info.network_name:
            continue
        found.append(
            CachedAttachment(
                container_id=info.container_id,
                network=info.network_name,
                ifname=info.ifname,
                config=info.config,
                netns=info.netns,
                cni_args=info.cni_args,
                capability_args=info.capability_args,
            )
        )
    return found
