"""The report for a terminal: the executive summary, findings (with their change since a
baseline), and the headline metrics, as fixed-width tables."""

from __future__ import annotations

from typing import Any

from itsm_bridge.output import table
from itsm_bridge.reports.report import Report
from itsm_bridge.reports.story import sentences


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 60:.1f} h" if value >= 120 else f"{value:.0f} min"


def render(report: Report) -> str:
    d = report.to_dict()
    lines = sentences(report, d)
    if report.findings:
        headers = ["kind", "sev", "key", "platform", "field", "value", "expected", "ref"]
        rows = [[f.kind, f.severity, f.key, f.platform, f.field, f.value, f.expected, f.ref] for f in report.findings]
        if report.baseline:
            headers.append("change")
            rows = [[*row, report.change(f) or ""] for row, f in zip(rows, report.findings, strict=True)]
        lines += ["", table(headers, rows)]
    else:
        lines.append("No findings: the platforms tell the same story.")
    if report.baseline and report.baseline.fixed:
        fixed = [[f[k] for k in ("kind", "severity", "key", "platform", "field", "ref")] for f in report.baseline.fixed]
        lines += ["", "Fixed since the baseline:", table(["kind", "sev", "key", "platform", "field", "ref"], fixed)]
    m = d["metrics"]
    rows = []
    for priority, mttr in m["mttr"]["by_priority"].items():
        mtta = m["mtta"]["by_priority"].get(priority, {})
        rows.append(
            [
                priority,
                mttr["count"],
                _minutes(mtta.get("mean_minutes")),
                _minutes(mttr["mean_minutes"]),
                _minutes(mttr["median_minutes"]),
            ]
        )
    if rows:
        lines += ["", table(["priority", "resolved", "MTTA", "MTTR", "MTTR median"], rows)]
    sla = [
        [
            r["priority"],
            _minutes(r["target_minutes"]),
            r["met"],
            r["breached"],
            r["open_breached"],
            "-" if r["compliance_pct"] is None else f"{r['compliance_pct']}%",
        ]
        for r in m["sla"]
    ]
    if sla:
        lines += ["", table(["priority", "SLA", "met", "breached", "open, late", "compliance"], sla)]
    rec = m["recurrence"]
    lines.append(f"\nRecurrences (same service and category within {rec['window_days']} days): {rec['recurrences']}")
    lines += _itil_lines(m)
    return "\n".join(lines)


def _itil_lines(m: dict[str, Any]) -> list[str]:
    """MTTD, first-contact resolution, reopen rate and out-of-order timelines, one line each."""
    d = m["mttd"]["overall"]
    mttd = (
        f"mean {_minutes(d['mean_minutes'])}, median {_minutes(d['median_minutes'])} (n={d['count']})"
        if m["mttd"]["measured"]
        else "not measured (no [audit] detected_at field for the system of record)"
    )
    out = [f"MTTD (detected -> opened): {mttd}"]
    for name, key, hit in (
        ("First-contact resolution", "first_contact_resolution", "first_contact"),
        ("Reopen rate", "reopen_rate", "reopened"),
    ):
        o = m[key]["overall"]
        shown = "not measured on the system of record"
        if m[key]["measured"]:
            rate = "-" if o["rate_pct"] is None else f"{o['rate_pct']}%"
            shown = f"{rate} ({o[hit]} of {o['count']})"
        out.append(f"{name}: {shown}")
    if m["timeline_inconsistent"]:
        out.append(f"Timelines out of order (no MTTA/MTTR taken): {m['timeline_inconsistent']}")
    return out
