"""Unrelated rules in the nat table, shaped like kube-proxy's (for the scale curve of `make bench`).

Rule k (0-based) belongs to service k // 3: the service's rule in KUBE-SERVICES, the one in its
KUBE-SVC chain and the DNAT in its KUBE-SEP chain, so n rules also bring about 2n/3 chains, as on a
node where kube-proxy (iptables mode) programs n/3 services. PREROUTING and OUTPUT jump to
KUBE-SERVICES and POSTROUTING to KUBE-POSTROUTING, as kube-proxy does. IPv4 only.

Only for the benchmark's private namespace (scripts/private-ns): never run on a real host.
"""

from __future__ import annotations

import subprocess

ENTRY_JUMPS = (
    ("PREROUTING", '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES'),
    ("OUTPUT", '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES'),
    ("POSTROUTING", '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'),
)


def _svc(s: int) -> str:
    return f"KUBE-SVC-{s:06d}"


def _sep(s: int) -> str:
    return f"KUBE-SEP-{s:06d}"


def _rule(k: int) -> str:
    s, kind = divmod(k, 3)
    a, b = divmod(s, 250)
    comment = f'"bench/svc{s}:http"'
    if kind == 0:
        return (
            f"-A KUBE-SERVICES -d 10.96.{a % 256}.{b + 1}/32 -p tcp -m comment --comment {comment} "
            f"-m tcp --dport 80 -j {_svc(s)}"
        )
    if kind == 1:
        return f"-A {_svc(s)} -m comment --comment {comment} -j {_sep(s)}"
    return (
        f"-A {_sep(s)} -p tcp -m comment --comment {comment} -m tcp -j DNAT "
        f"--to-destination 10.244.{a % 256}.{b + 1}:8080"
    )


def load_script(start: int, end: int) -> str:
    """Rules start..end-1 (the entry jumps and KUBE-SERVICES with the first)."""
    lines = ["*nat"]
    if start == 0 and end > 0:
        lines += [":KUBE-SERVICES - [0:0]", ":KUBE-POSTROUTING - [0:0]"]
        lines += [f"-A {chain} {rule}" for chain, rule in ENTRY_JUMPS]
        lines.append("-A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE")
    for k in range(start, end):
        if k % 3 == 0:
            lines += [f":{_svc(k // 3)} - [0:0]", f":{_sep(k // 3)} - [0:0]"]
        lines.append(_rule(k))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def remove_script(count: int) -> str:
    """Everything load_script(0, count) made."""
    if count == 0:
        return ""
    services = range((count + 2) // 3)
    chains = ["KUBE-SERVICES", "KUBE-POSTROUTING"] + [c for s in services for c in (_svc(s), _sep(s))]
    lines = ["*nat"] + [f"-D {chain} {rule}" for chain, rule in ENTRY_JUMPS]
    lines += [f"-F {c}" for c in chains] + [f"-X {c}" for c in chains] + ["COMMIT"]
    return "\n".join(lines) + "\n"


def apply(script: str) -> None:
    if script:
        subprocess.run(["iptables-restore", "--noflush", "--wait"], input=script.encode(), check=True)


def count_nat_rules() -> int:
    """`-A` lines in the IPv4 nat table (the benchmark checks it loaded what it says)."""
    out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, check=True).stdout
    return sum(1 for line in out.decode().splitlines() if line.startswith("-A "))
