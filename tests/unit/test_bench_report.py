"""The benchmark's pure parts: target verdicts, tables, charts and the unrelated-rule scripts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bench import report, unrelated
from bench.report import Case


def case(name: str, **medians_ms: float) -> Case:
    made = Case(name)
    for label, ms in medians_ms.items():
        made.samples[label] = [ms / 1000, ms / 1000, ms / 1000]
    return made


def test_ratio_and_absolute_targets_say_by_how_much():
    cases = [
        case("chain ADD", cold=300, warm=120, go=100),
        case("chain DEL", cold=90, go=100),
        case("host-local ADD", cold=30),
        case("VERSION bridge", cold=15),
        case("VERSION portmap", cold=22),
    ]
    verdicts = {v.target: v for v in report.main_targets(cases, "cold", "warm", "go", 50)}
    assert verdicts["cold chain ADD <= 2.0x Go"].cell() == "**missed** by 100 ms (1.50x the limit)"
    assert verdicts["cold chain DEL <= 1.0x Go"].met
    assert verdicts["warm chain ADD <= 1.3x Go"].met
    assert verdicts["cold host-local ADD <= 25 ms"].cell() == "**missed** by 5.0 ms"
    assert verdicts["cold VERSION <= 20 ms (slowest plugin)"].figure == "VERSION portmap: 22.0 ms"
    assert "cold bridge ADD <= 2.5x Go" not in verdicts  # no such row measured: no verdict


def test_scale_targets():
    scale = {
        0: [case("portmap ADD", ipt=100, nft=100, go=90), case("portmap DEL", ipt=100, nft=100, go=150)],
        10000: [
            case("portmap ADD", ipt=120, nft=200, go=1000),
            case("portmap DEL", ipt=160, nft=110, go=150),
        ],
    }
    verdicts = {v.target: v.met for v in report.scale_targets(scale, "ipt", "nft", "go")}
    assert verdicts == {
        "portmap ADD at 10,000 rules: ours (iptables) faster than Go": True,
        "portmap ADD 0 -> 10,000 rules: ours (iptables) flatter than Go (or flat)": True,
        "portmap ADD 0 -> 10,000 rules: ours (nftables) flat": False,
        "portmap DEL at 10,000 rules: ours (iptables) faster than Go": False,
        "portmap DEL 0 -> 10,000 rules: ours (iptables) flatter than Go (or flat)": False,
        "portmap DEL 0 -> 10,000 rules: ours (nftables) flat": True,
    }
    rows = report.scale_table(scale, ("ipt", "nft", "go"))
    assert rows[2] == "| portmap ADD | 0 | 100 | 100 | 90 | 1.11 | 1.11 |"
    ET.fromstring(report.scale_chart(scale, ("ipt", "nft", "go"), {"go": "Go"}))
    ET.fromstring(report.bar_chart(scale[0], ("ipt", "nft", "go")))


def test_unrelated_rules_load_and_remove_the_same_chains():
    load = unrelated.load_script(0, 10) + unrelated.load_script(10, 20)
    rules = [line for line in load.splitlines() if line.startswith("-A ")]
    assert len(rules) == 20 + len(unrelated.ENTRY_JUMPS) + 1  # + kube-proxy's jumps and its masquerade
    declared = {line[1:].split()[0] for line in load.splitlines() if line.startswith(":")}
    removed = unrelated.remove_script(20).splitlines()
    assert {line.split()[1] for line in removed if line.startswith("-X ")} == declared
    assert unrelated.remove_script(0) == ""
