"""Tables, targets and plain-SVG charts of `make bench` (no plotting library)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field


@dataclass
class Case:
    name: str
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, label: str, seconds: float) -> None:
        self.samples.setdefault(label, []).append(seconds)

    def has(self, label: str) -> bool:
        return bool(self.samples.get(label))

    def median_ms(self, label: str) -> float:
        return statistics.median(self.samples[label]) * 1000

    def p90_ms(self, label: str) -> float:
        values = sorted(self.samples[label])
        if len(values) < 2:
            return values[0] * 1000
        return statistics.quantiles(values, n=10, method="inclusive")[8] * 1000


def table(cases: list[Case], labels: tuple[str, ...]) -> list[str]:
    """Medians and p90 of every label, and each label's ratio to the last (the reference)."""
    *ours, ref = labels
    head = "".join(f" {label} median ms | {label} p90 ms |" for label in labels)
    ratios = "".join(f" {label}/{ref} |" for label in ours)
    lines = [f"| case |{head}{ratios}", "|---|" + "---:|" * (2 * len(labels) + len(ours))]
    for case in cases:
        cells = "".join(
            f" {case.median_ms(label):.1f} | {case.p90_ms(label):.1f} |" if case.has(label) else " | |"
            for label in labels
        )
        cells += "".join(
            f" {case.median_ms(label) / case.median_ms(ref):.2f} |"
            if case.has(label) and case.has(ref)
            else " |"
            for label in ours
        )
        lines.append(f"| {case.name} |{cells}")
    return lines


# -- targets (issue 14) ---------------------------------------------------------------------------


@dataclass
class Verdict:
    target: str
    figure: str
    met: bool
    miss: str = ""

    def cell(self) -> str:
        return "met" if self.met else f"**missed** by {self.miss}"


def ratio_target(target: str, case: Case | None, ours: str, ref: str, limit: float) -> Verdict | None:
    if case is None or not case.has(ours) or not case.has(ref):
        return None
    mine, theirs = case.median_ms(ours), case.median_ms(ref)
    ratio = mine / theirs
    figure = f"{mine:.0f} ms vs {theirs:.0f} ms = {ratio:.2f}x"
    return Verdict(
        target, figure, ratio <= limit, f"{mine - limit * theirs:.0f} ms ({ratio / limit:.2f}x the limit)"
    )


def absolute_target(target: str, case: Case | None, ours: str, limit_ms: float) -> Verdict | None:
    if case is None or not case.has(ours):
        return None
    mine = case.median_ms(ours)
    return Verdict(target, f"{case.name}: {mine:.1f} ms", mine <= limit_ms, f"{mine - limit_ms:.1f} ms")


def main_targets(cases: list[Case], cold: str, warm: str, go: str, concurrent: int) -> list[Verdict]:
    by_name = {case.name: case for case in cases}
    versions = [c for c in cases if c.name.startswith("VERSION ") and c.has(cold)]
    slowest = max(versions, key=lambda c: c.median_ms(cold), default=None)
    found = [
        ratio_target("cold chain ADD <= 2.0x Go", by_name.get("chain ADD"), cold, go, 2.0),
        ratio_target("cold chain DEL <= 1.0x Go", by_name.get("chain DEL"), cold, go, 1.0),
        ratio_target("cold bridge ADD <= 2.5x Go", by_name.get("bridge ADD"), cold, go, 2.5),
        absolute_target("cold host-local ADD <= 25 ms", by_name.get("host-local ADD"), cold, 25.0),
        absolute_target("cold VERSION <= 20 ms (slowest plugin)", slowest, cold, 20.0),
        ratio_target("warm chain ADD <= 1.3x Go", by_name.get("chain ADD"), warm, go, 1.3),
        ratio_target(
            f"{concurrent} concurrent cold chain ADDs finish no later than Go's",
            by_name.get(f"{concurrent} concurrent chain ADDs (total)"),
            cold,
            go,
            1.0,
        ),
    ]
    return [v for v in found if v is not None]


FLAT_TOLERANCE = 0.15  # nftables "stays flat": grows by at most 15 % of its 0-rule time ...
FLAT_FLOOR_MS = 20.0  # ... or 20 ms, whichever is larger (the machine's noise)


