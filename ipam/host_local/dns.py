"""resolv.conf parsing for the `resolvConf` key (Go's parseResolvConf)."""

from __future__ import annotations

import os
import stat

from libcni.types.results import DNS

RESOLV_CONF_LIMIT = 64 * 1024  # real resolv.conf files are a few hundred bytes


class ResolvConfError(ValueError):
    """The file opened but is not something to read as resolv.conf (a FIFO, a device, a
    directory, or far too large): a configuration mistake, not an I/O failure."""


def parse_resolv_conf_text(text: str) -> DNS:
    """nameserver appends, domain sets, search/options append every remaining field;
    comments (# or ;) and lines with fewer than two fields are skipped."""
    nameservers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    domain = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        fields = line.split()
        if len(fields) < 2:
            continue
        key = fields[0]
        if key == "nameserver":
            nameservers.append(fields[1])
        elif key == "domain":
            domain = fields[1]
        elif key == "search":
            search.extend(fields[1:])
        elif key == "options":
            options.extend(fields[1:])
    return DNS(nameservers=nameservers, domain=domain, search=search, options=options)


def read_resolv_conf(path: str) -> str:
    """The file's text. Links are followed (systemd's /etc/resolv.conf is one), but what they
    lead to must be a regular file of at most RESOLV_CONF_LIMIT bytes: opening does not block
    (O_NONBLOCK, for a FIFO) and reading stops at the limit (for /dev/zero and the like)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ResolvConfError("not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= RESOLV_CONF_LIMIT:
            chunk = os.read(fd, RESOLV_CONF_LIMIT + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > RESOLV_CONF_LIMIT:
        raise ResolvConfError(f"larger than {RESOLV_CONF_LIMIT} bytes")
    return b"".join(chunks).decode("utf-8", "surrogateescape")


def parse_resolv_conf(path: str) -> DNS:
    return parse_resolv_conf_text(read_resolv_conf(path))
