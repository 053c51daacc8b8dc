"""Required fields per lifecycle step, per platform and per assignment group.

Each platform's copy is checked against the rules for that platform ([[rules.required]] plus the
vendors' own), for every step its state has gone through (create; resolve; close), on the fields
that platform holds: Jira holds no assignment group, a status page no resolution notes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from itsm_bridge import platforms
from itsm_bridge.findings import Finding
from itsm_bridge.mapping.rules import RequiredRule, Step, check, steps_for
from itsm_bridge.model import SYNC_FIELDS, Incident, State
from itsm_bridge.reports.collect import Copy, View
from itsm_bridge.reports.findings import AuditFinding


class Plan:
    """What the required-field rules ask of a copy on one platform in one state: the steps a
    write of it goes through, and every field `check` reads for them there. One per (platform,
    state, major) in an audit, shared by every copy it fits; it counts those copies per
    assignment group (`walked`), so each copy costs one count and no key of its own."""

    __slots__ = ("platform", "steps", "needs", "read", "walked")

    def __init__(self, platform: str, steps: tuple[Step, ...], needs: tuple[str, ...]) -> None:
        self.platform, self.steps, self.needs = platform, steps, needs
        self.read = _reader(needs)  # the needs in one call: a getattr per field cost more
        self.walked: dict[str, int] = {}  # copies per assignment group

    def lacks(self, incident: Incident) -> bool:
        """Whether any field it needs is empty on `incident` (`rules.is_empty`)."""
        read = self.read
        if read is None:
            return False
        for value in read(incident):
            if value is None or (isinstance(value, str) and not value.strip()):  # is_empty, inline: per copy and field
                return True
        return False


def _reader(names: tuple[str, ...]) -> attrgetter[Any] | None:
    """One call that reads every field of `names` into a tuple (None: no names)."""
    if not names:
        return None
    # a single name twice: attrgetter of one name gives its value, not a 1-tuple
    return attrgetter(*names) if len(names) > 1 else attrgetter(names[0], names[0])


@dataclass
class Completeness:
    """Per (platform, assignment group, step): copies checked and copies missing a field."""

    plans: list[Plan] = field(default_factory=list)  # each counts the copies it fits per group
    incomplete: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    @property
    def checked(self) -> Counter[tuple[str, str, str]]:
        """Copies checked per (platform, group, step), from each plan's count per group."""
        out: Counter[tuple[str, str, str]] = Counter()
        for plan in self.plans:
            for group, n in plan.walked.items():
                for step in plan.steps:
                    out[(plan.platform, group, step)] += n
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
    through and which fields they need on its platform is worked out once per audit (a `Plan`):
    a copy that has them all costs one look at each, and one missing any is checked as the sync
    checks it (`rules.check`)."""

    def __init__(self, rules: tuple[RequiredRule, ...], tally: Completeness) -> None:
        self.rules = rules
        self.tally = tally
        self._plans: dict[tuple[str, State, bool], Plan] = {}

    def plan(self, incident: Incident, platform: str) -> Plan:
        """The plan for a write of `incident` on `platform`: its steps, and the fields `check`
        reads for them (of those the platform holds)."""
        key = (platform, incident.state, bool(incident.major))
        found = self._plans.get(key)
        if found is None:
            steps, holds = tuple(steps_for(incident, creating=True)), _holds(platform)
            rules = [r for r in self.rules if r.step in steps and r.applies(r.step, platform)]
            rules = [r for r in rules if key[2] or not r.major_only]
            needs = tuple(dict.fromkeys(n for r in rules for n in r.fields if n in holds))
            found = self._plans[key] = Plan(platform, steps, needs)
            self.tally.plans.append(found)
        return found

    def missing(self, incident: Incident, platform: str, step: Step) -> list[Finding]:
        """`check`'s findings on the fields `platform` holds."""
        holds = _holds(platform)
        return [f for f in check(incident, step, platform, self.rules) if f.field in holds]


def _holds(platform: str) -> frozenset[str]:
    """The fields `platform` holds: a rule on a field it does not hold cannot be met there."""
    spec = platforms.get(platform)
    return spec.carries if spec is not None else frozenset(SYNC_FIELDS)


def required(
    view: View,
    kept: dict[str, Copy],
    canonical: Incident | None,
    rules: Required,
    already: Collection[tuple[str, str]],
) -> list[AuditFinding]:
    """Missing required fields of each platform's copy (`kept`: `View.kept`; `canonical`: the
    incident as its system of record says, whose assignment group the copies are tallied under);
    a field already reported as unmapped or uncategorized on that platform (`already`:
    (platform, field)) is not reported again."""
    group = (canonical.assignment_group if canonical else None) or "(none)"
    out = []
    for platform, copy in kept.items():
        plan = rules.plan(copy.incident, platform)
        walked = plan.walked
        walked[group] = walked.get(group, 0) + 1
        if not plan.lacks(copy.incident):
            continue
        for step in plan.steps:
            missing = rules.missing(copy.incident, platform, step)
            if missing:
                rules.tally.incomplete[(platform, group, step)] += 1
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
