"""Findings per incident: each incident counted once, at its worst severity, with its records.

A record held back by the store has a `quarantined` finding beside the findings that blocked it
(`unmapped_category`, ...): two findings, one incident. Counts of incidents come from here; counts
of findings stay in the report's `by_severity` and `by_kind`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from itsm_bridge.model import RemoteRef
from itsm_bridge.reports import weblinks
from itsm_bridge.reports.collect import Snapshot
from itsm_bridge.reports.findings import AuditFinding, Severity

HELD = ("quarantined", "key_conflict")
"""Kinds that say the store holds the record back (the sync writes nothing of it)."""


@dataclass(frozen=True)
class Group:
    """One incident's findings."""

    key: str
    severity: Severity
    findings: tuple[AuditFinding, ...]

    @property
    def held(self) -> bool:
        return any(f.kind in HELD for f in self.findings)

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.findings})


def _worst(findings: list[AuditFinding]) -> Severity:
    return "block" if any(f.severity == "block" for f in findings) else "warn"


def group_key(finding: AuditFinding) -> str:
    """The incident a finding is about; a record with no key stands for itself."""
    return finding.key or f"{finding.platform}:{finding.ref}"


def groups(findings: Iterable[AuditFinding]) -> list[Group]:
    """Per incident, in key order."""
    by: dict[str, list[AuditFinding]] = {}
    for f in findings:
        by.setdefault(group_key(f), []).append(f)
    return [Group(key, _worst(fs), tuple(fs)) for key, fs in sorted(by.items())]


def tally(gs: list[Group]) -> dict[str, Any]:
    """Incidents with findings, by worst severity (each once), and how many are held back."""
    return {
        "incidents_with_findings": len(gs),
        "incidents_by_severity": {
            "block": sum(1 for g in gs if g.severity == "block"),
            "warn": sum(1 for g in gs if g.severity == "warn"),
        },
        "held_back": sum(1 for g in gs if g.held),
    }


def records(snap: Snapshot, keys: set[str], web: dict[str, str]) -> dict[str, dict[str, dict[str, str | None]]]:
    """Per key of `keys`, each platform's record (the linked one) with its web URL."""
    out: dict[str, dict[str, dict[str, str | None]]] = {}
    for key in sorted(keys):
        view = snap.views.get(key)
        if view is None:
            continue
        refs: dict[str, RemoteRef] = dict(view.links)
        for platform in view.copies:
            copy = view.copy(platform)
            if copy is not None:
                refs[platform] = copy.ref
        out[key] = {
            p: {"id": r.id, "ref": r.display or r.id, "url": weblinks.url(p, r, web)} for p, r in sorted(refs.items())
        }
    return out
