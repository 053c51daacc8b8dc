"""ITIL metrics from the canonical timeline of each incident (as its system of record says).

- MTTA: acknowledged - opened. The acknowledged time is the incident's own when a platform gives
  it, else its first note or comment by a person (itsm-bridge's own notes are never read back);
  incidents with neither are counted under `without_ack`, not guessed.
- MTTR: resolved (else closed) - opened, for finished incidents.
- SLA: resolution within [audit.sla] per priority; open incidents already past it are breaches.
- Recurrence: the same service and category again within [audit] recurrence_days.
- Weekly volume: incidents opened and resolved per ISO week.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from itsm_bridge.model import Incident

DIMENSIONS = ("priority", "category", "service")


@dataclass(frozen=True)
class Timeline:
    """What metrics need of one incident."""

    key: str
    opened: datetime | None
    acknowledged: datetime | None
    finished: datetime | None
    is_open: bool
    priority: str
    category: str
    service: str


def timeline(incident: Incident) -> Timeline:
    ack = incident.acknowledged
    if ack is None and incident.opened is not None:
        after = [c.created for c in incident.comments if c.created >= incident.opened]
        ack = min(after) if after else None
    finished = incident.resolved or incident.closed
    if finished is None and not incident.state.is_open:
        finished = incident.updated
    return Timeline(
        incident.key,
        incident.opened,
        ack,
        None if incident.state.is_open else finished,
        incident.state.is_open,
        incident.priority.value if incident.priority else "(none)",
        incident.category or "(none)",
        incident.service or "(none)",
    )


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


def durations(lines: list[Timeline], measure: str) -> dict[str, Any]:
    """Mean and median of `measure` (mtta | mttr) overall and by priority, category and service."""

    def pick(t: Timeline) -> float | None:
        return _minutes(t.opened, t.acknowledged if measure == "mtta" else t.finished)

    values = [(t, v) for t in lines if (v := pick(t)) is not None]
    out: dict[str, Any] = {"overall": _stats([v for _, v in values])}
    for dim in DIMENSIONS:
        groups: dict[str, list[float]] = defaultdict(list)
        for t, v in values:
            groups[getattr(t, dim)].append(v)
        out[f"by_{dim}"] = {name: _stats(vs) for name, vs in sorted(groups.items())}
    if measure == "mtta":
        out["without_ack"] = sum(1 for t in lines if t.acknowledged is None)
    return out


def sla(lines: list[Timeline], targets: dict[str, int], now: datetime) -> list[dict[str, Any]]:
    """Per priority with a target: resolved within it, resolved late, open and already late."""
    rows = []
    for priority, target in targets.items():
        mine = [t for t in lines if t.priority == priority and t.opened is not None]
        times = [_minutes(t.opened, t.finished) for t in mine if not t.is_open]
        met = sum(1 for m in times if m is not None and m <= target)
        late = sum(1 for m in times if m is not None and m > target)
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
    groups: dict[tuple[str, str], list[Timeline]] = defaultdict(list)
    for t in lines:
        if t.opened is not None and t.service != "(none)" and t.category != "(none)":
            groups[(t.service, t.category)].append(t)
    found: list[dict[str, Any]] = []
    for (service, category), members in groups.items():
        members.sort(key=lambda t: (t.opened, t.key))
        repeats = [b.key for a, b in pairwise(members) if (b.opened - a.opened).days < days]  # type: ignore[operator]  # grouped only when opened
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
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def compute(
    incidents: Iterable[Incident], targets: dict[str, int], recurrence_days: int, now: datetime
) -> dict[str, Any]:
    """Every metric of the report's `metrics` object."""
    lines = [timeline(i) for i in incidents]
    return {
        "incidents": len(lines),
        "mtta": durations(lines, "mtta"),
        "mttr": durations(lines, "mttr"),
        "sla": sla(lines, targets, now),
        "recurrence": recurrence(lines, recurrence_days),
        "weekly_volume": weekly_volume(lines),
    }
