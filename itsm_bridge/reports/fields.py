"""Required fields per lifecycle step, per platform and per assignment group.

Each platform's copy is checked against the rules for that platform ([[rules.required]] plus the
vendors' own), for every step its state has gone through (create; resolve; close), on the fields
that platform holds: Jira holds no assignment group, a status page no resolution notes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from itsm_bridge import platforms
from itsm_bridge.mapping.rules import check, steps_for
from itsm_bridge.model import SYNC_FIELDS
from itsm_bridge.reports.collect import Snapshot, View
from itsm_bridge.reports.findings import AuditFinding

if TYPE_CHECKING:
    from itsm_bridge.config import Config


@dataclass
class Completeness:
    """Per (platform, assignment group, step): copies checked and copies missing a field."""

    checked: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    incomplete: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "platform": p,
                "assignment_group": g,
                "step": s,
                "checked": n,
                "incomplete": self.incomplete[(p, g, s)],
                "complete_pct": round(100.0 * (n - self.incomplete[(p, g, s)]) / n, 1),
            }
            for (p, g, s), n in sorted(self.checked.items())
        ]


def required(
    view: View, snap: Snapshot, config: Config, tally: Completeness, already: set[tuple[str, str]]
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
        spec = platforms.get(platform)  # a rule on a field the platform does not hold cannot be met there
        holds = spec.carries if spec is not None else frozenset(SYNC_FIELDS)
        for step in steps_for(copy.incident, creating=True):
            missing = [f for f in check(copy.incident, step, platform, config.rules) if f.field in holds]
            tally.checked[(platform, group, step)] += 1
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
