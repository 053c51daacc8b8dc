"""A Report: every finding, the category distribution, completeness and metrics of one audit.

`build` runs the checks and metrics over a Snapshot; `Report.to_dict` is the JSON document
every renderer starts from (its schema is in the README, "Audit reports").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itsm_bridge import platforms
from itsm_bridge.reports import checks, links
from itsm_bridge.reports.assignment import assignment
from itsm_bridge.reports.collect import Snapshot
from itsm_bridge.reports.fields import Completeness, required
from itsm_bridge.reports.findings import KINDS, AuditFinding, Severity, reaches
from itsm_bridge.reports.metrics import compute

if TYPE_CHECKING:
    from itsm_bridge.config import Config

SCHEMA = "itsm-bridge/audit/1"


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

    @property
    def clean(self) -> bool:
        return not self.findings

    def reaches(self, fail_on: Severity) -> bool:
        return reaches(self.findings, fail_on)

    def by_kind(self) -> dict[str, int]:
        counts = Counter(f.kind for f in self.findings)
        return {k: counts[k] for k in KINDS if counts[k]}

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
            },
            "findings": [f.to_dict() for f in self.findings],
            "categories": self.categories,
            "completeness": self.completeness,
            "metrics": self.metrics,
        }


def build(snap: Snapshot, config: Config, now: datetime, since: datetime | None = None) -> Report:
    """Run every check and metric over `snap`."""
    import gc

    gc.disable()  # as in collect.store_snapshot: many long-lived objects, no cycles worth a pass
    try:
        return _build(snap, config, now, since)
    finally:
        gc.enable()


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
    for view in snap.views.values():
        mine = checks.mapping_gaps(view) + checks.categorization(view, snap)
        already = {(f.platform, f.field) for f in mine}
        mine += checks.priority(view, snap, config) + checks.status(view, snap, config, now)
        mine += assignment(view, snap) + required(view, snap, config, tally, already)
        mine += links.duplicates(view) + links.broken(view) + links.unlinked(view, snap, config, held)
        findings += mine
        unmapped = {f.platform for f in mine if f.kind == "unmapped_category"}
        for platform in view.copies:
            copy = view.copy(platform)
            if copy is not None and platform in distribution:
                name = "(unmapped)" if platform in unmapped else copy.incident.category or "(none)"
                distribution[platform][name] += 1
    findings += links.quarantine(snap) + checks.key_conflicts(snap)
    audit = config.settings.audit
    incidents = [i for v in snap.views.values() if (i := v.canonical(snap.source)) is not None]
    metrics = compute(incidents, audit.sla.minutes(), audit.recurrence_days, now)
    return Report(
        generated_at=now,
        since=since,
        origin=snap.origin,
        source=snap.source,
        targets=snap.targets,
        findings=sorted(set(findings), key=lambda f: (f.key, f.kind, f.platform, f.field, f.ref)),
        categories={p: dict(sorted(c.items())) for p, c in distribution.items()},
        completeness=tally.rows(),
        metrics=metrics,
        read=dict(snap.read),
        foreign=dict(snap.foreign),
        api_calls=dict(snap.api_calls),
        incidents=len(snap.views),
    )
