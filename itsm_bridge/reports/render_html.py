"""The report as ONE self-contained HTML file: inline CSS, SVG charts and a small script, no
external asset (it opens offline, attached to a mail), and a print stylesheet so it reads on paper.

Top down: the executive summary in sentences, counts of incidents (each once), findings per kind,
then one row per incident with its findings folded inside (so 5,000 incidents stay a list to
filter, not a wall of near-identical rows), each key linked to its record on every platform;
then trends and metrics, each mean beside its median and n. The script (html_assets.SCRIPT)
sorts and filters; without it everything is still there, in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from itsm_bridge.reports import charts
from itsm_bridge.reports.charts import SERIES, SEVERITY, Bar, Column
from itsm_bridge.reports.findings import KINDS, SEVERITY_RANK, AuditFinding
from itsm_bridge.reports.html_assets import CSS, SCRIPT
from itsm_bridge.reports.incidents import Group
from itsm_bridge.reports.report import Report
from itsm_bridge.reports.story import hours, sentences

Row = Sequence[Any]


def _num(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


@dataclass(frozen=True)
class Cell:
    """A cell shown as `text` and sorted by `value` (a duration in minutes shown in hours)."""

    text: str
    value: float | None


def _duration(minutes: float | None) -> Cell:
    return Cell(hours(minutes), minutes)


def _td(c: Any) -> str:
    if isinstance(c, Cell):
        return f'<td data-v="{"" if c.value is None else c.value}">{escape(c.text)}</td>'
    if isinstance(c, (int, float)) and not isinstance(c, bool):
        return f'<td class="n">{escape(_num(c))}</td>'
    return f"<td>{escape(str(c if c is not None else ''))}</td>"


def _table(headers: Sequence[str], rows: Sequence[Row], tid: str = "", numeric: Sequence[int] = ()) -> str:
    """A sortable table (a text filter too when it has many rows); `numeric`: columns sorted as numbers."""
    if not rows:
        return "<p>None.</p>"
    head = "".join(
        f'<th data-type="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(f"<tr>{''.join(_td(c) for c in row)}</tr>" for row in rows)
    cls = "sortable filterable" if len(rows) > 15 else "sortable"
    ident = f' id="{tid}"' if tid else ""
    return f'<table class="{cls}"{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _sev(severity: str) -> str:
    return f'<span class="sev {severity}">{severity}</span>'


# -- findings --------------------------------------------------------------------------------


def _kinds(report: Report, gs: list[Group]) -> str:
    """Per kind: worst severity, incidents, findings, meaning; a click filters the incident table."""
    per_kind: Counter[str] = Counter(k for g in gs for k in g.kinds)
    worst: dict[str, str] = {}
    for f in report.findings:
        if SEVERITY_RANK[f.severity] > SEVERITY_RANK.get(worst.get(f.kind, ""), 0):
            worst[f.kind] = f.severity
    by_kind = report.by_kind()
    rows = [
        f'<tr class="{worst[k]}"><td data-v="{SEVERITY_RANK[worst[k]]}">{_sev(worst[k])}</td>'
        f'<td><button class="kind" type="button" data-kind="{k}">{k}</button></td>'
        f'<td class="n">{per_kind[k]:,}</td><td class="n">{by_kind[k]:,}</td><td>{escape(KINDS[k])}</td></tr>'
        for k in sorted(by_kind, key=lambda k: (-SEVERITY_RANK[worst[k]], -per_kind[k], k))
    ]
    head = '<th>severity</th><th>kind</th><th data-type="num">incidents</th><th data-type="num">findings</th><th>meaning</th>'
    return f'<table class="sortable" id="kinds"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _text(value: str) -> str:
    return escape(value, quote=False)


def _finding(f: AuditFinding, change: str | None) -> str:
    """One finding, as its message says it, with its value and expected value where the message
    does not name them; end tags left out where HTML allows, as in every row: 5,000 incidents."""
    chg = ' <span class="chg new">new</span>' if change == "new" else ""
    parts = [(f.value, f"{f.platform} {f.field} {f.value!r}"), (f.expected, f"expected {f.expected!r}")]
    extra = "; ".join(text for raw, text in parts if raw and raw not in f.message)
    text = f"{f.message} ({extra})" if f.message and extra else f.message or extra
    return f"<li class={f.severity}><b>{f.kind}</b> {_text(text)}{chg}"


def _links(key: str, records: dict[str, dict[str, str | None]]) -> str:
    """Each platform's record, linked where the platform has a web URL; named by its platform,
    and by its own id where that is not the incident key."""
    out = []
    for platform, r in records.items():
        ref = r["ref"] or ""
        label = _text(platform if ref == key else f"{platform} {ref[:40]}")
        url = r.get("url")
        out.append(f'<a href="{escape(url)}">{label}</a>' if url else label)
    return ", ".join(out)


def _incident_row(report: Report, g: Group) -> str:
    """One incident: severity, key, records, count, its findings folded, and its change since
    the baseline. The script reads the severity, kinds and change from the cells themselves."""
    changes = [report.change(f) for f in g.findings]
    items = "".join(_finding(f, c) for f, c in zip(g.findings, changes, strict=True))
    change = ""
    if report.baseline:
        word = "new" if "new" in changes else "still open"
        change = f'<td class="chg {word.replace(" ", "_")}">{word}'
    links = _links(g.key, report.records.get(g.key, {}))
    return (
        f"<tr class={g.severity}><td class=sv>{g.severity}<td>{_text(g.key)}<td>{links}<td class=n>{len(g.findings)}"
        f"<td><details><summary>{', '.join(g.kinds)}</summary><ul class=f>{items}</ul></details>{change}</tr>"
    )


def _incidents(report: Report, gs: list[Group]) -> str:
    gs = sorted(gs, key=lambda g: (-SEVERITY_RANK[g.severity], g.key))
    options = "".join(f'<option value="{k}">{k}</option>' for k in sorted({k for g in gs for k in g.kinds}))
    change = (
        '<select name="change" aria-label="change"><option value="">any change</option>'
        '<option value="new">new</option><option value="still open">still open</option></select>'
        if report.baseline
        else ""
    )
    controls = (
        '<div class="controls" data-for="incidents" hidden>'
        '<input type="search" placeholder="Filter: key, record, kind, platform, value" aria-label="filter">'
        '<select name="sev" aria-label="severity"><option value="">any severity</option>'
        '<option value="block">block</option><option value="warn">warn</option></select>'
        f'<select name="kinds" aria-label="kind"><option value="">any kind</option>{options}</select>{change}'
        '<span class="shown"></span></div>'
    )
    head = (
        '<th data-col="sev">severity</th><th>incident</th><th>records</th><th data-type="num">findings</th>'
        '<th data-col="kinds">findings (click to open)</th>'
    )
    head += '<th data-col="change">change</th>' if report.baseline else ""
    rows = "".join(_incident_row(report, g) for g in gs)
    return (
        f'{controls}<table class="sortable filterable" id="incidents"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _fixed(report: Report) -> str:
    if not report.baseline:
        return ""
    b = report.baseline.to_dict()
    rows = [[f["severity"], f["key"], f["kind"], f["platform"], f["field"], f["ref"]] for f in report.baseline.fixed]
    table = _table(["severity", "key", "kind", "platform", "field", "record"], rows, "fixed")
    when = escape(b["generated_at"][:16].replace("T", " "))
    return (
        f"<h2>Since the audit of {when}</h2><p>{b['new']:,} new, {b['fixed']:,} fixed, {b['still_open']:,} still "
        f"open.</p><details><summary>{b['fixed']:,} finding(s) fixed</summary>{table}</details>"
    )


# -- charts and metrics ----------------------------------------------------------------------


def _figure(title: str, svg: str, note: str = "") -> str:
    small = f" <small>{escape(note)}</small>" if note else ""
    return f"<figure><figcaption>{escape(title)}{small}</figcaption>{svg}</figure>"


def _kind_bars(report: Report, gs: list[Group]) -> str:
    per_kind: Counter[str] = Counter(k for g in gs for k in g.kinds)
    worst = {f.kind: f.severity for f in sorted(report.findings, key=lambda f: SEVERITY_RANK[f.severity])}
    bars = [Bar(k, n, SEVERITY[worst[k]], f"{n:,} incident(s), {worst[k]}") for k, n in per_kind.most_common()]
    return charts.hbar("Incidents per kind of finding", bars)


def _priority_bars(m: dict[str, Any]) -> str:
    bars = [
        Bar(
            p,
            (s["median_minutes"] or 0) / 60,
            SERIES["median"],
            f"median {hours(s['median_minutes'])} · mean {hours(s['mean_minutes'])} · n {s['count']:,}",
            (s["mean_minutes"] or 0) / 60,
        )
        for p, s in m["mttr"]["by_priority"].items()
        if p != "(none)" and s["count"]
    ]
    return charts.hbar("MTTR by priority", bars)


def _trend_charts(m: dict[str, Any]) -> list[str]:
    weeks = m.get("weekly") or []
    if not weeks:
        return []
    span = f"{weeks[0]['week']} to {weeks[-1]['week']}"
    volume = charts.grouped(
        "Opened and resolved per week",
        [w["week"] for w in weeks],
        {
            "opened": {w["week"]: w["opened"] for w in weeks},
            "resolved": {w["week"]: w["resolved"] for w in weeks},
        },
        {"opened": SERIES["opened"], "resolved": SERIES["resolved"]},
    )
    sla = [Column(w["week"], w["sla_compliance_pct"], w["sla_judged"]) for w in weeks]
    mttr = [
        Column(
            w["week"],
            None if w["mttr"]["median_minutes"] is None else w["mttr"]["median_minutes"] / 60,
            w["mttr"]["count"],
            None if w["mttr"]["mean_minutes"] is None else w["mttr"]["mean_minutes"] / 60,
            f"{w['week']}: median {hours(w['mttr']['median_minutes'])}, mean {hours(w['mttr']['mean_minutes'])}, "
            f"n {w['mttr']['count']}",
        )
        for w in weeks
    ]
    return [
        _figure("Opened and resolved per week", volume, span),
        _figure(
            "SLA compliance per week (%)",
            charts.columns("SLA compliance per week", sla, SERIES["sla"], "%", 100),
            "of the incidents resolved that week; n under each week",
        ),
        _figure(
            "MTTR per week (median hours)",
            charts.columns("MTTR per week", mttr, SERIES["median"], " h"),
            "bar: median; dark tick: mean; n under each week",
        ),
    ]


def _stat_cell(name: str, value: Any) -> Any:
    if name.endswith("_minutes"):
        return _duration(value)
    return "-" if value is None else value


def _breakdown(title: str, data: dict[str, Any]) -> str:
    """Any metric shaped {overall, by_priority, by_category, by_service} of stat objects: every
    stat it carries (n, mean, median, rates ...) as columns."""
    stats = [k for k in data["overall"] if isinstance(data["overall"][k], (int, float)) or data["overall"][k] is None]
    rows = [["all", "", *(_stat_cell(s, data["overall"][s]) for s in stats)]]
    for dim in ("priority", "category", "service"):
        for name, s in (data.get(f"by_{dim}") or {}).items():
            rows.append([dim, name, *(_stat_cell(k, s.get(k)) for k in stats)])
    names = {"count": "n", "rate_pct": "rate %"}
    headers = ["by", "value", *(names.get(s) or s.replace("_minutes", "").replace("_", " ") for s in stats)]
    counts = [  # what the measure left out and why (without_ack, without_detected, ...)
        f"{k.replace('_', ' ')}: {v:,}" for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)
    ]
    note = f'<p class="meta">{escape(" · ".join(counts))}</p>' if counts else ""
    return f"<h3>{escape(title)}</h3>{note}" + _table(headers, rows, numeric=range(2, 2 + len(stats)))


def _measures(m: dict[str, Any]) -> str:
    """Every measure with a breakdown (MTTA, MTTR, MTTD, first-contact resolution, reopen rate,
    ...); one the platforms give no data for says so instead of a table of zeros."""
    out = []
    for name, data in m.items():
        if not (isinstance(data, dict) and isinstance(data.get("overall"), dict)):
            continue
        title = name.upper() if len(name) <= 5 else name.replace("_", " ").capitalize()
        if data.get("measured") is False:
            out.append(f"<h3>{escape(title)}</h3><p>Not measured: {escape(NOT_MEASURED.get(name, 'no data'))}.</p>")
        else:
            out.append(_breakdown(title, data))
    return "".join(out)


NOT_MEASURED = {
    "mttd": "no detected-at field is configured for the system of record",
    "first_contact_resolution": "the system of record counts no reassignments",
    "reopen_rate": "the platform counts no reopens",
}


def _kept(incident: dict[str, Any]) -> str:
    if incident["cadence_minutes"] is None:
        return "-"
    return "breached" if incident["breached"] else "kept"


def _communication(m: dict[str, Any]) -> str:
    """Per published incident: time to first public post, longest gap against its cadence."""
    c = m.get("communication")
    if not c:
        return ""
    first = c["first_post"]
    rows = [
        [i["key"], i["priority"] or "", "yes" if i["major"] else "", _duration(i["first_post_minutes"])]
        + [_duration(i["longest_gap_minutes"]), _duration(i["cadence_minutes"]), _kept(i)]
        for i in c["incidents"]
    ]
    table = _table(
        ["incident", "priority", "major", "first public post", "longest gap", "cadence", "cadence kept"],
        rows,
        "communication",
        numeric=[3, 4, 5],
    )
    return (
        f"<h2>Communication on the status page ({c['published']:,} published, {c['breaches']:,} cadence "
        f"breach{'' if c['breaches'] == 1 else 'es'})</h2><p>Time to first public post: median {hours(first['median_minutes'])}, mean "
        f"{hours(first['mean_minutes'])}, n {first['count']:,}.</p>{table}"
    )


def _cards(report: Report, d: dict[str, Any]) -> str:
    s = d["summary"]
    block, warn = s["incidents_by_severity"]["block"], s["incidents_by_severity"]["warn"]
    cards = [
        ("incidents audited", s["incidents"], ""),
        ("with blocking findings", block, "block" if block else "ok"),
        ("held back", s["held_back"], "block" if s["held_back"] else "ok"),
        ("with warnings only", warn, "warn" if warn else "ok"),
    ]
    if report.baseline:
        cards += [("new findings", len(report.baseline.new), ""), ("fixed", len(report.baseline.fixed), "")]
    return "".join(f'<div class="card {c}">{escape(label)}<b>{n:,}</b></div>' for label, n, c in cards)


def render(report: Report) -> str:
    d = report.to_dict()
    s, m = d["summary"], d["metrics"]
    gs = report.groups
    story = "".join(f"<p>{escape(line)}</p>" for line in sentences(report, d))
    categories = sorted({c for per in d["categories"].values() for c in per})
    platform_colours = {p: charts.platform_colour(p, i) for i, p in enumerate(d["categories"])}
    figures = [
        _figure("Incidents per kind of finding", _kind_bars(report, gs), "colour: severity"),
        _figure("MTTR by priority", _priority_bars(m), "bar: median; dark tick: mean"),
        *_trend_charts(m),
        _figure(
            "Category distribution per platform",
            charts.grouped("Category distribution per platform", categories, d["categories"], platform_colours),
        ),
    ]
    legend = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in KINDS.items())
    completeness = _table(
        ["platform", "assignment group", "step", "checked", "incomplete", "complete %"],
        [
            [r["platform"], r["assignment_group"], r["step"], r["checked"], r["incomplete"], r["complete_pct"]]
            for r in d["completeness"]
        ],
        "completeness",
        numeric=[3, 4, 5],
    )
    sla = _table(
        ["priority", "target", "met", "breached", "open and late", "compliance %"],
        [
            [r["priority"], _duration(r["target_minutes"]), r["met"], r["breached"], r["open_breached"]]
            + ["-" if r["compliance_pct"] is None else r["compliance_pct"]]
            for r in m["sla"]
        ],
        numeric=[1, 2, 3, 4, 5],
    )
    rec = m["recurrence"]
    recurrence = _table(
        ["service", "category", "incidents", "recurrences", "recurring incidents"],
        [
            [g["service"], g["category"], g["incidents"], g["recurrences"]]
            + [", ".join(g["keys"][:12]) + (" …" if len(g["keys"]) > 12 else "")]
            for g in rec["groups"]
        ],
        "recurrence",
        numeric=[2, 3],
    )
    weekly = _table(
        ["week", "opened", "resolved", "SLA judged", "SLA met %", "MTTR n", "MTTR median", "MTTR mean"],
        [
            [w["week"], w["opened"], w["resolved"], w["sla_judged"]]
            + ["-" if w["sla_compliance_pct"] is None else w["sla_compliance_pct"], w["mttr"]["count"]]
            + [_duration(w["mttr"]["median_minutes"]), _duration(w["mttr"]["mean_minutes"])]
            for w in m.get("weekly") or []
        ],
        "weekly",
        numeric=[1, 2, 3, 4, 5, 6, 7],
    )
    read = ", ".join(f"{escape(p)} {n:,}" for p, n in s["records"].items())
    since = f" · incidents opened since {escape(d['since'])}" if d["since"] else ""
    findings = _incidents(report, gs) if gs else "<p>No findings: the platforms tell the same story.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>itsm-bridge audit {escape(d["generated_at"][:16])}</title><style>{CSS}</style></head>
<body>
<h1>itsm-bridge audit</h1>
<p class="meta">Generated {escape(d["generated_at"][:19])} UTC · flow {escape(d["flow"]["source"])} → {escape(", ".join(d["flow"]["targets"]))} · read {read}{since} · {s["findings"]:,} finding(s) in {s["incidents_with_findings"]:,} incident(s)</p>
<section class="story" id="summary">{story}</section>
<div class="cards">{_cards(report, d)}</div>
<h2>Findings by kind</h2>{_kinds(report, gs) if gs else "<p>None.</p>"}
{_fixed(report)}
<h2>Incidents with findings ({len(gs):,})</h2>{findings}
<details><summary>What each kind means</summary><dl class="legend">{legend}</dl></details>
<h2>Charts</h2><div class="charts">{"".join(figures)}</div>
<h2>Time to detect, acknowledge and resolve</h2>
<p class="meta">Each measure with n, mean and median, overall and by priority, category and service; incidents a measure cannot be taken of are counted under it, never guessed.</p>
{_measures(m)}
<h2>SLA compliance (resolution targets from [audit.sla])</h2>{sla}
{_communication(m)}
<h2>Weekly trend</h2>{weekly}
<h2>Required fields: completeness per platform, assignment group and step</h2>{completeness}
<h2>Recurrence: same service and category within {rec["window_days"]} days ({rec["recurrences"]:,})</h2>{recurrence}
<script>{SCRIPT}</script>
</body></html>
"""
