"""A case whose namespaces answer from canned readings, for testing checks without a kernel."""

from __future__ import annotations

import json

from conformance.engine import Case, Outcome
from conformance.model import Invoke, Scenario

SCENARIO = Scenario(id="unit.fake", plugin="bridge", title="fake", steps=(Invoke("ADD", {}),), containers=2)


def fake_case(version: str = "1.0.0", scenario: Scenario = SCENARIO) -> Case:
    case = Case(scenario, version, "/nonexistent")
    for ns in case.namespaces.values():
        ns._cache.update(
            {
                "links": [],
                "addrs": [],
                "routes4": [],
                "routes6": [],
                "nft": "",
                "ipt4:nat": "",
                "ipt6:nat": "",
            }
        )
    return case


def outcome(data=None, exit=0, verb="ADD", label="add", stdout=None, sent_prev=None) -> Outcome:
    text = stdout if stdout is not None else ("" if data is None else json.dumps(data))
    return Outcome(
        label=label, plugin="bridge", verb=verb, exit=exit, stdout=text, stderr="", sent_prev=sent_prev
    )


def link(
    name, kind="veth", master=None, flags=("UP",), mac="0a:00:00:00:00:01", mtu=1500, slave=None, **extra
):
    data = {"ifname": name, "flags": list(flags), "mtu": mtu, "address": mac, "linkinfo": {"info_kind": kind}}
    if master:
        data["master"] = master
    if slave is not None:
        data["linkinfo"]["info_slave_data"] = slave
    data.update(extra)
    return data