def scale_targets(scale: dict[int, list[Case]], ipt: str, nft: str, go: str) -> list[Verdict]:
    if not scale:
        return []
    low, high = min(scale), max(scale)
    out: list[Verdict] = []
    for name in [c.name for c in scale[high]]:
        first = next((c for c in scale[low] if c.name == name), None)
        last = next(c for c in scale[high] if c.name == name)
        if first is None or not all(c.has(label) for c in (first, last) for label in (ipt, go)):
            continue
        mine, theirs = last.median_ms(ipt), last.median_ms(go)
        out.append(
            Verdict(
                f"{name} at {high:,} rules: ours (iptables) faster than Go",
                f"{mine:.0f} ms vs {theirs:.0f} ms",
                mine < theirs,
                f"{mine - theirs:.0f} ms",
            )
        )
        grow_mine = mine - first.median_ms(ipt)
        grow_go = theirs - first.median_ms(go)
        out.append(
            Verdict(
                f"{name} {low:,} -> {high:,} rules: ours (iptables) flatter than Go",
                f"+{grow_mine:.0f} ms vs +{grow_go:.0f} ms",
                grow_mine < grow_go,
                f"{grow_mine - grow_go:.0f} ms",
            )
        )
        if first.has(nft) and last.has(nft):
            base = first.median_ms(nft)
            grow = last.median_ms(nft) - base
            allowed = max(FLAT_TOLERANCE * base, FLAT_FLOOR_MS)
            out.append(
                Verdict(
                    f"{name} {low:,} -> {high:,} rules: ours (nftables) flat",
                    f"{base:.0f} -> {last.median_ms(nft):.0f} ms ({grow:+.0f}; flat: within {allowed:.0f})",
                    grow <= allowed,
                    f"{grow - allowed:.0f} ms",
                )
            )
    return out


def targets_table(verdicts: list[Verdict]) -> list[str]:
    lines = ["| target | measured (medians) | verdict |", "|---|---|---|"]
    lines += [f"| {v.target} | {v.figure} | {v.cell()} |" for v in verdicts]
    return lines


def scale_table(scale: dict[int, list[Case]], labels: tuple[str, ...]) -> list[str]:
    """One row per case and table size: the medians of every label and each one's ratio to the last."""
    *ours, ref = labels
    lines = [
        "| case | unrelated nat rules |"
        + "".join(f" {label} ms |" for label in labels)
        + "".join(f" {label}/{ref} |" for label in ours),
        "|---|---:|" + "---:|" * (len(labels) + len(ours)),
    ]
    names = [c.name for c in next(iter(scale.values()))] if scale else []
    for name in names:
        for count in sorted(scale):
            case = next(c for c in scale[count] if c.name == name)
            cells = "".join(
                f" {case.median_ms(label):.0f} |" if case.has(label) else " |" for label in labels
            )
            cells += "".join(
                f" {case.median_ms(label) / case.median_ms(ref):.2f} |"
                if case.has(label) and case.has(ref)
                else " |"
                for label in ours
            )
            lines.append(f"| {name} | {count:,} |{cells}")
    return lines


# -- charts ----------------------------------------------------------------------------------------

COLOURS = ("#3572A5", "#A0B4CC", "#E07B39", "#00ADD8")


