"""The engine's pure parts: names, stdin building, expectation judging, skip rules, reports, compare."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conformance import report
from conformance.compare import Difference, compare_cases, diff_values, grouped
from conformance.engine import CaseResult, Names, StepRecord, chain_name
from conformance.model import OMIT, Deviation, Expect, Invoke, Scenario
from conformance.probe import PluginInfo, skip_reason
from conformance.snapshot import Normalizer
from conformance.suite import RunResult, select

from .fakes import SCENARIO, fake_case, outcome

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_names_are_deterministic_and_distinct_per_version():
    a, b = Names.of("x.y", "1.0.0").values(), Names.of("x.y", "1.0.0").values()
    assert a == b
    assert Names.of("x.y", "0.4.0").values()["net"] != a["net"]
    assert a["netns"].startswith("/run/netns/") and a["netns"] != a["netns2"] != a["host_netns"]
    assert len(a["dn_chain"]) == 28 and a["dn_chain"].startswith("CNI-DN-")


def test_chain_name_matches_go():
    # pkg/utils test vectors from the Go reference
    assert chain_name("test", "1234") == "CNI-2bbe0c48b91a7d1b8a6753a8"
    assert chain_name("test", "1234", "DN-") == "CNI-DN-2bbe0c48b91a7d1b8a675"


def test_stdin_gets_version_prev_result_and_omissions():
    case = fake_case("0.4.0")
    raw, sent, prev = case.build_stdin(Invoke("ADD", {"name": "{net}", "type": "x"}))
    assert json.loads(raw) == {"cniVersion": "0.4.0", "name": case.values["net"], "type": "x"}
    raw, sent, prev = case.build_stdin(Invoke("ADD", {"name": "n", "cniVersion": OMIT}))
    assert json.loads(raw) == {"name": "n"}
    raw, sent, prev = case.build_stdin(Invoke("ADD", {"name": "n", "cniVersion": "1.0"}))
    assert json.loads(raw)["cniVersion"] == "1.0"
    # a 1.x-shaped prevResult is converted to the case version
    result = {
        "interfaces": [{"name": "eth0", "sandbox": "{netns}"}],
        "ips": [{"interface": 0, "address": "10.0.0.2/24"}],
    }
    raw, sent, prev = case.build_stdin(Invoke("ADD", {"name": "n"}, prev=result))
    assert prev["ips"][0]["version"] == "4" and prev["interfaces"][0]["sandbox"] == case.values["netns"]
    # a label takes an earlier output as it is
    case.outcomes["add"] = outcome({"cniVersion": "0.4.0", "ips": []})
    raw, sent, prev = case.build_stdin(Invoke("DEL", {"name": "n"}, prev="add"))
    assert json.loads(raw)["prevResult"] == {"cniVersion": "0.4.0", "ips": []}
    assert case.build_stdin(Invoke("ADD", stdin="{not json"))[0] == b"{not json"


def test_evaluate_defaults_per_verb():
    case = fake_case("1.0.0")
    good = outcome({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.2/24"}]})
    assert case.evaluate(Expect(), "ADD", good) == []
    assert case.evaluate(Expect(), "ADD", outcome({"cniVersion": "0.4.0"}))  # wrong version
    assert case.evaluate(Expect(), "DEL", outcome(verb="DEL")) == []
    assert case.evaluate(Expect(), "DEL", outcome({"x": 1}, verb="DEL"))  # DEL must print nothing
    assert case.evaluate(Expect(), "ADD", outcome({"code": 7, "msg": "x"}, exit=1))


def test_evaluate_errors():
    case = fake_case()
    err = outcome({"code": 7, "msg": "invalid range", "details": "10.0.0.1"}, exit=1)
    assert case.evaluate(Expect(ok=False, code=7, msg="invalid"), "ADD", err) == []
    assert case.evaluate(Expect(ok=False, msg="10.0.0.1"), "ADD", err) == []  # details count
    assert case.evaluate(Expect(ok=False, code=4), "ADD", err)
    assert case.evaluate(Expect(ok=False), "ADD", outcome(stdout="panic: oops", exit=2))  # no error object
    assert case.evaluate(Expect(ok=False), "ADD", outcome({"cniVersion": "1.0.0"}))  # succeeded


def test_deviation_turns_a_failure_into_a_known_difference():
    case = fake_case()
    step = Invoke(
        "ADD",
        {},
        expect=Expect(ok=False, code=7),
        deviations=(Deviation("go-999", Expect(ok=False, code=999)),),
    )
    assert case.judge(step, outcome({"code": 7, "msg": "x"}, exit=1)) == ([], None)
    assert case.judge(step, outcome({"code": 999, "msg": "x"}, exit=1)) == ([], "go-999")
    problems, dev = case.judge(step, outcome({"code": 4, "msg": "x"}, exit=1))
    assert problems and dev is None


def test_skip_reasons():
    plugins = {
        "bridge": PluginInfo("bridge", "/x/bridge", True, versions=["0.4.0", "1.0.0"]),
        "host-local": PluginInfo("host-local", "/x/host-local", False, problem="missing"),
    }
    scen = Scenario(id="a", plugin="bridge", title="t", steps=())
    assert skip_reason(scen, "1.0.0", plugins, {}) is None
    assert "does not claim cniVersion 1.1.0" in skip_reason(scen, "1.1.0", plugins, {})
    assert "claiming spec 1.1.0" in skip_reason(
        Scenario(id="a", plugin="bridge", title="t", steps=(), claims="1.1.0"), "1.0.0", plugins, {}
    )
    assert "host-local" in skip_reason(
        Scenario(id="a", plugin="bridge", title="t", steps=(), needs=("host-local",)), "1.0.0", plugins, {}
    )
    assert (
        skip_reason(
            Scenario(id="a", plugin="bridge", title="t", steps=(), requires=("vlan",)),
            "1.0.0",
            plugins,
            {"vlan": "no vlan"},
        )
        == "no vlan"
    )
    # a version string that is no spec version (e.g. "1.0") needs no claim
    assert skip_reason(scen, "1.0", plugins, {}) is None


def test_select_by_plugin_and_text():
    scenarios = [
        Scenario(id="bridge.a", plugin="bridge", title="", steps=()),
        Scenario(id="tuning.b", plugin="tuning", title="", steps=()),
    ]
    assert [s.id for s in select(scenarios, ["tuning"])] == ["tuning.b"]
    assert [s.id for s in select(scenarios, None, "bridge.")] == ["bridge.a"]


def run_result(cases) -> RunResult:
    return RunResult(
        "/dir",
        {"bridge": PluginInfo("bridge", "/dir/bridge", True, versions=["1.0.0"])},
        {"vlan": "no"},
        cases,
        1.0,
    )


def test_table_groups_cases_per_scenario():
    cases = [
        CaseResult(SCENARIO, "0.4.0", "pass"),
        CaseResult(SCENARIO, "1.0.0", "fail", "step 1 (ADD bridge): boom"),
        CaseResult(SCENARIO, "1.1.0", "skip", "bridge does not claim cniVersion 1.1.0"),
    ]
    text = report.table(run_result(cases), verbose=True)
    assert "unit.fake" in text and "FAIL" in text and "[1.0.0] step 1" in text and "1.1.0 skipped" in text
    summary = report.summary(run_result(cases))
    assert "1 FAIL" in summary and "vlan: no" in summary
    data = report.to_json(run_result(cases))
    assert data["summary"] == {"fail": 1, "deviation": 0, "pass": 1, "skip": 1}
    json.dumps(data)


def test_diff_values_and_normalizer():
    norm = Normalizer({"0e:11:22:33:44:55"})
    text = norm.text("veth1a2b3c4d master cnibr0 mac 0a:58:00:00:00:01 fixed 0e:11:22:33:44:55 veth1a2b3c4d")
    assert text == "veth~1 master cnibr0 mac <mac> fixed 0e:11:22:33:44:55 veth~1"
    assert diff_values({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 3]}) == [("b.1", 2, 3)]
    assert diff_values({"links": [{"name": "x", "mtu": 1}]}, {"links": [{"name": "x", "mtu": 2}]}) == [
        ("links.x.mtu", 1, 2)
    ]
    assert diff_values({"nft": ["a", "b"]}, {"nft": ["a", "c"]}) == [("nft", ["b"], ["c"])]


def test_compare_cases_reports_result_and_state_differences():
    def case(stdout, state):
        rec = StepRecord(1, "Invoke", "add", outcomes=[outcome(stdout)], state=state)
        rec.outcomes[0].normalized = stdout
        return CaseResult(SCENARIO, "1.0.0", "pass", steps=[rec])

    a = case({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.2/24"}]}, {"host": {"links": []}})
    b = case(
        {"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.3/24"}]}, {"host": {"links": [{"name": "cni0"}]}}
    )
    diffs = compare_cases(a, b)
    kinds = {d.kind for d in diffs}
    assert kinds == {"result", "kernel"}
    groups = grouped(
        diffs + [Difference("other", "1.0.0", "s", "kernel", "host.links", [], [{"name": "cni0"}])]
    )
    assert groups[0][0] == 2


def test_list_needs_no_root():
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "--list"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1].endswith("scenarios")


def test_plugin_dir_required():
    proc = subprocess.run(
        [sys.executable, "-m", "conformance"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "--plugin-dir" in proc.stderr


def test_alternatives_pass_without_a_deviation():
    case = fake_case()
    step = Invoke("ADD", {}, expect=Expect(ok=False, code=4), alternatives=(Expect(ok=True, output="empty"),))
    assert case.judge(step, outcome(stdout="")) == ([], None)
    assert case.judge(step, outcome({"code": 4, "msg": "x"}, exit=1)) == ([], None)
    problems, _ = case.judge(step, outcome({"code": 7, "msg": "x"}, exit=1))
    assert problems


def test_firewall_views_ignore_order_counters_and_empty_tables():
    from conformance.snapshot import _iptables_view, _nft_view

    norm = Normalizer(set())
    ruleset = """table ip nat {
\tchain B {
\t\tcounter packets 3 bytes 9 accept # handle 4
\t}
\tchain A {
\t}
}
table ip6 nat {
}
table inet t {
\tset s {
\t\ttype ipv4_addr
\t}
\tchain C {
\t\tdrop
\t}
}
"""
    a = _nft_view(ruleset, norm)
    assert a == {
        "ip nat": {"B": ["accept"], "A": []},
        "inet t": {"(table)": ["set s {", "type ipv4_addr"], "C": ["drop"]},
    }
    b = _nft_view("table ip nat {\n\tchain A {\n\t}\n\tchain B {\n\t\taccept\n\t}\n}\n", norm)
    assert diff_values(b, {"ip nat": a["ip nat"]}) == []
    save = "*nat\n:PREROUTING ACCEPT [0:0]\n:CNI-X - [0:0]\n-A CNI-X -j ACCEPT\nCOMMIT\n"
    save += "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"
    assert _iptables_view(save) == {"nat": {"CNI-X": ["-j ACCEPT"]}}
