"""The timing and ITIL metrics as CSV (`audit --format metrics-csv`), for spreadsheets.

One row per metric and group: `metric` (mtta, mttr, mttd, first_contact_resolution, reopen_rate),
`breakdown` (overall, priority, category, service), `group` (`all` for overall), `measured`, `n`,
then the durations' mean and median in minutes, or the rate's hits, percentage and the per-incident
count's mean and median (reassignments, reopens). Empty cells where a value does not apply.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from itsm_bridge.reports.render_csv import neutralise
from itsm_bridge.reports.report import Report

COLUMNS = (
    "metric",
    "breakdown",
    "group",
    "measured",
    "n",
    "mean_minutes",
    "median_minutes",
    "hits",
    "rate_pct",
    "mean_per_incident",
    "median_per_incident",
)
DURATIONS = ("mtta", "mttr", "mttd")
RATES = {"first_contact_resolution": ("first_contact", "reassignments"), "reopen_rate": ("reopened", "reopens")}


def render(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\r\n")  # RFC 4180
    writer.writeheader()
    for row in rows(report.metrics):
        writer.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()})
    return out.getvalue()


def rows(metrics: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every metric's overall row, then its breakdowns."""
    for name in (*DURATIONS, *RATES):
        m = metrics[name]
        measured = m.get("measured", True)
        for breakdown, group, values in _groups(m):
            row: dict[str, Any] = {"metric": name, "breakdown": breakdown, "group": group, "measured": measured}
            row["n"] = values["count"]
            if name in RATES:
                hit, per = RATES[name]
                row.update(
                    hits=values[hit],
                    rate_pct=values["rate_pct"],
                    mean_per_incident=values[f"mean_{per}"],
                    median_per_incident=values[f"median_{per}"],
                )
            else:
                row.update(mean_minutes=values["mean_minutes"], median_minutes=values["median_minutes"])
            yield row


def _groups(m: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    yield "overall", "all", m["overall"]
    for breakdown in ("priority", "category", "service"):
        for group, values in m[f"by_{breakdown}"].items():
            yield breakdown, group, values
