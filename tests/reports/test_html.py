"""The HTML report is one self-contained file whose charts a real browser paints.

The screenshot check decodes the PNG (zlib + PNG row filters; no imaging library) and counts the
pixels of each chart colour. What it proves: headless Chromium rendered the inline SVG bars
(every platform colour of the category chart and the bar colours of the other two charts cover
real areas of the page), so the charts are drawn without any external asset. It does not judge
layout beyond that.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from itsm_bridge.reports.charts import PALETTE, PLATFORM_COLOURS
from itsm_bridge.reports.findings import AuditFinding
from itsm_bridge.reports.render_html import render
from itsm_bridge.reports.report import Report

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def sample_report() -> Report:
    findings = [
        AuditFinding("unmapped_category", "block", "INC1", "servicenow", "category", "facilities", "", "INC1", "m"),
        AuditFinding("priority_off_matrix", "warn", "INC2", "jira", "priority", "P3", "P2", "OPS-2", "m"),
        AuditFinding(
            "page_stale", "warn", "INC3", "statuspage", "status", "investigating", "resolved", "p1", "m <script>"
        ),
    ]
    mttr = {
        "overall": {"count": 3, "mean_minutes": 300.0, "median_minutes": 240.0},
        "by_priority": {
            "P1": {"count": 1, "mean_minutes": 120.0, "median_minutes": 120.0},
            "P2": {"count": 2, "mean_minutes": 400.0, "median_minutes": 400.0},
        },
        "by_category": {},
        "by_service": {},
    }
    metrics = {
        "incidents": 3,
        "mtta": {**mttr, "without_ack": 0},
        "mttr": mttr,
        "sla": [],
        "recurrence": {"window_days": 7, "recurrences": 0, "groups": []},
        "weekly_volume": [{"week": "2026-W09", "opened": 3, "resolved": 2}],
    }
    return Report(
        NOW,
        None,
        "platforms",
        "servicenow",
        ["jira", "statuspage"],
        findings,
        {"servicenow": {"Network": 5, "Software": 3}, "jira": {"Network": 4, "Software": 3}},
        [],
        metrics,
        {"servicenow": 8, "jira": 7},
        incidents=8,
    )


def test_html_is_self_contained_escaped_and_printable():
    html = render(sample_report())
    assert html.count("<svg") == 3
    for external in ("http://", "https://", "<script", "<link", "@import", "src="):
        assert external not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "m &lt;script&gt;" in html
    assert "@media print" in html and "break-inside:avoid" in html


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG into rows of RGB(A) bytes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (.ci/run installs it)")
def test_headless_chromium_paints_the_three_charts(tmp_path):
    page = tmp_path / "audit.html"
    page.write_text(render(sample_report()), encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    width, bpp, rows = png_pixels(shot)
    counts: Counter[tuple[int, int, int]] = Counter()
    for row in rows:
        for x in range(0, width * bpp, bpp):
            counts[(row[x], row[x + 1], row[x + 2])] += 1
    assert len(counts) > 50  # text anti-aliasing and bars, not a blank page
    category_chart = [rgb(PLATFORM_COLOURS["servicenow"]), rgb(PLATFORM_COLOURS["jira"])]
    bar_charts = [rgb(c) for c in PALETTE[:3]]  # findings by kind: 3 bars; MTTR by priority: 2 of them
    for colour in category_chart + bar_charts:
        assert counts[colour] > 300, f"chart colour {colour} covers only {counts[colour]} pixels"