def _colours(labels: tuple[str, ...]) -> dict[str, str]:
    """The reference (last label) is Go's blue; ours take the others in order."""
    *ours, ref = labels
    return {**dict(zip(ours, COLOURS, strict=False)), ref: COLOURS[-1]}


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def bar_chart(cases: list[Case], labels: tuple[str, ...]) -> str:
    """A horizontal grouped bar chart of the medians (log scale)."""
    bar, left, width = 12, 290, 520
    row = 10 + bar * len(labels)
    height = 60 + row * len(cases)
    top = max((case.median_ms(label) for case in cases for label in labels if case.has(label)), default=10)
    scale_max = math.log10(max(top, 10) * 1.2)

    def x(ms: float) -> float:
        return left + width * max(math.log10(max(ms, 1.0)), 0) / scale_max

    colours = _colours(labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="20" font-size="14">Median wall time per call, ms (log scale): '
        f"{_esc(' vs '.join(labels))}</text>",
    ]
    for tick in (1, 10, 100, 1000, 10000, 100000):
        if math.log10(tick) <= scale_max:
            parts.append(
                f'<line x1="{x(tick):.1f}" y1="35" x2="{x(tick):.1f}" y2="{height - 15}" stroke="#ddd"/>'
            )
            parts.append(f'<text x="{x(tick):.1f}" y="{height - 3}" text-anchor="middle">{tick}</text>')
    for n, case in enumerate(cases):
        y = 45 + n * row
        parts.append(f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end">{_esc(case.name)}</text>')
        for k, label in enumerate(labels):
            if not case.has(label):
                continue
            ms = case.median_ms(label)
            top_y = y + k * bar
            length, colour = x(ms) - left, colours[label]
            parts.append(
                f'<rect x="{left}" y="{top_y}" width="{length:.1f}" height="{bar - 2}" fill="{colour}"/>'
            )
            parts.append(f'<text x="{x(ms) + 4:.1f}" y="{top_y + bar - 3}">{ms:.0f}</text>')
    for k, label in enumerate(labels):
        legend_x, legend_y = left + width + 10, 45 + k * 18
        parts.append(f'<rect x="{legend_x}" y="{legend_y}" width="12" height="12" fill="{colours[label]}"/>')
        parts.append(f'<text x="{legend_x + 18}" y="{legend_y + 10}">{_esc(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def scale_chart(scale: dict[int, list[Case]], labels: tuple[str, ...], names: dict[str, str]) -> str:
    """One panel per case: median ms (linear) against the number of unrelated nat rules, a line per
    label. `names` gives each label's legend text."""
    counts = sorted(scale)
    cases = [c.name for c in scale[counts[0]]] if counts else []
    panel_w, panel_h, gap, columns = 300, 210, 40, 2
    rows = (len(cases) + columns - 1) // columns
    width = 60 + columns * (panel_w + gap) + 20
    height = 70 + rows * (panel_h + 70)
    colours = _colours(labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="10" y="20" font-size="14">Median ms per call against unrelated rules in the nat table '
        "(cold processes)</text>",
    ]
    for k, label in enumerate(labels):
        lx = 10 + k * 200
        parts.append(f'<rect x="{lx}" y="32" width="12" height="12" fill="{colours[label]}"/>')
        parts.append(f'<text x="{lx + 18}" y="42">{_esc(names.get(label, label))}</text>')
    for n, name in enumerate(cases):
        col, row = n % columns, n // columns
        x0, y0 = 60 + col * (panel_w + gap), 80 + row * (panel_h + 70)
        series = {
            label: [
                next(c for c in scale[count] if c.name == name).median_ms(label)
                if next(c for c in scale[count] if c.name == name).has(label)
                else None
                for count in counts
            ]
            for label in labels
        }
        top = max((v for values in series.values() for v in values if v is not None), default=1.0)
        step = 10 ** math.floor(math.log10(max(top, 1)))
        y_max = math.ceil(top * 1.1 / step) * step

        def px(i: int, x0: int = x0) -> float:
            return x0 + (panel_w * i / (len(counts) - 1) if len(counts) > 1 else panel_w / 2)

        def py(ms: float, y0: int = y0, y_max: float = y_max) -> float:
            return y0 + panel_h - panel_h * ms / y_max

        parts.append(f'<text x="{x0}" y="{y0 - 8}" font-size="13">{_esc(name)}</text>')
        parts.append(
            f'<rect x="{x0}" y="{y0}" width="{panel_w}" height="{panel_h}" fill="none" stroke="#999"/>'
        )
        for t in range(0, 5):
            value = y_max * t / 4
            y = py(value)
            parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w}" y2="{y:.1f}" stroke="#eee"/>')
            parts.append(f'<text x="{x0 - 4}" y="{py(value) + 4:.1f}" text-anchor="end">{value:.0f}</text>')
        for i, count in enumerate(counts):
            parts.append(
                f'<text x="{px(i):.1f}" y="{y0 + panel_h + 16}" text-anchor="middle">{count:,}</text>'
            )
        for label, values in series.items():
            points = [(px(i), py(v)) for i, v in enumerate(values) if v is not None]
            if len(points) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                parts.append(
                    f'<polyline points="{path}" fill="none" stroke="{colours[label]}" stroke-width="2"/>'
                )
            for x, y in points:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colours[label]}"/>')
        parts.append(
            f'<text x="{x0 + panel_w / 2}" y="{y0 + panel_h + 32}" text-anchor="middle" fill="#555">'
            "unrelated nat rules</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
