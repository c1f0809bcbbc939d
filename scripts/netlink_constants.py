#!/usr/bin/env python3
"""Write pkg/netlink/constants.py from pyroute2's definitions (`make netlink-constants`).

The plugins speak netlink through pkg/netlink, a small codec of their own: importing pyroute2's
message classes costs ~27 ms of every cold call (logging, multiprocessing, platform...), the
IPRoute machinery ~150 ms. The numbers the codec needs still come from ONE place, pyroute2 (and
`socket`), through this generator: every value below is read from pyroute2 at generation time
(module constants, and attribute numbers from the message classes' nla maps), never typed in.
`--check` fails when the committed file differs from what pyroute2 says (tests/unit runs it).

    .venv/bin/python scripts/netlink_constants.py [--check]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "pkg", "netlink", "constants.py")

# Module-level constants, by the pyroute2 module that defines them.
MODULE_CONSTANTS: dict[str, tuple[str, ...]] = {
    "pyroute2.netlink": (
        "NLM_F_REQUEST",
        "NLM_F_MULTI",
        "NLM_F_ACK",
        "NLM_F_DUMP_INTR",
        "NLM_F_DUMP",
        "NLM_F_REPLACE",
        "NLM_F_EXCL",
        "NLM_F_CREATE",
        "NLM_F_APPEND",
        "NLMSG_NOOP",
        "NLMSG_ERROR",
        "NLMSG_DONE",
        "NLMSG_OVERRUN",
        "NLA_F_NESTED",
        "NLA_F_NET_BYTEORDER",
        "SOL_NETLINK",
        "NETLINK_NETFILTER",
    ),
    "pyroute2.netlink.rtnl": (
        "IFNAMSIZ",
        "RTM_NEWLINK",
        "RTM_DELLINK",
        "RTM_GETLINK",
        "RTM_SETLINK",
        "RTM_NEWADDR",
        "RTM_DELADDR",
        "RTM_GETADDR",
        "RTM_NEWROUTE",
        "RTM_DELROUTE",
        "RTM_GETROUTE",
        "RTM_NEWNEIGH",
        "RTM_DELNEIGH",
        "RTM_GETNEIGH",
    ),
    "pyroute2.netlink.rtnl.ifinfmsg": (
        "IFF_UP",
        "IFF_BROADCAST",
        "IFF_LOOPBACK",
        "IFF_RUNNING",
        "IFF_NOARP",
        "IFF_PROMISC",
        "IFF_ALLMULTI",
        "IFF_MULTICAST",
        "IFF_LOWER_UP",
        "BRIDGE_FLAGS_MASTER",
        "BRIDGE_FLAGS_SELF",
        "BRIDGE_VLAN_INFO_PVID",
        "BRIDGE_VLAN_INFO_UNTAGGED",
    ),
    "pyroute2.netlink.rtnl.ifaddrmsg": (
        "IFA_F_SECONDARY",
        "IFA_F_NODAD",
        "IFA_F_OPTIMISTIC",
        "IFA_F_DADFAILED",
        "IFA_F_DEPRECATED",
        "IFA_F_TENTATIVE",
        "IFA_F_PERMANENT",
        "IFA_F_NOPREFIXROUTE",
    ),
    "pyroute2.netlink.rtnl.rtmsg": (
        "RT_SCOPE_UNIVERSE",
        "RT_SCOPE_SITE",
        "RT_SCOPE_LINK",
        "RT_SCOPE_HOST",
        "RT_SCOPE_NOWHERE",
    ),
    "pyroute2.netlink.rtnl.ndmsg": ("NUD_REACHABLE", "NUD_STALE", "NUD_NOARP", "NUD_PERMANENT"),
    "pyroute2.netlink.nfnetlink": ("NFNL_SUBSYS_CTNETLINK",),
    "pyroute2.netlink.nfnetlink.nfctsocket": (
        "IPCTNL_MSG_CT_GET",
        "IPCTNL_MSG_CT_DELETE",
        "FILTER_FLAG_CTA_PROTO_NUM",
        "FILTER_FLAG_CTA_PROTO_DST_PORT",
    ),
}

# Constants pyroute2 keeps in dictionaries: (module, dictionary, names).
DICT_CONSTANTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pyroute2.netlink.rtnl", "rtprotos", ("RTPROT_UNSPEC", "RTPROT_KERNEL", "RTPROT_BOOT", "RTPROT_STATIC")),
    ("pyroute2.netlink.rtnl", "rtypes", ("RTN_UNSPEC", "RTN_UNICAST", "RTN_LOCAL", "RTN_BROADCAST")),
)

# Renamed single values: (our name, module, attribute).
ALIASES: tuple[tuple[str, str, str], ...] = (("RT_TABLE_MAIN", "pyroute2.iproute.linux", "DEFAULT_TABLE"),)

# Attribute numbers, from the nla maps of pyroute2's message classes: (module, class path, names).
NLA_NUMBERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pyroute2.netlink", "nlmsgerr", ("NLMSGERR_ATTR_MSG",)),
    (
        "pyroute2.netlink.rtnl.ifinfmsg",
        "ifinfmsg",
        (
            "IFLA_ADDRESS",
            "IFLA_BROADCAST",
            "IFLA_IFNAME",
            "IFLA_MTU",
            "IFLA_LINK",
            "IFLA_MASTER",
            "IFLA_PROTINFO",
            "IFLA_TXQLEN",
            "IFLA_OPERSTATE",
            "IFLA_LINKINFO",
            "IFLA_NET_NS_PID",
            "IFLA_AF_SPEC",
            "IFLA_NET_NS_FD",
            "IFLA_EXT_MASK",
            "IFLA_PROMISCUITY",
            "IFLA_LINK_NETNSID",
            "IFLA_ALLMULTI",
        ),
    ),
    (
        "pyroute2.netlink.rtnl.ifinfmsg",
        "ifinfmsg.ifinfo",
        ("IFLA_INFO_KIND", "IFLA_INFO_DATA", "IFLA_INFO_SLAVE_KIND", "IFLA_INFO_SLAVE_DATA"),
    ),
    ("pyroute2.netlink.rtnl.ifinfmsg", "ifinfmsg.ifinfo.veth_data", ("VETH_INFO_PEER",)),
    ("pyroute2.netlink.rtnl.ifinfmsg", "ifinfmsg.ifinfo.bridge_data", ("IFLA_BR_VLAN_FILTERING",)),
    (
        "pyroute2.netlink.rtnl.ifinfmsg",
        "protinfo_bridge",
        ("IFLA_BRPORT_STATE", "IFLA_BRPORT_MODE", "IFLA_BRPORT_LEARNING", "IFLA_BRPORT_ISOLATED"),
    ),
    (
        "pyroute2.netlink.rtnl.ifinfmsg",
        "ifinfmsg.af_spec_bridge",
        ("IFLA_BRIDGE_FLAGS", "IFLA_BRIDGE_VLAN_INFO"),
    ),
    (
        "pyroute2.netlink.rtnl.ifaddrmsg",
        "ifaddrmsg",
        ("IFA_ADDRESS", "IFA_LOCAL", "IFA_LABEL", "IFA_BROADCAST", "IFA_FLAGS"),
    ),
    (
        "pyroute2.netlink.rtnl.rtmsg",
        "rtmsg",
        ("RTA_DST", "RTA_OIF", "RTA_GATEWAY", "RTA_PRIORITY", "RTA_PREFSRC", "RTA_MULTIPATH", "RTA_TABLE"),
    ),
    ("pyroute2.netlink.rtnl.ndmsg", "ndmsg", ("NDA_DST", "NDA_LLADDR")),
    ("pyroute2.netlink.nfnetlink.nfctsocket", "nfct_msg", ("CTA_TUPLE_ORIG", "CTA_ZONE", "CTA_FILTER")),
    ("pyroute2.netlink.nfnetlink.nfctsocket", "nfct_msg.cta_tuple", ("CTA_TUPLE_PROTO",)),
    (
        "pyroute2.netlink.nfnetlink.nfctsocket",
        "nfct_msg.cta_tuple.cta_proto",
        ("CTA_PROTO_NUM", "CTA_PROTO_DST_PORT"),
    ),
    (
        "pyroute2.netlink.nfnetlink.nfctsocket",
        "nfct_msg.cta_filter",
        ("CTA_FILTER_ORIG_FLAGS", "CTA_FILTER_REPLY_FLAGS"),
    ),
)


def lean_pyroute2() -> None:
    """Import pyroute2's modules without its package __init__ (which starts NDB machinery)."""
    if "pyroute2" in sys.modules:
        return
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pyroute2 is not installed (pip install -e '.[test]')")
    stub = types.ModuleType("pyroute2")
    stub.__path__ = list(spec.submodule_search_locations)
    stub.__spec__ = spec
    sys.modules["pyroute2"] = stub


