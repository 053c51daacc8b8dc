"""Consistency checks over one View: mapping gaps, categorization, priority and status drift.

Each check compares a platform's copy with the incident as its system of record (the flow's
source) says. A value a platform does not state (None) is not a contradiction: absence is a
question of completeness, answered by the required-field rules (`fields.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from itsm_bridge import links, platforms
from itsm_bridge.model import OPEN_STATES, Level, Priority
from itsm_bridge.reports.collect import Copy, Snapshot, View
from itsm_bridge.reports.findings import AuditFinding
from itsm_bridge.reports.timeline import Timeline

if TYPE_CHECKING:
    from itsm_bridge.config import Config

UNMAPPED_KIND = {
    "taxonomy.unmapped.category": "unmapped_category",
    "taxonomy.unmapped.subcategory": "unmapped_category",
    "taxonomy.unmapped.service": "unmapped_service",
}
OWN_CHECKS = {"priority.off_matrix"}  # the mapper's own matrix check: `priority` below covers it
_NONE: frozenset[str] = frozenset()


def _display(copy: Copy) -> str:
    return copy.ref.display or copy.ref.id


def key_conflicts(snap: Snapshot) -> list[AuditFinding]:
    """Records the sync refused because another record of their platform holds their key: never
    merged or written, held in quarantine. `ref` names the refused record, `expected` the holder."""
    return [
        AuditFinding(
            "key_conflict",
            "block",
            c["key"] or "",
            c["platform"],
            "key",
            c["key"] or "",
            str(c["holder"] or ""),
            str(c["record"] or ""),
            c["message"],
        )
        for c in links.key_conflicts(snap.quarantined)
    ]


def mapping_gaps(view: View) -> list[AuditFinding]:
    """Values that map to nothing, as each platform's mapper found them."""
    out = []
    for platform, copies in view.copies.items():
        for copy in copies:
            for f in copy.findings:
                if f.rule_id in OWN_CHECKS:
                    continue
                kind = UNMAPPED_KIND.get(f.rule_id, "unmapped_value")
                out.append(
                    AuditFinding(
                        kind, f.severity, view.key, platform, f.field, f.value or "", "", _display(copy), f.message
                    )
                )
    return out


def categorization(view: View, src: Copy | None) -> list[AuditFinding]:
    """Uncategorized incidents; categories, subcategories and services two platforms disagree on
    (`src`: the system of record's copy)."""
    if src is None:
        return []
    out = []
    ours = src.incident
    unmapped = {f.field for f in src.findings if f.rule_id in UNMAPPED_KIND} if src.findings else _NONE
    if ours.category is None and "category" not in unmapped:
        out.append(
            AuditFinding(
                "uncategorized",
                "warn",
                view.key,
                src.platform,
                "category",
                "",
                "",
                _display(src),
                f"{src.platform}: the incident has no category",
            )
        )
    for platform, copies in view.copies.items():
        if platform == src.platform:
            continue
        for copy in copies:
            theirs = copy.incident
            if theirs.category != ours.category:
                out += _differs(view.key, "category_mismatch", "category", src, copy)
            elif theirs.subcategory != ours.subcategory:
                out += _differs(view.key, "category_mismatch", "subcategory", src, copy)
            if theirs.service != ours.service:
                out += _differs(view.key, "service_mismatch", "service", src, copy)
    return out


def _differs(key: str, kind: str, field: str, src: Copy, copy: Copy) -> list[AuditFinding]:
    ours, theirs = getattr(src.incident, field), getattr(copy.incident, field)
    if ours is None or theirs is None or ours == theirs:
        return []
    message = f"{copy.platform} says {field} {theirs!r}, {src.platform} (the system of record) says {ours!r}"
    return [AuditFinding(kind, "warn", key, copy.platform, field, str(theirs), str(ours), _display(copy), message)]


@dataclass(frozen=True)
class Matrix:
    """What `priority` reads of the config and the platform registry, worked out once per audit
    rather than once per incident."""

    anchors: tuple[str, ...]  # platforms whose specs carry impact and urgency, in registry order
    rated: tuple[str, ...]  # two-way platforms whose specs carry a priority
    cells: dict[tuple[Level, Level], Priority]  # impact x urgency -> the matrix's priority
    page_impact: dict[str, str]  # [publish.impact]: priority -> a page's impact
    pages: frozenset[str]  # the publish-only platforms

    @classmethod
    def of(cls, config: Config) -> Matrix:
        specs = platforms.specs()
        return cls(
            tuple(s.name for s in specs if {"impact", "urgency"} <= s.carries),
            tuple(s.name for s in specs if s.two_way and "priority" in s.carries),
            {(i, u): config.matrix.priority(i, u) for i in Level for u in Level},
            dict(config.settings.publish.impact),
            frozenset(s.name for s in specs if platforms.is_publish_only(s.name)),
        )


