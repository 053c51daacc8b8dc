"""One entry point for the formats of a Report."""

from __future__ import annotations

from itsm_bridge.reports.report import Report

FORMATS = ("table", "json", "csv", "html", "metrics-csv")


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        from itsm_bridge.reports.render_json import render as out
    elif fmt == "csv":
        from itsm_bridge.reports.render_csv import render as out
    elif fmt == "metrics-csv":
        from itsm_bridge.reports.render_metrics_csv import render as out
    elif fmt == "html":
        from itsm_bridge.reports.render_html import render as out
    elif fmt == "table":
        from itsm_bridge.reports.render_table import render as out
    else:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    return out(report)