def nla_numbers(cls: type) -> dict[str, int]:
    """name -> attribute number of a pyroute2 nla map (positional unless numbered)."""
    out: dict[str, int] = {}
    for position, item in enumerate(cls.nla_map):
        number, name = (item[0], item[1]) if isinstance(item[0], int) else (position, item[0])
        out.setdefault(name, number)
    return out


def resolve(module: str, path: str) -> object:
    obj: object = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def render() -> str:
    lean_pyroute2()
    version = importlib.import_module("pyroute2.config.version").__version__
    lines = [
        '"""Netlink constants from pyroute2 (and `socket`). GENERATED by scripts/netlink_constants.py',
        f"from pyroute2 {version}: do not edit; `make netlink-constants` rewrites it, and a test fails",
        'when it no longer matches pyroute2."""',
        "",
        "from _socket import (  # noqa: F401 - re-exported; _socket: socket's C core, without its enums",
        "    AF_BRIDGE,",
        "    AF_INET,",
        "    AF_INET6,",
        "    AF_NETLINK,",
        "    AF_UNSPEC,",
        "    IPPROTO_UDP,",
        "    NETLINK_ROUTE,",
        ")",
    ]
    for module, names in MODULE_CONSTANTS.items():
        mod = importlib.import_module(module)
        lines += ["", f"# {module}"]
        lines += [f"{name} = {int(getattr(mod, name))}" for name in names]
    for module, table, names in DICT_CONSTANTS:
        values = getattr(importlib.import_module(module), table)
        lines += ["", f"# {module}.{table}"]
        lines += [f"{name} = {int(values[name])}" for name in names]
    lines += [""]
    for name, module, attribute in ALIASES:
        lines += [
            f"{name} = {int(getattr(importlib.import_module(module), attribute))}  # {module}.{attribute}"
        ]
    for module, path, names in NLA_NUMBERS:
        numbers = nla_numbers(resolve(module, path))  # type: ignore[arg-type]
        lines += ["", f"# {module}: {path}.nla_map"]
        lines += [f"{name} = {numbers[name]}" for name in names]
    states = resolve("pyroute2.netlink.rtnl.ifinfmsg", "states")
    lines += [
        "",
        "# pyroute2.netlink.rtnl.ifinfmsg.states: IFLA_OPERSTATE values, named like Go's LinkOperState",
        "OPERSTATES = (" + ", ".join(f'"{str(s).lower()}"' for s in states) + ")",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail if the committed file is out of date")
    options = parser.parse_args()
    text = render()
    if options.check:
        with open(TARGET) as f:
            if f.read() != text:
                raise SystemExit(f"{TARGET} is out of date: run scripts/netlink_constants.py")
        return
    with open(TARGET + ".tmp", "w") as f:
        f.write(text)
    os.replace(TARGET + ".tmp", TARGET)
    print(f"wrote {os.path.relpath(TARGET, ROOT)}")


if __name__ == "__main__":
    main()
