"""Required fields per lifecycle step, per platform and per assignment group.

Each platform's copy is checked against the rules for that platform ([[rules.required]] plus the
vendors' own), for every step its state has gone through (create; resolve; close), on the fields
that platform holds: Jira holds no assignment group, a status page no resolution notes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from itsm_bridge import platforms
from itsm_bridge.findings import Finding
from itsm_bridge.mapping.rules import RequiredRule, Step, check, steps_for
from itsm_bridge.model import SYNC_FIELDS, Incident, State
from itsm_bridge.reports.collect import Snapshot, View
from itsm_bridge.reports.findings import AuditFinding


@dataclass
class Completeness:
    """Per (platform, assignment group, step): copies checked and copies missing a field."""

    walked: Counter[tuple[str, str, tuple[Step, ...]]] = field(default_factory=Counter)  # copies per steps gone through
    incomplete: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    @property
    def checked(self) -> Counter[tuple[str, str, str]]:
        """Copies checked per (platform, group, step): counted per steps walked, one count per copy
        rather than one per copy and step."""
        out: Counter[tuple[str, str, str]] = Counter()
        for (platform, group, steps), n in self.walked.items():
            for step in steps:
                out[(platform, group, step)] += n
        return out

    def rows(self) -> list[dict[str, Any]]:
        checked = self.checked
        return [
            {
                "platform": p,
                "assignment_group": g,
                "step": s,
                "checked": n,
                "incomplete": self.incomplete[(p, g, s)],
                "complete_pct": round(100.0 * (n - self.incomplete[(p, g, s)]) / n, 1),
            }
            for (p, g, s), n in sorted(checked.items())
        ]


class Required:
    """The required-field rules as the audit asks them of every copy. Which steps a copy goes
    through and which fields they need on its platform is worked out once per audit: a copy that
    has them all costs one look at each, and one missing any is checked as the sync checks it
    (`rules.check`)."""

    def __init__(self, rules: tuple[RequiredRule, ...]) -> None:
        self.rules = rules
        self._plans: dict[tuple[str, State, bool], tuple[tuple[Step, ...], tuple[str, ...]]] = {}

    def plan(self, incident: Incident, platform: str) -> tuple[tuple[Step, ...], tuple[str, ...]]:
        """The steps a write of `incident` goes through, and every field `check` reads for them
        on `platform` (of those the platform holds)."""
        key = (platform, incident.state, bool(incident.major))
        found = self._plans.get(key)
        if found is None:
            steps, holds = tuple(steps_for(incident, creating=True)), _holds(platform)
            rules = [r for r in self.rules if r.step in steps and r.applies(r.step, platform)]
            rules = [r for r in rules if key[2] or not r.major_only]
            found = self._plans[key] = (steps, tuple(dict.fromkeys(n for r in rules for n in r.fields if n in holds)))
        return found

    def missing(self, incident: Incident, platform: str, step: Step) -> list[Finding]:
        """`check`'s findings on the fields `platform` holds."""
        holds = _holds(platform)
        return [f for f in check(incident, step, platform, self.rules) if f.field in holds]


def _lacks(incident: Incident, fields: tuple[str, ...]) -> bool:
    """Whether any of `fields` is empty (`rules.is_empty`)."""
    for name in fields:
        value = getattr(incident, name, None)
        if value is None or (isinstance(value, str) and not value.strip()):  # is_empty, inline: per copy and field
            return True
    return False


def _holds(platform: str) -> frozenset[str]:
    """The fields `platform` holds: a rule on a field it does not hold cannot be met there."""
    spec = platforms.get(platform)
    return spec.carries if spec is not None else frozenset(SYNC_FIELDS)


def required(
    view: View, snap: Snapshot, rules: Required, tally: Completeness, already: Collection[tuple[str, str]]
) -> list[AuditFinding]:
    """Missing required fields of every copy; a field already reported as unmapped or
    uncategorized on that platform (`already`: (platform, field)) is not reported again."""
    canonical = view.canonical(snap.source)
    group = (canonical.assignment_group if canonical else None) or "(none)"
    out = []
    for platform in view.copies:
        copy = view.copy(platform)
        if copy is None:
            continue
        steps, needs = rules.plan(copy.incident, platform)
        tally.walked[(platform, group, steps)] += 1
        if not _lacks(copy.incident, needs):
            continue
        for step in steps:
            missing = rules.missing(copy.incident, platform, step)
            if missing:
                tally.incomplete[(platform, group, step)] += 1
            for f in missing:
                if (platform, f.field) in already:
                    continue
                out.append(
                    AuditFinding(
                        "required_missing",
                        f.severity,
                        view.key,
                        platform,
                        f.field,
                        "",
                        step,
                        copy.ref.display or copy.ref.id,
                        f.message,
                    )
                )
    return out
