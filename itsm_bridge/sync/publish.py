"""Whether a cycle should touch the status page for one incident.

The page is a one-way target: it is told the merged incident when something public changed
(or it has never been told), and the connector's `publish` decides create, update or resolve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from itsm_bridge.config import Config
from itsm_bridge.mapping.publish import should_publish
from itsm_bridge.sync.plan import Action
from itsm_bridge.sync.reconcile import Outcome

PUBLIC_FIELDS = ("title", "state", "public_status", "public_message", "service", "priority", "major")


def plan_publish(
    outcome: Outcome, shadow: Mapping[str, Any] | None, link: dict[str, str] | None, config: Config, platform: str
) -> None:
    """Plan the publish action of `outcome` on the publish-only `platform`, if it has one to do."""
    merged = outcome.merged
    if merged is None:
        return
    if link is None:
        if not should_publish(merged, config):
            return
        if shadow is not None and not merged.state.is_open:
            return  # resolved and never published: any page incident carrying its key was settled at first contact
        if merged.state.is_open:
            rule = "matches [publish]: new on the page"
        else:  # a page incident published before we knew it (found by its key) must not stay open
            rule = "matches [publish], resolved: resolve any page incident carrying its key"
        changes: dict[str, list[Any]] = {"state": [None, merged.state.value]}
    else:
        data = merged.to_dict()
        before = shadow or {}
        changes = {f: [before.get(f), data.get(f)] for f in PUBLIC_FIELDS if before.get(f) != data.get(f)}
        if not changes:
            return
        rule = "public fields changed: " + ", ".join(changes)
    outcome.actions.append(Action("publish", platform, outcome.key, changes, rule=rule, ref=link))
