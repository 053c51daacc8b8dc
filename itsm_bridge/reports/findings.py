"""What an audit finds, as data: one `AuditFinding` per inconsistency, of a fixed set of kinds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from operator import attrgetter
from typing import Any, Literal

Severity = Literal["block", "warn"]

KINDS: dict[str, str] = {
    "unmapped_category": "a category or subcategory value maps to no canonical category",
    "unmapped_service": "a service (CI, Jira value, page component) maps to no canonical service",
    "unmapped_value": "another value (state, priority, resolution code) maps to nothing",
    "uncategorized": "the system of record gives the incident no category at all",
    "category_mismatch": "two platforms state different categories or subcategories",
    "service_mismatch": "two platforms state different services",
    "group_mismatch": "two platforms state different assignment groups",
    "assignee_mismatch": "two platforms state different assignees (people compared by e-mail address)",
    "priority_off_matrix": "a platform's priority is not what the matrix gives for the incident's impact x urgency",
    "page_impact_mismatch": "the status page's impact is not what [publish.impact] gives for the priority",
    "status_disagree": "one platform has the incident open, another has it finished",
    "page_stale": "the status page still shows the incident open N minutes after it was resolved",
    "required_missing": "a field a lifecycle step requires on a platform is empty there",
    "duplicate": "two records on one platform carry one correlation key",
    "key_conflict": "the sync refused a record carrying a key another record of its platform holds (linked first)",
    "unlinked": "a record a flow should have linked (the sync has read past it) is not linked",
    "link_broken": "the store links a record the platform no longer has",
    "quarantined": "the store holds the record back because of blocking findings",
    "cadence_breach": "a published incident went longer without a public update than [communication.cadence] allows",
    "communication_owner_missing": "a major incident names no communication owner",
    "timeline_inconsistent": "the incident's times are out of order (opened <= acknowledged <= resolved <= closed): "
    "no MTTA, MTTR or MTTD is taken from it",
}
"""Every kind of finding, with what it means (the README and the HTML legend show this)."""

FIELDS: tuple[str, ...] = ("kind", "severity", "key", "platform", "field", "value", "expected", "ref", "message")
"""The columns of a finding, in the order JSON objects and CSV rows give them."""

SEVERITY_RANK = {"warn": 1, "block": 2}


@dataclass(frozen=True, order=True)
class AuditFinding:
    """One inconsistency about one incident (key) on one platform."""

    kind: str
    severity: Severity
    key: str
    platform: str
    field: str = ""
    value: str = ""  # what the platform says
    expected: str = ""  # what it should say, when the audit knows
    ref: str = ""  # the record as people name it: INC0010001, OPS-12, a page incident id
    message: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def in_order(findings: Iterable[AuditFinding]) -> list[AuditFinding]:
    """Findings without repeats, in one order whatever order they came in (every field is in the
    sort key: two findings of one record and field, say a field missing at resolve and at close,
    must not swap places from one run to the next)."""
    return sorted(set(findings), key=_ORDER)


_FIRST = ("key", "kind", "platform", "field", "ref")  # record and field first, as reports group them
_ORDER = attrgetter(*_FIRST, *(name for name in FIELDS if name not in _FIRST))  # then every other field, once


def reaches(findings: list[AuditFinding], fail_on: Severity) -> bool:
    """Whether any finding is at least as severe as `fail_on` (warn: any finding at all)."""
    floor = SEVERITY_RANK[fail_on]
    return any(SEVERITY_RANK[f.severity] >= floor for f in findings)
