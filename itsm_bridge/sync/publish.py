"""Whether a cycle should touch the status page for one incident.

The page is a one-way target: it is told the merged incident when something public changed
(or it has never been told), and the connector's `publish` decides create, update or resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from itsm_bridge.config import Config
from itsm_bridge.mapping.publish import should_publish
from itsm_bridge.sync.plan import Action
from itsm_bridge.sync.reconcile import Outcome

PUBLIC_FIELDS = ("title", "state", "public_status", "public_message", "service", "priority", "major")


@runtime_checkable
class ShowsOpenKeys(Protocol):
    """A page that can tell which keys its unresolved incidents carry."""

    def open_keys(self) -> set[str]: ...


def plan_publish(
    outcome: Outcome,
    shadow: Mapping[str, Any] | None,
    link: dict[str, str] | None,
    config: Config,
    platform: str,
    open_keys: Callable[[], set[str]] | None = None,
) -> None:
    """Plan the publish action of `outcome` on the publish-only `platform`, if it has one to do.

    `open_keys`, when the page can tell, gives the keys its unresolved incidents carry: a resolved
    incident never published is planned only if one of them carries its key, as `publish` then
    resolves it and otherwise skips it (a planned publish that does nothing would miscount)."""
    merged = outcome.merged
    if merged is None:
        return
    if link is None:
        if not should_publish(merged, config):
            return
        if shadow is not None and not merged.state.is_open:
            return  # resolved and never published: any page incident carrying its key was settled at first contact
        if not merged.state.is_open and open_keys is not None and merged.key not in open_keys():
            return  # resolved, and nothing open on the page carries its key: nothing to resolve
        if merged.state.is_open:
            rule = "matches [publish]: new on the page"
        else:  # a page incident published before we knew it (found by its key) must not stay open
            rule = "matches [publish], resolved: resolve any page incident carrying its key"
        data = merged.to_dict()
        shown = PUBLIC_FIELDS if merged.state.is_open else ("state",)  # a new page incident: all it shows
        changes: dict[str, list[Any]] = {f: [None, data[f]] for f in shown if data.get(f) not in (None, "", False)}
    else:
        data = merged.to_dict()
        before = shadow or {}
        changes = {f: [before.get(f), data.get(f)] for f in PUBLIC_FIELDS if before.get(f) != data.get(f)}
        if not changes:
            return
        rule = "public fields changed: " + ", ".join(changes)
    outcome.actions.append(Action("publish", platform, outcome.key, changes, rule=rule, ref=link))
