"""The report as ONE self-contained HTML file: inline CSS and SVG charts, no script, no external
asset (it opens offline, attached to a mail), and a print stylesheet so it reads on paper."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from itsm_bridge.reports.charts import grouped, hbar
from itsm_bridge.reports.findings import KINDS
from itsm_bridge.reports.report import Report

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a202c;margin:24px auto;max-width:1150px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #cbd5e0;padding-bottom:3px}
.meta{color:#4a5568}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.card{border:1px solid #cbd5e0;border-radius:6px;padding:8px 14px;min-width:120px}.card b{display:block;font-size:22px}
.block b{color:#c53030}.warn b{color:#b7791f}.ok b{color:#2f855a}
.charts{display:flex;flex-wrap:wrap;gap:18px}figure{margin:0;border:1px solid #e2e8f0;border-radius:6px;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}th,td{border:1px solid #e2e8f0;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#edf2f7}td.n{text-align:right}tr.block td:nth-child(2){color:#c53030;font-weight:600}
dl.legend{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:13px}dl.legend dt{font-family:monospace}
@media print{
 @page{margin:14mm}
 body{font-size:10pt;margin:0;max-width:none}
 h2{break-after:avoid}figure,tr{break-inside:avoid}
 .charts{display:block}figure{margin-bottom:8px}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], classes: Sequence[str] | None = None) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes else ""
        cells = "".join(
            f'<td class="n">{escape(_num(c))}</td>'
            if isinstance(c, (int, float))
            else f"<td>{escape(str(c if c is not None else ''))}</td>"
            for c in row
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _num(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _hours(minutes: float | None) -> str:
    return "-" if minutes is None else f"{minutes / 60:,.1f} h"


def _durations(title: str, data: dict[str, Any]) -> str:
    rows = []
    for dim in ("priority", "category", "service"):
        for name, s in data[f"by_{dim}"].items():
            rows.append([dim, name, s["count"], _hours(s["mean_minutes"]), _hours(s["median_minutes"])])
    overall = data["overall"]
    rows.append(["all", "", overall["count"], _hours(overall["mean_minutes"]), _hours(overall["median_minutes"])])
    return f"<h3>{escape(title)}</h3>" + _table(["by", "value", "incidents", "mean", "median"], rows)


def render(report: Report) -> str:
    d = report.to_dict()
    s, m = d["summary"], d["metrics"]
    cards = [
        ("incidents", s["incidents"], ""),
        ("findings", s["findings"], "ok" if report.clean else "warn"),
        ("blocking", s["by_severity"]["block"], "block" if s["by_severity"]["block"] else "ok"),
        ("warnings", s["by_severity"]["warn"], "warn" if s["by_severity"]["warn"] else "ok"),
    ]
    cards_html = "".join(f'<div class="card {c}">{escape(label)}<b>{n:,}</b></div>' for label, n, c in cards)
    categories = sorted({c for per in d["categories"].values() for c in per})
    mttr = [(p, (v["mean_minutes"] or 0) / 60) for p, v in m["mttr"]["by_priority"].items() if p != "(none)"]
    charts = [
        (
            "Category distribution per platform",
            grouped("Category distribution per platform", categories, d["categories"]),
        ),
        ("Findings by kind", hbar("Findings by kind", list(s["by_kind"].items()))),
        ("MTTR by priority (mean hours)", hbar("MTTR by priority", mttr, " h")),
    ]
    figures = "".join(f"<figure><figcaption>{escape(t)}</figcaption>{svg}</figure>" for t, svg in charts)
    findings = _table(
        ["kind", "severity", "key", "platform", "field", "value", "expected", "record", "message"],
        [
            [f.kind, f.severity, f.key, f.platform, f.field, f.value, f.expected, f.ref, f.message]
            for f in report.findings
        ],
        [f.severity for f in report.findings],
    )
    legend = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in KINDS.items())
    completeness = _table(
        ["platform", "assignment group", "step", "checked", "incomplete", "complete %"],
        [
            [r["platform"], r["assignment_group"], r["step"], r["checked"], r["incomplete"], r["complete_pct"]]
            for r in d["completeness"]
        ],
    )
    sla = _table(
        ["priority", "target", "met", "breached", "open and late", "compliance %"],
        [
            [
                r["priority"],
                _hours(r["target_minutes"]),
                r["met"],
                r["breached"],
                r["open_breached"],
                "-" if r["compliance_pct"] is None else r["compliance_pct"],
            ]
            for r in m["sla"]
        ],
    )
    rec = m["recurrence"]
    recurrence = _table(
        ["service", "category", "incidents", "recurrences", "recurring incidents"],
        [
            [
                g["service"],
                g["category"],
                g["incidents"],
                g["recurrences"],
                ", ".join(g["keys"][:12]) + (" …" if len(g["keys"]) > 12 else ""),
            ]
            for g in rec["groups"]
        ],
    )
    weekly = _table(
        ["week", "opened", "resolved"], [[w["week"], w["opened"], w["resolved"]] for w in m["weekly_volume"]]
    )
    read = ", ".join(f"{escape(p)} {n:,}" for p, n in s["records"].items())
    since = f" · incidents opened since {escape(d['since'])}" if d["since"] else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>itsm-bridge audit {escape(d["generated_at"][:16])}</title><style>{CSS}</style></head>
<body>
<h1>itsm-bridge audit</h1>
<p class="meta">Generated {escape(d["generated_at"][:19])} UTC · flow {escape(d["flow"]["source"])} → {escape(", ".join(d["flow"]["targets"]))} · read {read}{since}</p>
<div class="cards">{cards_html}</div>
<h2>Charts</h2><div class="charts">{figures}</div>
<h2>Findings</h2>{findings}
<details open><summary>What each kind means</summary><dl class="legend">{legend}</dl></details>
<h2>Required fields: completeness per platform, assignment group and step</h2>{completeness}
<h2>Time to acknowledge and resolve</h2>
<p class="meta">{m["mtta"]["without_ack"]:,} incident(s) without an acknowledgement time are left out of MTTA.</p>
{_durations("MTTA (opened → acknowledged)", m["mtta"])}{_durations("MTTR (opened → resolved)", m["mttr"])}
<h2>SLA compliance (resolution targets from [audit.sla])</h2>{sla}
<h2>Recurrence: same service and category within {rec["window_days"]} days ({rec["recurrences"]:,})</h2>{recurrence}
<h2>Weekly volume</h2>{weekly}
</body></html>
"""
