"""Planning one key: what each side says, reconciled against the shadow, into a `KeyPlan`.

The planner reads the store (shadow, links) and writes nothing. A batch of key plans is either
shown (a dry run: `show` puts it in the `Plan`) or applied (`sync.applier.Applier`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from itsm_bridge.config import Config
from itsm_bridge.connectors.base import Connector
from itsm_bridge.findings import Finding
from itsm_bridge.model import Incident
from itsm_bridge.platforms import is_publish_only
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.cadence import ShowsPublicUpdates, plan_scheduled_update, scheduling
from itsm_bridge.sync.people import check_people
from itsm_bridge.sync.plan import Action, Plan
from itsm_bridge.sync.publish import ShowsOpenKeys, plan_publish
from itsm_bridge.sync.reconcile import FIRST_LINK, Outcome, Side, reconcile

if TYPE_CHECKING:
    from itsm_bridge.sync.apply import Applied


@dataclass
class KeyPlan:
    """One key's planned cycle: one merged incident, the actions that align the platforms with
    it, what blocks it, and what was read (for the shadow and the cursors)."""

    key: str
    outcome: Outcome
    sides: dict[str, Side] = field(default_factory=dict)  # each platform read this cycle
    versions: dict[str, str] = field(default_factory=dict)  # each platform's version in the shadow
    shown: dict[str, dict[str, Any]] = field(default_factory=dict)  # each platform as last synced
    warnings: list[Finding] = field(default_factory=list)  # non-blocking findings from reading
    earlier: Applied | None = None  # a recreate's later pass: what the earlier passes wrote
    recreated: tuple[str, ...] = ()  # platforms whose gone records this key created again

    @property
    def merged(self) -> Incident | None:
        return self.outcome.merged

    @property
    def actions(self) -> list[Action]:
        return self.outcome.actions


class Planner:
    """Reconciles one key at a time; reads the store, never writes it."""

    def __init__(
        self,
        config: Config,
        store: StateStore,
        connectors: Mapping[str, Connector],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self.connectors = connectors
        self.sync = config.settings.sync
        self.now = now  # the engine's clock: when a scheduled public update is due

    def plan_key(self, key: str, sides: dict[str, Side], findings: list[Finding]) -> KeyPlan:
        """`sides`: what each platform read this cycle says; `findings`: the source's, from mapping."""
        shadow = self.store.shadow(key)
        linked = {r.platform: {"platform": r.platform, "id": r.id, "display": r.display} for r in self.store.links(key)}
        blocking = [f.for_key(key) for f in findings if f.blocking]
        outcome = Outcome(key)
        if not blocking:
            outcome = reconcile(
                key,
                shadow,
                sides,
                linked,
                source=self.sync.source,
                targets=self.sync.targets,
                owners=self.sync.owners,
                matrix=self.config.matrix,
                rules=self.config.rules,
                versions=shadow.versions if shadow else None,
                explicit_owners=explicit_owners(self.config),
            )
            check_people(outcome, self.connectors)
            for target in self.sync.targets:
                if outcome.merged is not None and is_publish_only(target) and target in self.connectors:
                    page = self.connectors[target]
                    open_keys = page.open_keys if isinstance(page, ShowsOpenKeys) else None
                    plan_publish(
                        outcome, shadow.merged if shadow else None, linked.get(target), self.config, target, open_keys
                    )
                    if isinstance(page, ShowsPublicUpdates) and scheduling(self.config):
                        plan_scheduled_update(outcome, linked.get(target), self.config, target, page, self.now())
        else:
            outcome.blocked[self.sync.source] = blocking
        warnings = [f.for_key(key) for f in findings if not f.blocking]
        return KeyPlan(key, outcome, sides, shadow.versions if shadow else {}, shadow.sides if shadow else {}, warnings)


def explicit_owners(config: Config) -> dict[str, str]:
    """The `[sync.owners]` the configuration names itself; none when it keeps the defaults (a
    table written in the file replaces the defaults whole)."""
    sync = config.settings.sync
    return dict(sync.owners) if "owners" in sync.model_fields_set else {}


def first_link_entry(plan: KeyPlan) -> dict[str, Any] | None:
    """The fields whose source value stood because the key was linked for the first time, as
    journaled (a real run) or shown (a dry run); None when the source kept nothing that way."""
    kept = plan.outcome.first_link_kept
    if not kept:
        return None
    source = next(c.winner for c in plan.outcome.conflicts if c.rule == FIRST_LINK)
    return {"key": plan.key, "source": source, "fields": list(kept), "rule": FIRST_LINK}


def conflict_entries(plan: KeyPlan) -> list[dict[str, Any]]:
    """The key's settled field conflicts, as journaled (a real run) or shown (a dry run)."""
    return [
        {"key": plan.key, "field": c.field, "values": c.values, "winner": c.winner, "rule": c.rule}
        for c in plan.outcome.conflicts
    ]


def show(plan: Plan, key_plan: KeyPlan) -> None:
    """A dry run: put one key's plan in the `Plan` the command prints (nothing is written)."""
    key = key_plan.key
    plan.conflicts += conflict_entries(key_plan)
    first_link = first_link_entry(key_plan)
    if first_link is not None:
        plan.first_links.append(first_link)
    plan.warnings += [f.to_dict() for f in key_plan.warnings]
    plan.warnings += [f.for_key(key).to_dict() for f in key_plan.outcome.warnings]
    for platform, platform_findings in key_plan.outcome.blocked.items():
        plan.block(key, platform, platform_findings)
    plan.add(key_plan.merged, key_plan.actions)
