"""Hypothesis strategies for hostile CNI inputs: JSON values of the wrong type, huge numbers,
deep nesting, odd unicode, bad addresses and CIDRs, absurd sizes; structural mutations of
valid configs; environments, CNI_ARGS and raw stdin bytes.

Everything is drawn through a hypothesis `data` object so a run is reproducible from its seed.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from .corpus import CONTAINER_IFNAME, VERSIONS

HUGE_INTS = [
    2**31,
    2**31 - 1,
    -(2**31) - 1,
    2**32,
    2**63,
    2**63 - 1,
    -(2**63),
    2**64,
    10**30,
    -1,
    0,
    65536,
    4095,
]
ODD_TEXT = [
    "",
    " ",
    "\t",
    "\u0000",
    "a\u0000b",
    "\ud800",  # a lone surrogate: valid JSON escape, not encodable as UTF-8
    "\udfff\ud800",
    "\u202eevil",
    "\ufeff",
    "\u200b",
    "e\u0301",
    "ǅ",
    "𝔣𝔲𝔷𝔷",
    "😀" * 8,
    "İ",
    "ß",
    "K",  # Kelvin sign: lower() is ascii k
    "ſ",
    "../../../../etc/passwd",
    "..",
    ".",
    "/",
    "/etc/passwd",
    "/proc/self/ns/net",
    "a/b",
    "a:b",
    "a b",
    "-x",
    "$(touch /tmp/pwned)",
    "`id`",
    "'; flush ruleset; '",
    "\nflush ruleset\n",
    "%s%n%x",
    "IFNAME",
    "0x1f",
    "1e309",
    "NaN",
    "-0",
    "true",
    "null",
    "x" * 16,
    "x" * 256,
    "x" * 4097,
]
BAD_ADDRESSES = [
    "10.0.0.0/33",
    "10.0.0.256",
    "256.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    "01.02.03.04",
    "10.0.0.1/24",
    "10.0.0.0/0",
    "0.0.0.0/0",
    "0.0.0.0",
    "255.255.255.255",
    "127.0.0.1",
    "224.0.0.1",
    "::",
    "::1",
    "::/0",
    "fe80::1%eth0",
    "fe80::1%",
    "fd00::/129",
    "fd00:::1",
    "::ffff:10.0.0.1",
    "::ffff:10.0.0.0/120",
    "1::2::3",
    "10.0.0.0/8/8",
    "10.0.0.0/-1",
    "10.0.0.0/ 24",
    " 10.0.0.1",
    "10.77.0.0/31",
    "10.77.0.0/32",
    "fd00:77::/127",
    "fd00:77::/128",
    "10.77.0.1",
    "10.77.0.255",
    "00:11:22:33:44:55",
    "ff:ff:ff:ff:ff:ff",
    "01:00:5e:00:00:01",
    "00:00:00:00:00:00",
    "0a:58:0a:4d:00:09:01:02",
    "zz:zz:zz:zz:zz:zz",
]
KEY_NAMES = [
    "cniVersion",
    "name",
    "type",
    "ipam",
    "dns",
    "prevResult",
    "runtimeConfig",
    "capabilities",
    "args",
    "cni",
    "bridge",
    "mtu",
    "vlan",
    "vlanTrunk",
    "ipMasq",
    "ipMasqBackend",
    "isGateway",
    "subnet",
    "ranges",
    "routes",
    "gateway",
    "rangeStart",
    "rangeEnd",
    "ips",
    "ipRanges",
    "mac",
    "sysctl",
    "portMappings",
    "hostPort",
    "containerPort",
    "protocol",
    "hostIP",
    "backend",
    "snat",
    "markMasqBit",
    "conditionsV4",
    "externalSetMarkChain",
    "interfaces",
    "interface",
    "version",
    "address",
    "ip4",
    "cni.dev/valid-attachments",
    "containerID",
    "ifname",
    "txQLen",
    "allmulti",
    "promisc",
]

VERSION_TEXT = [*VERSIONS, "", "1.2.0", "0.5.0", "1", "1.0", "1.0.0.0", "v1.0.0", "1.0.x", "٣.٠.٠"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_INTS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, -0.0, 1e308, 80.0, 1.0]),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(ODD_TEXT),
    st.sampled_from(BAD_ADDRESSES),
    st.sampled_from(VERSION_TEXT),
)
JSON_VALUES = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEY_NAMES), st.text(max_size=8)), children, max_size=4),
    ),
    max_leaves=12,
)
IDS = st.one_of(
    st.just("fz-ctr-1"),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=30),
    st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]{0,300}", fullmatch=True),
)


class Draw:
    """Where the fuzzer's random decisions come from (two engines below, one interface)."""

    def choice(self, items: Sequence[Any]) -> Any:
        raise NotImplementedError

    def integer(self, low: int, high: int) -> int:
        raise NotImplementedError

    def value(self) -> Any:
        """A hostile JSON value: any type, odd text, bad addresses, huge numbers, some nesting."""
        raise NotImplementedError

    def text(self, max_size: int) -> str:
        raise NotImplementedError

    def binary(self, max_size: int) -> bytes:
        raise NotImplementedError

    def ident(self) -> str:
        """A container-ID-like string (sometimes valid, sometimes not)."""
        raise NotImplementedError

    def boolean(self) -> bool:
        return self.integer(0, 1) == 1


