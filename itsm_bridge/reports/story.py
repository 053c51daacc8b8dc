"""The executive summary: a few sentences a manager reads first, from the report's own numbers.

"2 incidents held back: 'facilities' and 'Legacy Fax Gateway' are not in the taxonomy." Every
incident is counted once (at its worst severity), whatever the number of its findings.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from itsm_bridge.reports.incidents import Group
from itsm_bridge.reports.report import Report

SHOWN = 5  # values named in a sentence before "and N more"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def listing(items: list[str], limit: int = SHOWN) -> str:
    """'a', 'a and b', 'a, b and c', 'a, b, c and 4 more'."""
    if len(items) > limit:
        items = [*items[:limit], f"{len(items) - limit} more"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def hours(minutes: float | None) -> str:
    if minutes is None:
        return "-"
    return f"{minutes / 60:,.1f} h" if minutes >= 120 else f"{minutes:,.0f} min"


def sentences(report: Report, d: dict[str, Any] | None = None) -> list[str]:
    """The summary, sentence by sentence (`d`: the report's `to_dict()`, when the caller has it)."""
    d = d or report.to_dict()
    s, gs = d["summary"], report.groups
    read = ", ".join(f"{p} {n:,}" for p, n in s["records"].items())
    if not gs:
        out = [f"{plural(s['incidents'], 'incident')} audited ({read}): no findings."]
    else:
        block = s["incidents_by_severity"]["block"]
        out = [
            f"{plural(s['incidents'], 'incident')} audited ({read}); {len(gs):,} with findings: "
            f"{block:,} blocking, {len(gs) - block:,} with warnings only."
        ]
    out += _held(gs) + _blocking(gs) + _warnings(gs) + _metrics(d["metrics"]) + _since(d["baseline"])
    return out


def _held(gs: list[Group]) -> list[str]:
    held = [g for g in gs if g.held]
    if not held:
        return []
    values = sorted(
        {f.value for g in held for f in g.findings if f.kind in ("unmapped_category", "unmapped_service") and f.value}
    )
    reasons = []
    if values:
        reasons.append(
            f"{listing([repr(v) for v in values])} {'is' if len(values) == 1 else 'are'} not in the taxonomy"
        )
    missing = sorted(
        {f.field for g in held for f in g.findings if f.kind == "required_missing" and f.severity == "block"}
    )
    if missing:
        reasons.append(f"{listing(missing)} missing")
    conflicts = sum(1 for g in held if any(f.kind == "key_conflict" for f in g.findings))
    if conflicts:
        reasons.append(f"{plural(conflicts, 'record')} carrying a key another record holds")
    why = "; ".join(reasons) or "see the findings for why"
    return [f"{plural(len(held), 'incident')} held back: {why}."]


def _kinds(gs: list[Group]) -> str:
    counts = Counter(k for g in gs for k in g.kinds)
    return listing([f"{n:,} {k.replace('_', ' ')}" for k, n in counts.most_common()], 4)


def _blocking(gs: list[Group]) -> list[str]:
    other = [g for g in gs if g.severity == "block" and not g.held]
    if not other:
        return []
    more = "more incident" if any(g.held for g in gs) else "incident"
    return [f"{plural(len(other), more)} with blocking findings, not held back (yet): {_kinds(other)}."]


def _warnings(gs: list[Group]) -> list[str]:
    warn = [g for g in gs if g.severity == "warn"]
    return [f"{plural(len(warn), 'incident')} with warnings: {_kinds(warn)}."] if warn else []


def _metrics(m: dict[str, Any]) -> list[str]:
    out = []
    mttr = m["mttr"]["overall"]
    if mttr["count"]:
        out.append(
            f"MTTR median {hours(mttr['median_minutes'])} over {plural(mttr['count'], 'resolved incident')} "
            f"(mean {hours(mttr['mean_minutes'])})."
        )
    met = sum(r["met"] for r in m["sla"])
    judged = sum(r["met"] + r["breached"] + r["open_breached"] for r in m["sla"])
    if judged:
        out.append(f"{100.0 * met / judged:.0f}% of {plural(judged, 'incident')} judged met their resolution target.")
    if m.get("timeline_inconsistent"):
        n = m["timeline_inconsistent"]
        out.append(f"{plural(n, 'incident')} with times out of order, left out of MTTA, MTTR and MTTD.")
    c = m.get("communication") or {}
    if c.get("published"):
        first = c["first_post"]
        out.append(
            f"{c['breaches']:,} of {plural(c['published'], 'published incident')} went longer without a public "
            f"update than their cadence; the first public post came after a median {hours(first['median_minutes'])} "
            f"(n {first['count']:,})."
        )
    return out


def _since(baseline: dict[str, Any] | None) -> list[str]:
    if not baseline:
        return []
    when = baseline["generated_at"][:16].replace("T", " ") or baseline["file"]
    return [
        f"Since the audit of {when}: {plural(baseline['new'], 'new finding')}, "
        f"{baseline['fixed']:,} fixed, {baseline['still_open']:,} still open."
    ]
