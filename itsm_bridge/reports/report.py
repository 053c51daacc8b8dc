"""A Report: every finding, the category distribution, completeness and metrics of one audit.

`build` runs the checks and metrics over a Snapshot; `Report.to_dict` is the JSON document
every renderer starts from (its schema is in the README, "Audit reports").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from itsm_bridge import platforms
from itsm_bridge.collector import gc_paused
from itsm_bridge.reports import checks, communication, links, trends, weblinks
from itsm_bridge.reports import incidents as per_incident
from itsm_bridge.reports.assignment import assignment, assignment_fields
from itsm_bridge.reports.baseline import Baseline, Comparison, compare
from itsm_bridge.reports.collect import Snapshot
from itsm_bridge.reports.fields import Completeness, Required, required
from itsm_bridge.reports.findings import FIELDS, KINDS, AuditFinding, Severity, in_order, reaches
from itsm_bridge.reports.metrics import of_timelines
from itsm_bridge.reports.timeline import Timeline, timeline

if TYPE_CHECKING:
    from itsm_bridge.config import Config

_NONE: frozenset[Any] = frozenset()  # what a view without findings has reported (one, not a set per view)
SCHEMA = "itsm-bridge/audit/2"
"""audit/2 adds to audit/1 (whose keys all stay): `records`, `baseline`, `metrics.weekly`,
`summary.incidents_with_findings`, `summary.incidents_by_severity`, `summary.held_back`, and with a
baseline a `change` on each finding (README, "Audit reports")."""


@dataclass
class Report:
    generated_at: datetime
    since: datetime | None
    origin: str
    source: str
    targets: list[str]
    findings: list[AuditFinding]
    categories: dict[str, dict[str, int]]
    completeness: list[dict[str, Any]]
    metrics: dict[str, Any]
    read: dict[str, int] = field(default_factory=dict)
    foreign: dict[str, int] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)
    incidents: int = 0
    records: dict[str, dict[str, dict[str, str | None]]] = field(default_factory=dict)
    baseline: Comparison | None = None

    @property
    def clean(self) -> bool:
        return not self.findings

    def reaches(self, fail_on: Severity) -> bool:
        return reaches(self.findings, fail_on)

    def by_kind(self) -> dict[str, int]:
        counts = Counter(f.kind for f in self.findings)
        return {k: counts[k] for k in KINDS if counts[k]}

    def against(self, previous: Baseline) -> Report:
        """This report compared with a previous audit's (new, fixed, still open findings)."""
        self.baseline = compare(self.findings, previous)
        return self

    def change(self, finding: AuditFinding) -> str | None:
        """`new` or `still_open` against the baseline; None without one."""
        return self.baseline.change(finding) if self.baseline else None

    @cached_property
    def groups(self) -> list[per_incident.Group]:
        """The findings per incident, each incident once (the findings do not change after build)."""
        return per_incident.groups(self.findings)

    def finding_dict(self, finding: AuditFinding) -> dict[str, Any]:
        out = {k: getattr(finding, k) for k in FIELDS}  # as finding.to_dict(), without asdict's deep copy
        if self.baseline is not None:
            out["change"] = self.baseline.change(finding)
        return out

    def to_dict(self) -> dict[str, Any]:
        severities = Counter(f.severity for f in self.findings)
        return {
            "schema": SCHEMA,
            "generated_at": self.generated_at.isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "origin": self.origin,
            "flow": {"source": self.source, "targets": self.targets},
            "summary": {
                "incidents": self.incidents,
                "records": self.read,
                "records_without_key": self.foreign,
                "api_calls": self.api_calls,
                "findings": len(self.findings),
                "by_severity": {"block": severities["block"], "warn": severities["warn"]},
                "by_kind": self.by_kind(),
                "clean": self.clean,
                **per_incident.tally(self.groups),
            },
            "findings": [self.finding_dict(f) for f in self.findings],
            "records": self.records,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "categories": self.categories,
            "completeness": self.completeness,
            "metrics": self.metrics,
        }


def build(snap: Snapshot, config: Config, now: datetime, since: datetime | None = None) -> Report:
    """Run every check and metric over `snap`."""
    with gc_paused():
        return _build(snap, config, now, since)


def _build(snap: Snapshot, config: Config, now: datetime, since: datetime | None) -> Report:
    findings: list[AuditFinding] = []
    tally = Completeness()
    held = {q.key for q in snap.quarantined if q.key}
    # a platform that carries no category (a status page) has no distribution to compare
    distribution: dict[str, Counter[str]] = {
        s.name: Counter()
        for s in platforms.specs()
        if "category" in s.carries and s.name in (snap.source, *snap.targets)
    }
    lines: list[Timeline] = []
    measured: list[communication.Posts] = []
    matrix, rules = checks.Matrix.of(config), Required(config.rules, tally)
    owner_field = communication.owner_field(config, snap.source)
    carried = assignment_fields()
    for view in snap.views.values():
        kept = view.kept()
        src = kept.get(snap.source)
        canonical = src.incident if src is not None else view.canonical(snap.source)
        line = timeline(src.incident, src.history) if src is not None else view.timeline(snap.source)
        if line is not None:
            lines.append(line)
        # a check whose finding needs what the view lacks (a broken link, a timeline out of
        # order, a major incident, a published one) is not called: calls that find nothing were
        # most of the audit's time
        mine = checks.mapping_gaps(view) + checks.categorization(view, src)
        if line is not None and line.broken:
            mine += checks.timeline(view, src, line)
        already = {(f.platform, f.field) for f in mine} if mine else _NONE
        mine += checks.priority(view, kept, matrix) + checks.status(view, src, config, now)
        mine += assignment(view, src, carried) + required(view, kept, canonical, rules, already)
        mine += links.duplicates(view) + links.unlinked(view, src, kept, snap, config, held)
        if view.broken:
            mine += links.broken(view)
        posts = communication.measure(view, kept, canonical, config, now, matrix.pages)
        if posts is not None:
            measured.append(posts)
            mine += communication.breach(posts)
        if src is not None and src.incident.major:
            mine += communication.owner_missing(view, src, owner_field)
        findings += mine
        unmapped = {f.platform for f in mine if f.kind == "unmapped_category"} if mine else _NONE
        for platform, copy in kept.items():
            counts = distribution.get(platform)
            if counts is not None:
                counts["(unmapped)" if platform in unmapped else copy.incident.category or "(none)"] += 1
    findings += links.quarantine(snap) + checks.key_conflicts(snap)
    audit = config.settings.audit
    metrics = of_timelines(lines, audit.sla.minutes(), audit.recurrence_days, now)
    metrics["weekly"] = trends.weekly(lines, audit.sla.minutes())
    metrics["communication"] = communication.summary(measured)
    return Report(
        generated_at=now,
        since=since,
        origin=snap.origin,
        source=snap.source,
        targets=snap.targets,
        findings=in_order(findings),
        categories={p: dict(sorted(c.items())) for p, c in distribution.items()},
        completeness=tally.rows(),
        metrics=metrics,
        read=dict(snap.read),
        foreign=dict(snap.foreign),
        api_calls=dict(snap.api_calls),
        incidents=len(snap.views),
        records=_records(snap, findings, config),
    )


def _records(snap: Snapshot, findings: list[AuditFinding], config: Config) -> dict[str, Any]:
    return per_incident.records(snap, {f.key for f in findings if f.key}, weblinks.bases(config))
