"""Inline SVG charts for the HTML report: no script, no external asset, print-friendly.

Colour means one thing everywhere: SEVERITY colours (block red, warn amber, ok green) only ever
mark severity; platforms and measures use colours of their own (PLATFORM_COLOURS, SERIES) that
are none of those. Every chart that shows a mean shows the median and n beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

SEVERITY: dict[str, str] = {"block": "#c53030", "warn": "#b7791f", "ok": "#2f855a"}
PLATFORM_COLOURS: dict[str, str] = {"servicenow": "#2b6cb0", "jira": "#805ad5", "statuspage": "#4a5568"}
SERIES: dict[str, str] = {"opened": "#2b6cb0", "resolved": "#718096", "sla": "#2c5282", "median": "#6b46c1"}
MEAN_MARK = "#1a202c"
OTHER = ("#3182ce", "#9f7aea", "#718096", "#2c5282", "#553c9a", "#a0aec0")  # platforms not named above
WIDTH = 540


def _svg(title: str, width: float, height: float, body: list[str]) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _empty(title: str) -> str:
    return _svg(title, WIDTH, 40, ['<text x="8" y="24" font-size="13">no data</text>'])


def _text(x: float, y: float, label: str, anchor: str = "start", size: int = 12) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}">{escape(label)}</text>'


def _rect(x: float, y: float, w: float, h: float, colour: str, tip: str = "") -> str:
    tip_el = f"<title>{escape(tip)}</title>" if tip else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}">{tip_el}</rect>'


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its label, value, colour, the text beside it, and an optional mean mark."""

    label: str
    value: float
    colour: str
    note: str = ""
    mark: float | None = None


def hbar(title: str, bars: Sequence[Bar]) -> str:
    """Horizontal bars, each labelled with its note; a dark tick marks `mark` (a mean) when given."""
    if not bars:
        return _empty(title)
    label_w, row_h, pad, note_w = 150, 24, 8, 230
    top = max(b.value for b in bars) or 1.0  # a mean far off its median is clamped, its value is in the note
    span = WIDTH - label_w - note_w
    height = pad * 2 + row_h * len(bars)
    body = []
    for i, b in enumerate(bars):
        y = pad + i * row_h
        w = max(2.0, span * b.value / top)
        body.append(_text(label_w - 6, y + 16, b.label, "end"))
        body.append(_rect(label_w, y + 3, w, row_h - 6, b.colour, f"{b.label}: {b.note}"))
        if b.mark is not None:
            x = label_w + span * min(b.mark, top) / top
            body.append(
                f'<rect class="mean" x="{x - 1.5:.1f}" y="{y + 1}" width="3" height="{row_h - 2}" fill="{MEAN_MARK}"/>'
            )
        body.append(_text(label_w + span + 8, y + 16, b.note))
    return _svg(title, WIDTH, height, body)


def platform_colour(name: str, index: int) -> str:
    return PLATFORM_COLOURS.get(name, OTHER[index % len(OTHER)])


def grouped(title: str, groups: list[str], series: dict[str, dict[str, int]], colours: dict[str, str]) -> str:
    """Vertical bars per group, one bar per series side by side, with a legend (`colours` by series)."""
    if not groups or not series:
        return _empty(title)
    width = max(WIDTH, 40 + len(groups) * len(series) * 7)
    height, base, left, legend_h = 300, 230, 40, 26
    top = max((n for s in series.values() for n in s.values()), default=0) or 1
    slot = (width - left - 10) / len(groups)
    bar = max(2.0, min(26.0, (slot - 4) / len(series)))
    every = max(1, len(groups) // 12)  # label at most ~12 groups, so labels never overlap
    body = [f'<line x1="{left}" y1="{base}" x2="{width - 6}" y2="{base}" stroke="#4a5568"/>']
    for tick in (0, top):
        y = base - (base - legend_h - 14) * tick / top
        body.append(_text(left - 4, y + 4, f"{tick:,}", "end", 11))
    for g, group in enumerate(groups):
        x0 = left + g * slot + (slot - bar * len(series)) / 2
        for s, (name, values) in enumerate(series.items()):
            n = values.get(group, 0)
            h = (base - legend_h - 14) * n / top
            body.append(_rect(x0 + s * bar, base - h, max(1.0, bar - 1), h, colours[name], f"{name} {group}: {n:,}"))
        if g % every == 0:
            body.append(_text(left + g * slot + slot / 2, base + 16, group[:14], "middle", 11))
    for s, name in enumerate(series):
        body.append(_rect(left + s * 130, 4, 12, 12, colours[name]) + _text(left + s * 130 + 16, 14, name))
    return _svg(title, width, height, body)


@dataclass(frozen=True)
class Column:
    """One week (or group) of a column chart: its value, the n behind it, and an optional mean."""

    label: str
    value: float | None
    n: int
    mark: float | None = None
    tip: str = ""


def columns(title: str, cols: Sequence[Column], colour: str, unit: str = "", ceiling: float | None = None) -> str:
    """Vertical columns with n under each (a column of n 0 is a gap, not a zero); a dark tick marks
    a column's mean when given. `ceiling` fixes the scale (100 for percentages)."""
    if not any(c.value is not None for c in cols):
        return _empty(title)
    width = max(WIDTH, 50 + len(cols) * 12)
    height, base, left, top_pad = 260, 200, 48, 16
    top = ceiling or max(c.value or 0 for c in cols) or 1.0  # a mean above the top is drawn at the top
    slot = (width - left - 10) / len(cols)
    bar = max(2.0, min(30.0, slot - 3))
    every = max(1, len(cols) // 12)
    body = [f'<line x1="{left}" y1="{base}" x2="{width - 6}" y2="{base}" stroke="#4a5568"/>']
    for tick in (0.0, top / 2, top):
        y = base - (base - top_pad) * tick / top
        body.append(_text(left - 4, y + 4, f"{tick:,.0f}{unit}", "end", 11))
    for i, c in enumerate(cols):
        x = left + i * slot + (slot - bar) / 2
        if c.value is not None:
            h = (base - top_pad) * c.value / top
            body.append(
                _rect(x, base - h, bar, max(h, 1.0), colour, c.tip or f"{c.label}: {c.value:,.1f}{unit}, n {c.n}")
            )
        if c.mark is not None:
            y = base - (base - top_pad) * min(c.mark, top) / top
            body.append(
                f'<rect class="mean" x="{x:.1f}" y="{y - 1.5:.1f}" width="{bar:.1f}" height="3" fill="{MEAN_MARK}"/>'
            )
        if i % every == 0:
            body.append(_text(x + bar / 2, base + 14, c.label[-3:], "middle", 10))
            body.append(_text(x + bar / 2, base + 27, f"n {c.n:,}", "middle", 9))
    return _svg(title, width, height, body)
