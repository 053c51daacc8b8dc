"""Scheduled public updates: an open, published incident that has had no public update within its
cadence (`[communication.cadence]`) gets one, planned like every other write.

The time of the last public update is the page's own: the newest entry of the page incident's
public timeline, read with the page's unresolved incidents (once per run, kept up to date by our
sends). So an update a person posts on the page by hand counts too, and nothing depends on what a
process remembers. `now` is the engine's clock, so a test can move time.

A due update is a `publish` action (its rule `communication cadence P1 30 min`, its change
`next_update_at`), shown by `plan`, counted in its "Plan: ..." line, saved with it, and applied by
the one applier: the page connector renders `communication.update_template`, the leak guard and
the page's update interval apply as to every publish.

Keys changed this cycle are checked as they are planned (`plan_scheduled_update`); the others
whose page incident is open are found by `due_keys` and planned from their shadow.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol, runtime_checkable

from itsm_bridge.config import Config
from itsm_bridge.mapping.communication import cadence_for, update_due
from itsm_bridge.model import Incident
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.plan import Action
from itsm_bridge.sync.reconcile import Outcome

NEXT_UPDATE = "next_update_at"
"""The change a scheduled update carries: [None, ISO time the next update is due]."""


@runtime_checkable
class ShowsPublicUpdates(Protocol):
    """A page that can tell when each of its unresolved incidents last had a public update."""

    def last_public_updates(self) -> dict[str, datetime]: ...


def scheduling(config: Config) -> bool:
    """Whether any cadence is configured (otherwise nothing is read or planned for it)."""
    return bool(config.settings.communication.cadence.minutes())


def plan_scheduled_update(
    outcome: Outcome,
    link: dict[str, str] | None,
    config: Config,
    platform: str,
    page: ShowsPublicUpdates,
    now: datetime,
) -> None:
    """Add a scheduled update to `outcome` when its incident, open on the page at `link`, has had
    no public update within its cadence. A publish already planned for the key is an update."""
    merged = outcome.merged
    cadence_settings = config.settings.communication.cadence
    if merged is None or link is None or not merged.state.is_open:
        return
    if cadence_for(merged, cadence_settings) is None:
        return  # no page read for an incident that has no cadence
    if any(a.kind == "publish" and a.platform == platform for a in outcome.actions):
        return
    last = page.last_public_updates().get(link["id"])
    cadence = update_due(merged, cadence_settings, last, now) if last is not None else None
    if last is None or cadence is None:
        return
    silent = int((now - last).total_seconds() // 60)
    outcome.actions.append(
        Action(
            "publish",
            platform,
            outcome.key,
            {NEXT_UPDATE: [None, (now + cadence.every).isoformat()]},
            rule=f"{cadence.rule}: no public update for {silent} min",
            ref=link,
        )
    )


def due_keys(
    store: StateStore,
    config: Config,
    platform: str,
    page: ShowsPublicUpdates,
    now: datetime,
    skip: set[str],
) -> Iterator[str]:
    """The keys not in `skip` whose page incident is open and, as last synced (the shadow), owe
    the public an update by now."""
    cadence_settings = config.settings.communication.cadence
    for record_id, last in page.last_public_updates().items():
        key = store.key_for(platform, record_id)
        if key is None or key in skip:
            continue
        shadow = store.shadow(key)
        if shadow is None:
            continue
        incident = Incident.from_dict({**shadow.merged, "key": key})
        if update_due(incident, cadence_settings, last, now) is not None:
            yield key


def next_update_at(action: Action) -> datetime | None:
    """The time a scheduled update names as the next one; None for any other publish."""
    change = action.changes.get(NEXT_UPDATE)
    return datetime.fromisoformat(change[1]) if change and change[1] else None
