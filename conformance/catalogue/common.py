"""Small builders that keep the catalogue readable: configs, expectations, fixtures."""

from __future__ import annotations

from typing import Any

from ..model import Deviation, Expect, Invoke, Run

SUBNET = "10.10.0.0/24"
GW = "10.10.0.1"
IP1 = "10.10.0.2"
IP2 = "10.10.0.3"
SUBNET6 = "2001:db8:10::/64"
GW6 = "2001:db8:10::1"
IP6_1 = "2001:db8:10::2"
BRIDGE = "cnibr0"


def ok(*result, state=(), output: str | None = None) -> Expect:
    return Expect(ok=True, result=tuple(result), state=tuple(state), output=output)


def fails(code: int | None = None, msg: str | None = None, state=()) -> Expect:
    return Expect(ok=False, code=code, msg=msg, state=tuple(state))


def spec_error(code: int, msg: str | None = None, state=(), go_code: int = 999) -> dict[str, Any]:
    """An error the spec gives a specific code for, where Go answers with 999 (deviation go-999).

    Use as keyword arguments of Invoke: Invoke("ADD", conf, **spec_error(7, "..."))."""
    return {
        "expect": fails(code, msg, state),
        "deviations": (Deviation("go-999", fails(go_code, msg, state)),),
    }


def ipam(**keys) -> dict:
    return {"type": "host-local", **keys}


def ipam_subnet(subnet: str = SUBNET, **keys) -> dict:
    return ipam(subnet=subnet, **keys)


def hl_conf(**ipam_keys) -> dict:
    """A config whose IPAM section is host-local (host-local receives the whole parent config)."""
    keys = ipam_keys or {"subnet": SUBNET}
    return {"name": "{net}", "type": "host-local", "ipam": ipam(**keys)}


def bridge_conf(ipam_section: dict | None = None, **keys) -> dict:
    conf = {"name": "{net}", "type": "bridge", "bridge": BRIDGE}
    conf.update(keys)
    conf["ipam"] = ipam_subnet() if ipam_section is None else ipam_section
    return conf


def tuning_conf(**keys) -> dict:
    return {"name": "{net}", "type": "tuning", **keys}


def portmap_conf(mappings: list | None = None, **keys) -> dict:
    conf: dict[str, Any] = {"name": "{net}", "type": "portmap", "capabilities": {"portMappings": True}}
    conf.update(keys)
    if mappings is not None:
        conf["runtimeConfig"] = {"portMappings": mappings}
    return conf


def container_result(
    ip: str | None = f"{IP1}/24", gw: str | None = GW, ifname: str = "eth0", netns: str = "{netns}", **extra
) -> dict:
    """A 1.x result describing one container interface (what a main plugin hands to chained ones)."""
    result: dict[str, Any] = {"interfaces": [{"name": ifname, "sandbox": netns}]}
    if ip:
        entry: dict[str, Any] = {"interface": 0, "address": ip}
        if gw:
            entry["gateway"] = gw
        result["ips"] = [entry]
    result.update(extra)
    return result


def container_veth(ns: str = "c1", ifname: str = "eth0", peer: str = "peer0", **link) -> tuple[Run, ...]:
    """A veth pair inside a container netns (a stand-in for an interface a main plugin made)."""
    steps = [
        Run(ns, ("ip", "link", "add", ifname, "type", "veth", "peer", "name", peer)),
        Run(ns, ("ip", "link", "set", ifname, "up")),
        Run(ns, ("ip", "link", "set", peer, "up")),
    ]
    for key, value in link.items():
        steps.append(Run(ns, ("ip", "link", "set", ifname, key, str(value))))
    return tuple(steps)


def host_to_container_link(
    n: int = 1, host_if: str = "hveth0", host_ip: str = f"{GW}/24", ip: str = f"{IP1}/24", gw: str = GW
) -> tuple[Run, ...]:
    """A veth from the host netns into container n, addressed on both ends, default route via the host."""
    netns = "{netns_name}" if n == 1 else f"{{netns{n}_name}}"
    c = f"c{n}"
    steps = [
        Run("host", ("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", netns)),
        Run("host", ("ip", "addr", "add", host_ip, "dev", host_if)),
        Run("host", ("ip", "link", "set", host_if, "up")),
        Run(c, ("ip", "addr", "add", ip, "dev", "eth0")),
        Run(c, ("ip", "link", "set", "eth0", "up")),
    ]
    if gw:
        family = "-6" if ":" in gw else "-4"
        steps.append(Run(c, ("ip", family, "route", "add", "default", "via", gw)))
    return tuple(steps)


def add(conf: dict, *result, state=(), label: str = "add", **kw) -> Invoke:
    return Invoke("ADD", conf, label=label, expect=ok(*result, state=state), **kw)


def delete(conf: dict, *, state=(), label: str = "del", **kw) -> Invoke:
    return Invoke("DEL", conf, label=label, expect=ok(state=state), **kw)


def check(conf: dict, *, label: str = "check", prev: Any = "add", **kw) -> Invoke:
    return Invoke("CHECK", conf, label=label, prev=prev, expect=ok(), **kw)
