"""ITIL metrics from the canonical timeline of each incident (as its system of record says).

- MTTA: acknowledged - opened. Acknowledged is the first of: the platform's own acknowledged time,
  the first move out of New, the first assignment to a person, the first note by a person
  (itsm-bridge's own notes are never read back); never after the resolve, which is itself a move
  out of New. Open incidents with none of these are counted under `without_ack`, not guessed.
- MTTR: resolved (else closed) - opened, for finished incidents.
- Every timeline must read opened <= acknowledged <= resolved <= closed: an incident where it does
  not gets a `timeline_inconsistent` finding (checks.timeline) and no MTTA, MTTR or MTTD.
- MTTD: opened - detected, where a detected-at field is configured for the system of record
  ([audit] detected_at): the time from the monitoring alert (or whatever the field records) to the
  incident. Without the field it is reported as not measured.
- First-contact resolution: finished incidents resolved by their first assignment group (no
  reassignment), where the system of record counts reassignments.
- Reopen rate: incidents ever resolved that were reopened, where the platform counts reopens.
- SLA: resolution within [audit.sla] per priority; open incidents already past it are breaches.
- Recurrence: the same service and category again within [audit] recurrence_days.
- Weekly volume: incidents opened and resolved per ISO week.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise
from operator import attrgetter
from typing import Any

from itsm_bridge.history import History
from itsm_bridge.model import Incident
from itsm_bridge.reports.timeline import Timeline, timeline

DIMENSIONS = ("priority", "category", "service")


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() / 60.0


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "mean_minutes": None, "median_minutes": None}
    return {
        "count": len(values),
        "mean_minutes": round(statistics.fmean(values), 1),
        "median_minutes": round(statistics.median(values), 1),
    }


def _grouped(values: list[tuple[Timeline, Any]], summary: Any) -> dict[str, Any]:
    """`summary` of the values overall and by priority, category and service (DIMENSIONS)."""
    out: dict[str, Any] = {"overall": summary([v for _, v in values])}
    by_priority: dict[str, list[Any]] = defaultdict(list)
    by_category: dict[str, list[Any]] = defaultdict(list)
    by_service: dict[str, list[Any]] = defaultdict(list)
    for t, v in values:  # the three in one pass, by attribute: a getattr per value and dimension cost more
        by_priority[t.priority].append(v)
        by_category[t.category].append(v)
        by_service[t.service].append(v)
    for dim, groups in zip(DIMENSIONS, (by_priority, by_category, by_service), strict=True):
        out[f"by_{dim}"] = {name: summary(vs) for name, vs in sorted(groups.items())}
    return out


def durations(ok: list[Timeline], measure: str) -> dict[str, Any]:
    """Mean and median of `measure` (mtta | mttr | mttd) overall and by priority, category and
    service, over timelines in order (`ok`): one out of order gives no duration (it is a
    `timeline_inconsistent` finding)."""
    spans: list[tuple[Timeline, datetime | None, datetime | None]]
    if measure == "mttd":
        spans = [(t, t.detected, t.opened) for t in ok if t.detected is not None]
    elif measure == "mtta":
        spans = [(t, t.opened, t.acknowledged) for t in ok]
    else:
        spans = [(t, t.opened, t.finished) for t in ok]
    # _minutes, inline: once per incident and measure
    values = [
        (t, (end - start).total_seconds() / 60.0)
        for t, start, end in spans
        if start is not None and end is not None and end >= start
    ]
    out = _grouped(values, _stats)
    if measure == "mtta":
        out["without_ack"] = sum(1 for t in ok if t.acknowledged is None)
    if measure == "mttd":
        measured = [t for t in ok if t.detected_measured]
        out["measured"] = bool(measured)
        out["without_detected"] = sum(1 for t in measured if t.detected is None)
        out["detected_after_opened"] = sum(1 for t in measured if t.detected and t.opened and t.detected > t.opened)
    return out


def _rate(flags: list[tuple[bool, int]], hit: str, counted: str) -> dict[str, Any]:
    """n judged, how many are `hit`, the rate, and the mean and median of the per-incident count."""
    n = len(flags)
    hits = sum(1 for flag, _ in flags if flag)
    counts = [c for _, c in flags]
    return {
        "count": n,
        hit: hits,
        "rate_pct": round(100.0 * hits / n, 1) if n else None,
        f"mean_{counted}": round(statistics.fmean(counts), 2) if counts else None,
        f"median_{counted}": statistics.median(counts) if counts else None,
    }


def first_contact(lines: list[Timeline]) -> dict[str, Any]:
    """Resolved (or closed) incidents resolved by their first assignment group: no reassignment.
    Only where the system of record counts reassignments; else `measured` is false."""
    judged = [(t, (t.reassignments == 0, t.reassignments)) for t in lines if t.fixed and t.reassignments is not None]
    out = _grouped(judged, lambda vs: _rate(vs, "first_contact", "reassignments"))
    return {"measured": any(t.reassignments is not None for t in lines), **out}


def reopen_rate(lines: list[Timeline]) -> dict[str, Any]:
    """Of the incidents ever resolved (finished now, or reopened since), those reopened at least
    once. Only where the platform counts reopens; else `measured` is false."""
    judged = [
        (t, ((t.reopens or 0) > 0, t.reopens or 0))
        for t in lines
        if t.reopens is not None and (t.fixed or t.reopens > 0)
    ]
    out = _grouped(judged, lambda vs: _rate(vs, "reopened", "reopens"))
    return {"measured": any(t.reopens is not None for t in lines), **out}


def sla(lines: list[Timeline], targets: dict[str, int], now: datetime) -> list[dict[str, Any]]:
    """Per priority with a target: resolved within it, resolved late, open and already late."""
    by_priority: dict[str, list[Timeline]] = defaultdict(list)
    for t in lines:  # grouped once, not scanned once per priority
        if t.opened is not None:
            by_priority[t.priority].append(t)
    rows = []
    for priority, target in targets.items():
        mine = by_priority.get(priority, [])
        # _minutes, inline (once per incident): the finished ones with a time to resolve
        times = [
            (t.finished - t.opened).total_seconds() / 60.0  # type: ignore[operator]  # grouped only when opened
            for t in mine
            if not t.is_open and t.finished is not None and t.finished >= t.opened  # type: ignore[operator]
        ]
        met = sum(1 for m in times if m <= target)
        late = len(times) - met
        open_late = sum(1 for t in mine if t.is_open and (_minutes(t.opened, now) or 0) > target)
        judged = met + late + open_late
        rows.append(
            {
                "priority": priority,
                "target_minutes": target,
                "met": met,
                "breached": late,
                "open_breached": open_late,
                "compliance_pct": round(100.0 * met / judged, 1) if judged else None,
            }
        )
    return rows


def recurrence(lines: list[Timeline], days: int) -> dict[str, Any]:
    """Incidents opened within `days` of the previous one of the same service and category."""
    # fewer whole days than `days` (a gap in order is never negative); capped where timedelta ends
    window = timedelta(days=min(days, timedelta.max.days))
    groups: dict[tuple[str, str], list[Timeline]] = defaultdict(list)
    for t in lines:
        if t.opened is not None and t.service != "(none)" and t.category != "(none)":
            groups[(t.service, t.category)].append(t)
    found: list[dict[str, Any]] = []
    for (service, category), members in groups.items():
        members.sort(key=_KEY)  # then stably by time: in (opened, key) order, two sorts on one attribute each
        members.sort(key=_OPENED)  # cost less than one on a tuple made per incident
        repeats = [b.key for a, b in pairwise(members) if b.opened - a.opened < window]  # type: ignore[operator]  # grouped only when opened
        if repeats:
            found.append(
                {
                    "service": service,
                    "category": category,
                    "incidents": len(members),
                    "recurrences": len(repeats),
                    "keys": repeats,
                }
            )
    found.sort(key=lambda g: (-g["recurrences"], g["service"], g["category"]))
    return {"window_days": days, "recurrences": sum(g["recurrences"] for g in found), "groups": found}


_KEY, _OPENED = attrgetter("key"), attrgetter("opened")


def weekly_volume(lines: list[Timeline]) -> list[dict[str, Any]]:
    opened: dict[str, int] = defaultdict(int)
    finished: dict[str, int] = defaultdict(int)
    for t in lines:
        if t.opened is not None:
            opened[_week(t.opened)] += 1
        if t.finished is not None:
            finished[_week(t.finished)] += 1
    return [
        {"week": w, "opened": opened.get(w, 0), "resolved": finished.get(w, 0)} for w in sorted({*opened, *finished})
    ]


def _week(when: datetime) -> str:
    day = when.toordinal()  # (weeks are named per day, once: the audit names one per time)
    name = _WEEKS.get(day)
    if name is None:
        year, week, _ = when.isocalendar()
        name = _WEEKS[day] = f"{year}-W{week:02d}"
    return name


_WEEKS: dict[int, str] = {}


def compute(
    incidents: Iterable[Incident | tuple[Incident, History | None]],
    targets: dict[str, int],
    recurrence_days: int,
    now: datetime,
) -> dict[str, Any]:
    """Every metric of the report's `metrics` object; an incident may come with its History."""
    lines = [timeline(*i) if isinstance(i, tuple) else timeline(i) for i in incidents]
    return of_timelines(lines, targets, recurrence_days, now)


def of_timelines(lines: list[Timeline], targets: dict[str, int], recurrence_days: int, now: datetime) -> dict[str, Any]:
    """`compute` over timelines already built (the audit builds each once, for checks and metrics)."""
    ok = [t for t in lines if not t.broken]
    return {
        "incidents": len(lines),
        "timeline_inconsistent": len(lines) - len(ok),
        "mtta": durations(ok, "mtta"),
        "mttr": durations(ok, "mttr"),
        "mttd": durations(ok, "mttd"),
        "first_contact_resolution": first_contact(lines),
        "reopen_rate": reopen_rate(lines),
        "sla": sla(lines, targets, now),
        "recurrence": recurrence(lines, recurrence_days),
        "weekly_volume": weekly_volume(lines),
    }
