"""resolv.conf parsing for the `resolvConf` key (Go's parseResolvConf)."""

from __future__ import annotations

from libcni.types.results import DNS


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


def parse_resolv_conf(path: str) -> DNS:
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return parse_resolv_conf_text(f.read())
