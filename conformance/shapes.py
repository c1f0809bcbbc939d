"""Structural validation of results and error objects, per spec version (cni-spec.md section 4).

Pure functions over decoded JSON: they return a list of problems, empty when the object is a
valid instance of what the given spec version defines.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

FAMILY_020 = ("0.1.0", "0.2.0")
FAMILY_040 = ("0.3.0", "0.3.1", "0.4.0")
FAMILY_100 = ("1.0.0", "1.1.0")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5,19}$")


def family_of(version: str) -> tuple[str, ...] | None:
    version = version or "0.1.0"
    for family in (FAMILY_020, FAMILY_040, FAMILY_100):
        if version in family:
            return family
    return None


def _cidr_problem(where: str, value: Any) -> str | None:
    if not isinstance(value, str) or "/" not in value:
        return f"{where}: {value!r} is not an address with prefix"
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        return f"{where}: {value!r} is not an address with prefix"
    return None


def _ip_problem(where: str, value: Any) -> str | None:
    try:
        ipaddress.ip_address(value)
    except (ValueError, TypeError):
        return f"{where}: {value!r} is not an IP address"
    return None


def _family(text: str) -> int:
    return ipaddress.ip_interface(text).version


def _unknown(where: str, obj: dict, allowed: set[str]) -> list[str]:
    return [f"{where}: unexpected key {key!r}" for key in obj if key not in allowed]


def dns_problems(dns: Any, where: str = "dns") -> list[str]:
    if not isinstance(dns, dict):
        return [f"{where}: not an object"]
    problems = _unknown(where, dns, {"nameservers", "domain", "search", "options"})
    for key in ("nameservers", "search", "options"):
        if key in dns and not (isinstance(dns[key], list) and all(isinstance(x, str) for x in dns[key])):
            problems.append(f"{where}.{key}: not a list of strings")
    if "domain" in dns and not isinstance(dns["domain"], str):
        problems.append(f"{where}.domain: not a string")
    return problems


def routes_problems(routes: Any, where: str, extra: set[str] = frozenset()) -> list[str]:
    if not isinstance(routes, list):
        return [f"{where}: not a list"]
    problems: list[str] = []
    for i, route in enumerate(routes):
        at = f"{where}[{i}]"
        if not isinstance(route, dict):
            problems.append(f"{at}: not an object")
            continue
        problems += _unknown(at, route, {"dst", "gw", *extra})
        problem = _cidr_problem(f"{at}.dst", route.get("dst"))
        if problem:
            problems.append(problem)
        if "gw" in route and (problem := _ip_problem(f"{at}.gw", route["gw"])):
            problems.append(problem)
    return problems


def result_problems(data: Any, version: str) -> list[str]:
    """Problems of `data` as a result of spec `version` (the config's cniVersion)."""
    if not isinstance(data, dict):
        return ["result is not a JSON object"]
    problems = []
    got = data.get("cniVersion")
    if got != version:
        problems.append(f"cniVersion is {got!r}, expected the config's {version!r}")
    family = family_of(version)
    if family is FAMILY_020:
        problems += _result_020(data)
    elif family is not None:
        problems += _result_new(data, family)
    return problems


def _result_020(data: dict) -> list[str]:
    problems = _unknown("result", data, {"cniVersion", "ip4", "ip6", "dns"})
    if "ip4" not in data and "ip6" not in data:
        problems.append("result: neither ip4 nor ip6")
    for key, fam in (("ip4", 4), ("ip6", 6)):
        if key not in data:
            continue
        ip = data[key]
        if not isinstance(ip, dict):
            problems.append(f"{key}: not an object")
            continue
        problems += _unknown(key, ip, {"ip", "gateway", "routes"})
        if problem := _cidr_problem(f"{key}.ip", ip.get("ip")):
            problems.append(problem)
        elif _family(ip["ip"]) != fam:
            problems.append(f"{key}.ip: {ip['ip']} is not IPv{fam}")
        if "gateway" in ip and (problem := _ip_problem(f"{key}.gateway", ip["gateway"])):
            problems.append(problem)
        if "routes" in ip:
            problems += routes_problems(ip["routes"], f"{key}.routes")
    if "dns" in data:
        problems += dns_problems(data["dns"])
    return problems


def _result_new(data: dict, family: tuple[str, ...]) -> list[str]:
    problems = _unknown("result", data, {"cniVersion", "interfaces", "ips", "routes", "dns"})
    interfaces = data.get("interfaces", [])
    iface_keys = {"name", "mac", "sandbox"}
    if family is FAMILY_100:
        iface_keys |= {"mtu", "socketPath", "pciID"}
    if not isinstance(interfaces, list):
        problems.append("interfaces: not a list")
        interfaces = []
    for i, iface in enumerate(interfaces):
        at = f"interfaces[{i}]"
        if not isinstance(iface, dict):
            problems.append(f"{at}: not an object")
            continue
        problems += _unknown(at, iface, iface_keys)
        if not isinstance(iface.get("name"), str) or not iface.get("name"):
            problems.append(f"{at}.name: missing")
        if "mac" in iface and not (isinstance(iface["mac"], str) and MAC_RE.match(iface["mac"])):
            problems.append(f"{at}.mac: {iface['mac']!r} is not a MAC address")
        if "sandbox" in iface and not isinstance(iface["sandbox"], str):
            problems.append(f"{at}.sandbox: not a string")
    ips = data.get("ips", [])
    if not isinstance(ips, list):
        problems.append("ips: not a list")
        ips = []
    ip_keys = {"address", "gateway", "interface"} | ({"version"} if family is FAMILY_040 else set())
    for i, ip in enumerate(ips):
        at = f"ips[{i}]"
        if not isinstance(ip, dict):
            problems.append(f"{at}: not an object")
            continue
        problems += _unknown(at, ip, ip_keys)
        if problem := _cidr_problem(f"{at}.address", ip.get("address")):
            problems.append(problem)
            continue
        fam = _family(ip["address"])
        if family is FAMILY_040 and ip.get("version") != str(fam):
            problems.append(f"{at}.version: {ip.get('version')!r}, expected {str(fam)!r}")
        if "gateway" in ip:
            if problem := _ip_problem(f"{at}.gateway", ip["gateway"]):
                problems.append(problem)
            elif ipaddress.ip_address(ip["gateway"]).version != fam:
                problems.append(f"{at}.gateway: family differs from the address")
        if "interface" in ip:
            index = ip["interface"]
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(interfaces):
                problems.append(f"{at}.interface: {index!r} is not an index into interfaces")
    extra = {"mtu", "advmss", "priority", "table", "scope"}  # Go keeps 1.1 route fields in older output
    if "routes" in data:
        problems += routes_problems(data["routes"], "routes", extra)
    if "dns" in data:
        problems += dns_problems(data["dns"])
    return problems


def error_problems(data: Any) -> list[str]:
    """Problems of an error object printed on stdout (spec: code, msg, details; cniVersion optional)."""
    if not isinstance(data, dict):
        return ["error output is not a JSON object"]
    problems = _unknown("error", data, {"cniVersion", "code", "msg", "details"})
    code = data.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or code < 0:
        problems.append(f"error.code: {code!r} is not an unsigned integer")
    if not isinstance(data.get("msg"), str):
        problems.append("error.msg: missing or not a string")
    if "details" in data and not isinstance(data["details"], str):
        problems.append("error.details: not a string")
    return problems


def version_reply_problems(data: Any) -> list[str]:
    """Problems of a VERSION reply: {"cniVersion": ..., "supportedVersions": [...]}."""
    if not isinstance(data, dict):
        return ["VERSION reply is not a JSON object"]
    problems = []
    if not isinstance(data.get("cniVersion"), str) or not data.get("cniVersion"):
        problems.append("VERSION reply: cniVersion missing")
    supported = data.get("supportedVersions")
    if not isinstance(supported, list) or not all(isinstance(v, str) for v in supported):
        problems.append("VERSION reply: supportedVersions is not a list of strings")
    elif not supported and data.get("cniVersion") != "0.2.0":
        problems.append("VERSION reply: supportedVersions is empty")
    return problems


def convert_result(data: dict, version: str) -> dict:
    """A result written in the 1.x shape, expressed in `version` (libcni's conversion rules).

    Used to build prevResult for a case's cniVersion. 1.x -> 0.3/0.4 adds `version` to each IP
    and drops the 1.1 interface fields; -> 0.1/0.2 keeps the first IP of each family and the
    routes of the families that have one.
    """
    family = family_of(version)
    if family is FAMILY_100:
        return {**data, "cniVersion": version}
    if family is FAMILY_040:
        out: dict[str, Any] = {"cniVersion": version}
        if "interfaces" in data:
            out["interfaces"] = [
                {k: v for k, v in iface.items() if k in ("name", "mac", "sandbox")}
                for iface in data["interfaces"]
            ]
        if "ips" in data:
            out["ips"] = [{"version": str(_family(ip["address"])), **ip} for ip in data["ips"]]
        if "routes" in data:
            out["routes"] = data["routes"]
        out["dns"] = data.get("dns", {})
        return out
    out = {"cniVersion": version}
    for ip in data.get("ips", []):
        key = f"ip{_family(ip['address'])}"
        if key not in out:
            out[key] = {"ip": ip["address"], **({"gateway": ip["gateway"]} if "gateway" in ip else {})}
    for route in data.get("routes", []):
        key = f"ip{_family(route['dst'])}"
        if key in out:
            out[key].setdefault("routes", []).append({k: v for k, v in route.items() if k in ("dst", "gw")})
    out["dns"] = data.get("dns", {})
    return out