class HypothesisDraw(Draw):
    """Hypothesis strategies: boundary-biased values (slow: ~15 ms per input here)."""

    def __init__(self, data) -> None:  # noqa: ANN001
        self.data = data

    def choice(self, items: Sequence[Any]) -> Any:
        return self.data.draw(st.sampled_from(list(items)))

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def value(self) -> Any:
        return self.data.draw(JSON_VALUES)

    def text(self, max_size: int) -> str:
        return self.data.draw(st.text(max_size=max_size))

    def binary(self, max_size: int) -> bytes:
        return self.data.draw(st.binary(max_size=max_size))

    def ident(self) -> str:
        return self.data.draw(IDS)


class RandomDraw(Draw):
    """A seeded random.Random over the same pools: ~50x faster, for the bulk of the inputs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, items: Sequence[Any]) -> Any:
        return items[self.rng.randrange(len(items))]

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def _char(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            return chr(self.rng.randint(0x20, 0x7E))
        if r < 0.6:
            return chr(self.rng.randint(0, 0x1F))
        if r < 0.85:
            return chr(self.rng.randint(0x80, 0xFFFF))
        return chr(self.rng.randint(0x10000, 0x10FFFF))

    def text(self, max_size: int) -> str:
        return "".join(self._char() for _ in range(self.rng.randint(0, max_size)))

    def binary(self, max_size: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, max_size))

    def scalar(self) -> Any:
        kind = self.rng.randrange(12)
        if kind == 0:
            return None
        if kind == 1:
            return self.rng.random() < 0.5
        if kind == 2:
            return self.rng.randint(-(10 ** self.rng.randint(0, 25)), 10 ** self.rng.randint(0, 25))
        if kind == 3:
            return self.choice(HUGE_INTS)
        if kind == 4:
            return self.choice([0.5, -0.0, 1e308, 80.0, 1.0, self.rng.uniform(-1e6, 1e6)])
        if kind in (5, 6):
            return self.text(20)
        if kind in (7, 8):
            return self.choice(ODD_TEXT)
        if kind in (9, 10):
            return self.choice(BAD_ADDRESSES)
        return self.choice(VERSION_TEXT)

    def value(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if depth > 3 or r < 0.7:
            return self.scalar()
        if r < 0.85:
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 4))]
        keys = [
            self.choice(KEY_NAMES) if self.rng.random() < 0.7 else self.text(8)
            for _ in range(self.rng.randint(0, 4))
        ]
        return {k: self.value(depth + 1) for k in keys}

    def ident(self) -> str:
        r = self.rng.random()
        if r < 0.3:
            return "fz-ctr-1"
        if r < 0.5:
            return self.choice(ODD_TEXT)
        if r < 0.7:
            return self.text(30)
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
        return self.choice(alphabet[:62]) + "".join(
            self.choice(alphabet) for _ in range(self.rng.randint(0, 300))
        )


OPS = ["replace", "replace", "replace", "delete", "add", "rename", "wrap", "deep", "huge"]
DAMAGE = ["none"] * 6 + ["truncate", "bytes", "bom", "trailing", "dupkey", "ws"]
DEEP_MARK = "@@fuzz-deep-"


def deep_marker(depth: int, kind: str) -> str:
    """A placeholder `encode` replaces by `depth` nested arrays or objects (built as text: the
    fuzzer's own json.dumps would hit the recursion limit first)."""
    return f"{DEEP_MARK}{kind}-{depth}@@"


def _expand_deep(text: str) -> str:
    import re

    def build(match: re.Match) -> str:
        kind, depth = match.group(1), int(match.group(2))
        if kind == "list":
            return "[" * depth + "1" + "]" * depth
        return '{"a":' * depth + "1" + "}" * depth

    return re.sub(r'"' + re.escape(DEEP_MARK) + r'(list|dict)-(\d+)@@"', build, text)


# ---------------------------------------------------------------- config mutations


def paths(value: Any, prefix: tuple = (), limit: int = 400) -> list[tuple]:
    """Paths (tuples of keys / indexes) inside a JSON value, the root included (at most `limit`)."""
    out = [prefix]
    if len(prefix) > 12:
        return out
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))[:50]
    else:
        return out
    for key, child in items:
        if len(out) >= limit:
            break
        out += paths(child, (*prefix, key), limit - len(out))
    return out


def _get(value: Any, path: tuple) -> Any:
    for part in path:
        value = value[part]
    return value


def _case_variant(d: Draw, key: str) -> str:
    choice = d.choice(["upper", "lower", "title", "swap"])
    return {"upper": key.upper(), "lower": key.lower(), "title": key.title(), "swap": key.swapcase()}[choice]


