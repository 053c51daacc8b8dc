"""Weekly trends for the report: opened and resolved, SLA compliance and MTTR per ISO week.

An incident counts in the week it was opened (opened) and in the week it was resolved (resolved,
SLA and MTTR): the SLA and MTTR of a week are those of the incidents resolved in it. Each week
gives n beside its median and mean, so a week of two incidents is not read as a trend.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from itsm_bridge.reports.metrics import _stats, _week
from itsm_bridge.reports.timeline import Timeline


def weekly(lines: list[Timeline], targets: dict[str, int]) -> list[dict[str, Any]]:
    """One row per ISO week with an incident opened or resolved in it, oldest first."""
    opened: dict[str, int] = defaultdict(int)
    times: dict[str, list[float]] = defaultdict(list)
    met: dict[str, int] = defaultdict(int)
    judged: dict[str, int] = defaultdict(int)
    resolved: dict[str, int] = defaultdict(int)
    for t in lines:
        if t.opened is not None:
            opened[_week(t.opened)] += 1
        if t.finished is None:
            continue
        week = _week(t.finished)
        resolved[week] += 1
        if t.opened is None or t.finished < t.opened:  # (_minutes, inline: once per incident)
            continue
        minutes = (t.finished - t.opened).total_seconds() / 60.0
        if not t.broken:  # as in metrics.durations: a timeline out of order gives no MTTR
            times[week].append(minutes)
        target = targets.get(t.priority)
        if target is not None:
            judged[week] += 1
            met[week] += minutes <= target
    return [
        {
            "week": w,
            "opened": opened.get(w, 0),
            "resolved": resolved.get(w, 0),
            "sla_judged": judged.get(w, 0),
            "sla_met": met.get(w, 0),
            "sla_compliance_pct": round(100.0 * met[w] / judged[w], 1) if judged.get(w) else None,
            "mttr": _stats(times.get(w, [])),
        }
        for w in sorted({*opened, *resolved})
    ]
