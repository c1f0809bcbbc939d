"""The catalogue itself: enough scenarios, well-formed, every deviation documented, coverage of the spec."""

from __future__ import annotations

from collections import Counter

import pytest

from conformance.catalogue import all_scenarios
from conformance.deviations import DEVIATIONS
from conformance.model import KNOWN_VERSIONS, Check, Concurrent, Invoke, Scenario, Step

PLUGINS = {"bridge", "host-local", "tuning", "portmap", "firewall", "bandwidth", "loopback"}


@pytest.fixture(scope="module")
def scenarios() -> list[Scenario]:
    return all_scenarios()


def invokes(scenario: Scenario) -> list[Invoke]:
    out = []
    for step in scenario.steps:
        if isinstance(step, Invoke):
            out.append(step)
        elif isinstance(step, Concurrent):
            out.extend(step.invokes)
    return out


def test_at_least_150_distinct_behaviours(scenarios):
    assert len(scenarios) >= 150
    # protocol behaviours are instantiated per plugin; count them once as well
    distinct = {
        s.id.replace(f".{s.plugin}.", ".", 1) if s.id.startswith("protocol.") else s.id for s in scenarios
    }
    assert len(distinct) >= 150


def test_ids_unique_and_named_after_their_area(scenarios):
    ids = [s.id for s in scenarios]
    assert len(ids) == len(set(ids))
    for s in scenarios:
        assert s.id.split(".")[0] in {
            "protocol",
            "results",
            "bridge",
            "host-local",
            "tuning",
            "portmap",
            "firewall",
            "bandwidth",
            "loopback",
            "chain",
        }
        assert s.plugin in PLUGINS
        assert set(s.needs) <= PLUGINS
        assert s.title and s.refs, s.id


def test_every_scenario_runs_a_plugin_and_expects_something(scenarios):
    for s in scenarios:
        calls = invokes(s)
        assert calls, f"{s.id} never runs a plugin"
        for call in calls:
            assert call.verb, s.id
            assert (call.plugin or s.plugin) in PLUGINS, s.id


def test_versions_are_known_or_deliberately_odd(scenarios):
    for s in scenarios:
        assert s.versions, s.id
        for version in s.versions:
            assert version in KNOWN_VERSIONS, f"{s.id}: {version}"
        if s.claims:
            assert s.claims in KNOWN_VERSIONS


def test_every_deviation_is_documented(scenarios):
    used = {d.id for s in scenarios for call in invokes(s) for d in call.deviations}
    assert used <= set(DEVIATIONS), used - set(DEVIATIONS)
    assert "go-810" in used and "go-l2-check" in used and "go-999" in used


def test_checks_are_data(scenarios):
    for s in scenarios:
        assert all(isinstance(step, Step) for step in s.steps)
        for call in invokes(s):
            for check in (*call.expect.result, *call.expect.state):
                assert isinstance(check, Check)
                assert check == check and repr(check).startswith(type(check).__name__)


def test_every_verb_and_result_version_is_exercised(scenarios):
    verbs = Counter(call.verb for s in scenarios for call in invokes(s))
    for verb in ("ADD", "DEL", "CHECK", "VERSION", "GC", "STATUS"):
        assert verbs[verb] > 0, verb
    add_versions = {v for s in scenarios for v in s.versions if any(c.verb == "ADD" for c in invokes(s))}
    assert add_versions == KNOWN_VERSIONS


def test_each_plugin_is_covered(scenarios):
    per_plugin = Counter(s.plugin for s in scenarios if not s.id.startswith("protocol."))
    assert per_plugin["bridge"] >= 60
    assert per_plugin["host-local"] >= 40
    assert per_plugin["tuning"] >= 30
    assert per_plugin["portmap"] >= 30
    assert per_plugin["bandwidth"] >= 15
    assert per_plugin["loopback"] >= 15


def test_exclusive_scenarios_clean_up(scenarios):
    for s in scenarios:
        if s.exclusive:
            assert s.cleanup, f"{s.id} touches a shared file but never cleans it up"
