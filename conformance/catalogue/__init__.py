"""The scenario catalogue: one entry per behaviour, grouped by area."""

from __future__ import annotations

from ..model import Scenario


def all_scenarios() -> list[Scenario]:
    from . import (
        bandwidth,
        bridge,
        chains,
        firewall,
        host_local,
        loopback,
        portmap,
        protocol,
        results,
        tuning,
    )

    scenarios: list[Scenario] = []
    for module in (
        protocol,
        results,
        host_local,
        bridge,
        tuning,
        portmap,
        firewall,
        bandwidth,
        loopback,
        chains,
    ):
        scenarios.extend(module.scenarios())
    seen: set[str] = set()
    for scenario in scenarios:
        if scenario.id in seen:
            raise ValueError(f"duplicate scenario id {scenario.id}")
        seen.add(scenario.id)
    return scenarios
