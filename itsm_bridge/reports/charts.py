"""Inline SVG bar charts for the HTML report: no script, no external asset, print-friendly.

Colours come from fixed palettes (PLATFORM_COLOURS, PALETTE) so a test can look for them in a
screenshot of the rendered page.
"""

from __future__ import annotations

from html import escape

PLATFORM_COLOURS: dict[str, str] = {"servicenow": "#2b6cb0", "jira": "#dd6b20", "statuspage": "#2f855a"}
PALETTE: tuple[str, ...] = (
    "#c53030",
    "#d69e2e",
    "#38a169",
    "#3182ce",
    "#805ad5",
    "#d53f8c",
    "#319795",
    "#718096",
    "#9c4221",
    "#2c5282",
    "#276749",
    "#97266d",
    "#b7791f",
    "#4a5568",
    "#e53e3e",
)
WIDTH = 560


def _empty(title: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="40" '
        f'viewBox="0 0 {WIDTH} 40"><text x="8" y="24" font-size="13">no data</text></svg>'
    )


def hbar(title: str, items: list[tuple[str, float]], unit: str = "", colours: tuple[str, ...] = PALETTE) -> str:
    """Horizontal bars, one per (label, value), each labelled with its value."""
    if not items:
        return _empty(title)
    label_w, row_h, pad = 170, 24, 8
    top = max(v for _, v in items) or 1.0
    span = WIDTH - label_w - 90
    height = pad * 2 + row_h * len(items)
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = pad + i * row_h
        w = max(2.0, span * value / top)
        colour = colours[i % len(colours)]
        shown = f"{value:,.1f}".rstrip("0").rstrip(".") + unit
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="12">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + w + 5:.1f}" y="{y + 16}" font-size="12">{escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped(title: str, groups: list[str], series: dict[str, dict[str, int]]) -> str:
    """Vertical bars per group (category), one bar per series (platform) side by side, with a legend."""
    if not groups or not series:
        return _empty(title)
    height, base, left, legend_h = 300, 230, 36, 26
    top = max((n for s in series.values() for n in s.values()), default=0) or 1
    slot = (WIDTH - left - 10) / len(groups)
    bar = max(4.0, min(26.0, (slot - 10) / len(series)))
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{base}" x2="{WIDTH - 6}" y2="{base}" stroke="#4a5568"/>',
    ]
    for tick in (0, top):
        y = base - (base - legend_h - 14) * tick / top
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{tick}</text>')
    for g, group in enumerate(groups):
        x0 = left + g * slot + (slot - bar * len(series)) / 2
        for s, (name, values) in enumerate(series.items()):
            n = values.get(group, 0)
            h = (base - legend_h - 14) * n / top
            colour = PLATFORM_COLOURS.get(name, PALETTE[s % len(PALETTE)])
            parts.append(
                f'<rect x="{x0 + s * bar:.1f}" y="{base - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(name)} {escape(group)}: {n}</title></rect>'
            )
        cx = left + g * slot + slot / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{base + 16}" text-anchor="middle" font-size="11">{escape(group[:14])}</text>'
        )
    for s, name in enumerate(series):
        colour = PLATFORM_COLOURS.get(name, PALETTE[s % len(PALETTE)])
        parts.append(
            f'<rect x="{left + s * 130}" y="4" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + s * 130 + 16}" y="14" font-size="12">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