def mutate(d: Draw, value: Any, *, within: tuple = (), max_ops: int = 4) -> Any:
    """Apply 1..max_ops structural mutations to a copy of `value` (only under `within`)."""
    value = copy.deepcopy(value)
    grown = False
    for _ in range(d.integer(1, max_ops)):
        candidates = [p for p in paths(value) if p[: len(within)] == within] or [()]
        path = d.choice(candidates)
        op = d.choice(OPS)
        if path == () and op in ("delete", "rename", "replace", "wrap", "huge", "deep"):
            op = "add"
        if op == "huge" and grown:  # one size explosion per input: two multiply (3000 x 60 x ...)
            op = "replace"
        grown = grown or op == "huge"
        target = _get(value, path)
        parent = _get(value, path[:-1]) if path else None
        key = path[-1] if path else None
        if op == "replace":
            parent[key] = d.value()
        elif op == "huge":
            # absurd sizes in bulk are the "sizes" set's job (stress/fuzz.py); here: moderate
            copies = 3000 if not isinstance(target, (dict, list)) else 60
            parent[key] = d.choice([d.choice(HUGE_INTS), "x" * d.choice([300, 5000]), [target] * copies])
        elif op == "delete":
            del parent[key]
        elif op == "add" and isinstance(target, dict):
            target[d.choice(KEY_NAMES) if d.boolean() else d.text(10)] = d.value()
        elif op == "add" and isinstance(target, list):
            target.append(d.value())
        elif op == "rename" and isinstance(parent, dict):
            parent[_case_variant(d, str(key))] = parent.pop(key)
        elif op == "wrap" and parent is not None:
            parent[key] = [target] if d.boolean() else {"v": target}
        elif op == "deep" and parent is not None:
            parent[key] = deep_marker(d.choice([20, 200, 990, 3000, 20000]), d.choice(["list", "dict"]))
    return value


def encode(d: Draw, value: Any) -> bytes:
    """Serialise, sometimes damaging the bytes afterwards."""
    try:
        text = _expand_deep(json.dumps(value, ensure_ascii=d.boolean()))
    except (ValueError, RecursionError):
        text = "{}"
    raw = text.encode("utf-8", "surrogatepass")
    damage = d.choice(DAMAGE)
    if damage == "truncate" and raw:
        raw = raw[: d.integer(0, len(raw) - 1)]
    elif damage == "bytes":
        at = d.integer(0, len(raw))
        raw = raw[:at] + (d.binary(8) or b"\xff") + raw[at:]
    elif damage == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif damage == "trailing":
        raw = raw + d.choice([b"\n", b" {}", b"garbage", b"\x00", b"]"])
    elif damage == "dupkey" and raw.startswith(b"{") and len(raw) > 2:
        key = d.choice(KEY_NAMES).encode()
        raw = b'{"' + key + b'": 1, "' + key + b'": "two", ' + raw[1:]
    elif damage == "ws":
        raw = b" " * d.choice([1, 1000]) + raw
    return raw


# ---------------------------------------------------------------- environments

COMMANDS = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"]
ODD_COMMANDS = ["", "add", "Add", "ADD ", "DELETE", "UPDATE", "\u0000", "VERSION\n", "GC;ADD"]
IFNAME_POOL = [
    "eth1",
    "a",
    "x" * 15,
    "x" * 16,
    "eth0.10",
    "dot.",
    "-",
    "_",
    "a\tb",
    "é" * 8,
    "ab:c",
    "IFNAME",
]
ARG_KEYS = ["IP", "MAC", "IgnoreUnknown", "K8S_POD_NAME", "ip", "Ip", ""]
ARG_VALUES = [
    "true",
    "false",
    "1",
    "0",
    "TRUE",
    "yes",
    "",
    "10.77.0.9",
    "10.78.0.44",
    "fd00:78::9",
    "10.78.1.6/28",
    "0a:58:0a:4d:00:0b",
]


def ifname(d: Draw) -> str:
    kind = d.integer(0, 9)
    if kind < 4:
        return CONTAINER_IFNAME
    if kind < 6:
        return d.choice(IFNAME_POOL)
    if kind < 8:
        return d.choice(ODD_TEXT)
    return d.text(17) or "x"


def cni_args(d: Draw) -> str:
    pairs = []
    for _ in range(d.integer(0, 5)):
        key = d.choice(ARG_KEYS) if d.integer(0, 3) else d.text(6)
        pick = d.integer(0, 3)
        value = d.choice(ARG_VALUES) if pick < 2 else d.choice(BAD_ADDRESSES) if pick == 2 else d.text(12)
        pairs.append(f"{key}={value}")
    text = ";".join(pairs)
    if d.integer(0, 9) == 0:
        text = d.choice([";", "=", "a==b", "IP=1;;", "=;=", "IgnoreUnknown", "a=b=c"])
    return text