def priority(view: View, kept: dict[str, Copy], matrix: Matrix) -> list[AuditFinding]:
    """Each platform's priority against the matrix cell of the incident's impact x urgency (from
    the first platform whose spec carries them; `kept`: `View.kept`), which also settles two
    platforms' priorities: they differ only where one is off the matrix, and that one is named. A
    publish-only page's impact against the impact [publish.impact] gives that priority."""
    for name in matrix.anchors:
        anchor = kept.get(name)
        if anchor is not None:
            break
    else:
        return []
    inc = anchor.incident
    expected = matrix.cells[(inc.impact, inc.urgency)]
    out = []
    for platform in matrix.rated:
        for copy in view.copies.get(platform, ()):
            got = copy.incident.priority
            if got is None or got is expected:
                continue
            said = (
                f" ({anchor.platform} says {inc.priority.value})"
                if platform != anchor.platform and inc.priority
                else ""
            )
            cell = f"impact {int(inc.impact)} x urgency {int(inc.urgency)}"
            message = f"{platform} priority {got.value} but {anchor.platform}'s {cell} gives {expected.value}{said}"
            out.append(
                AuditFinding(
                    "priority_off_matrix",
                    "warn",
                    view.key,
                    platform,
                    "priority",
                    got.value,
                    expected.value,
                    _display(copy),
                    message,
                )
            )
    for platform, copies in view.copies.items():
        if platform not in matrix.pages:
            continue
        impact = matrix.page_impact.get(expected.value)
        for copy in copies:
            if not (copy.page_impact and impact and copy.page_impact != impact):
                continue
            message = f"the page shows impact {copy.page_impact!r}; priority {expected.value} gives {impact!r}"
            out.append(
                AuditFinding(
                    "page_impact_mismatch",
                    "warn",
                    view.key,
                    copy.platform,
                    "impact",
                    copy.page_impact,
                    impact,
                    _display(copy),
                    message,
                )
            )
    return out


def status(view: View, src: Copy | None, config: Config, now: datetime) -> list[AuditFinding]:
    """Open on one platform and finished (resolved, closed, canceled) on another; a page still
    open more than [audit] page_stale_minutes after the incident was resolved."""
    if src is None:
        return []
    inc = src.incident
    is_open = inc.state in OPEN_STATES
    out = []
    for platform, copies in view.copies.items():
        if platform == src.platform:
            continue
        for copy in copies:
            theirs = copy.incident
            if (theirs.state in OPEN_STATES) == is_open:
                continue
            page = platforms.is_publish_only(platform)
            if page and theirs.state in OPEN_STATES:
                out += _stale(view, src, copy, config, now)
                continue
            said = theirs.public_status.value if page and theirs.public_status else theirs.state.value
            message = f"{platform} has it {said}, {src.platform} has it {inc.state.value}"
            out.append(
                AuditFinding(
                    "status_disagree",
                    "warn",
                    view.key,
                    platform,
                    "state",
                    said,
                    inc.state.value,
                    _display(copy),
                    message,
                )
            )
    return out


def _stale(view: View, src: Copy, page: Copy, config: Config, now: datetime) -> list[AuditFinding]:
    inc = src.incident
    finished = inc.resolved or inc.closed or inc.updated
    limit = config.settings.audit.page_stale_minutes
    if finished is None or now - finished <= timedelta(minutes=limit):
        return []  # within the grace period the next sync resolves it
    minutes = int((now - finished).total_seconds() // 60)
    said = page.incident.public_status.value if page.incident.public_status else "open"
    message = (
        f"the page still says {said} {minutes} min after {src.platform} {inc.state.value} it (more than {limit} min)"
    )
    return [
        AuditFinding("page_stale", "warn", view.key, page.platform, "status", said, "resolved", _display(page), message)
    ]


def timeline(view: View, src: Copy | None, line: Timeline | None) -> list[AuditFinding]:
    """Times out of order on the system of record (opened <= acknowledged <= resolved <= closed):
    one finding per broken pair, and the incident gives no duration to the metrics."""
    if line is None or src is None or not line.broken:
        return []
    return [
        AuditFinding(
            "timeline_inconsistent",
            "warn",
            view.key,
            src.platform,
            b.later,
            b.later_at.isoformat(),
            f">= {b.earlier} {b.earlier_at.isoformat()}",
            _display(src),
            f"{src.platform}: {b.message()}",
        )
        for b in line.broken
    ]
