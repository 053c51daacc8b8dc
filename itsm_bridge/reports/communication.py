"""Major-incident communication as the audit sees it, per published incident.

From the page incident's public timeline (the times its updates went out, where the page lists
them: Statuspage does, Cachet's incident list does not, so there it is not measured):

- time to first public post: from the incident's opening (on its system of record) to the page's
  first update;
- the longest gap between public updates while the incident was open (to the resolve, or to now
  for one still open), against the cadence of `[communication.cadence]`: longer is a
  `cadence_breach` finding;
- a major incident without a communication owner (where the system of record has the field
  configured: `communication_owner_field`) is a `communication_owner_missing` finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import mean, median
from typing import TYPE_CHECKING, Any

from itsm_bridge.mapping.communication import cadence_for
from itsm_bridge.model import OPEN_STATES, Incident
from itsm_bridge.reports.collect import Copy, View
from itsm_bridge.reports.findings import AuditFinding

if TYPE_CHECKING:
    from itsm_bridge.config import Config


@dataclass(frozen=True)
class Posts:
    """One published incident's public timeline, measured."""

    key: str
    priority: str
    major: bool
    first_post_minutes: float | None  # None: the page posted before the incident opened (clocks disagree)
    longest_gap_minutes: float
    cadence_minutes: int | None
    cadence_by: str  # what set the cadence: a priority, or "major incident"
    page: Copy

    @property
    def breached(self) -> bool:
        return self.cadence_minutes is not None and self.longest_gap_minutes > self.cadence_minutes

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "priority": self.priority,
            "major": self.major,
            "first_post_minutes": _round(self.first_post_minutes),
            "longest_gap_minutes": _round(self.longest_gap_minutes),
            "cadence_minutes": self.cadence_minutes,
            "breached": self.breached,
        }


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _page(kept: dict[str, Copy], pages: frozenset[str]) -> Copy | None:
    for platform, copy in kept.items():  # a loop, not a generator: asked of every view, and most have no page
        if platform in pages:
            return copy
    return None


def measure(
    view: View,
    kept: dict[str, Copy],
    incident: Incident | None,
    config: Config,
    now: datetime,
    pages: frozenset[str],
) -> Posts | None:
    """The incident's public timeline, when it is published on a page (of the publish-only
    platforms, `pages`; `kept`: `View.kept`) that lists its updates. `incident`: as its system of
    record says (`View.canonical`)."""
    page = _page(kept, pages)
    if page is None or not page.public_updates:
        return None
    if incident is None:
        return None
    posts = page.public_updates
    end = incident.resolved or incident.closed if incident.state not in OPEN_STATES else now
    while_open = [t for t in posts if end is None or t <= end]
    marks = [*while_open, *([end] if end is not None and (not while_open or end > while_open[-1]) else [])]
    gaps = [_minutes(a, b) for a, b in zip(marks, marks[1:], strict=False)]
    first = _minutes(incident.opened, posts[0]) if incident.opened is not None else None
    cadence = cadence_for(incident, config.settings.communication.cadence)
    return Posts(
        view.key,
        incident.priority.value if incident.priority else "",
        incident.major,
        first if first is None or first >= 0 else None,
        max(gaps, default=0.0),
        cadence.minutes if cadence else None,
        ("major incident" if cadence.by == "major" else cadence.by) if cadence else "",
        page,
    )


def breach(posts: Posts | None) -> list[AuditFinding]:
    """`cadence_breach` when the longest silence while open was longer than the cadence."""
    if posts is None or not posts.breached:
        return []
    page = posts.page
    message = (
        f"the page went {posts.longest_gap_minutes:.0f} min without a public update while the incident was open;"
        f" its cadence is {posts.cadence_minutes} min ({posts.cadence_by})"
    )
    return [
        AuditFinding(
            "cadence_breach",
            "warn",
            posts.key,
            page.platform,
            "public_update",
            f"{posts.longest_gap_minutes:.0f}",
            str(posts.cadence_minutes),
            page.ref.display or page.ref.id,
            message,
        )
    ]


def owner_missing(view: View, src: Copy | None, field: str | None) -> list[AuditFinding]:
    """A major incident whose system of record (`src`: its copy) names no communication owner,
    where it has the field (`owner_field`)."""
    if src is None or not src.incident.major or field is None or src.incident.communication_owner:
        return []
    return [
        AuditFinding(
            "communication_owner_missing",
            "warn",
            view.key,
            src.platform,
            "communication_owner",
            "",
            "",
            src.ref.display or src.ref.id,
            f"a major incident with no communication owner ({src.platform} {field} is empty)",
        )
    ]


def owner_field(config: Config, platform: str) -> str | None:
    """The field of `platform` that names an incident's communication owner, where one is configured."""
    section = config.settings.section(platform)
    return getattr(section, "communication_owner_field", None)


def summary(measured: list[Posts]) -> dict[str, Any]:
    """`metrics.communication` of the report: each published incident's figures, and the time to
    first public post over them (count, mean, median)."""
    firsts = [p.first_post_minutes for p in measured if p.first_post_minutes is not None]
    return {
        "published": len(measured),
        "breaches": sum(p.breached for p in measured),
        "first_post": {
            "count": len(firsts),
            "mean_minutes": _round(mean(firsts)) if firsts else None,
            "median_minutes": _round(median(firsts)) if firsts else None,
        },
        "incidents": [p.to_dict() for p in sorted(measured, key=lambda p: p.key)],
    }
