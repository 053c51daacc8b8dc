"""What the state store tells connectors before a cycle, so they spend no call finding it out.

- Facts: what earlier runs learned of a platform (the account's time zone, the workflow),
  kept in the store between runs; a quiet cycle then costs one read page per source.
- People: the users earlier lookups found by e-mail address, trusted for their time to live.
- States: a record not read this cycle is taken to be in the state it showed when last synced,
  so a transition need not read it first (a wrong guess is refused and read afresh).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from itsm_bridge.connectors.base import Connector, FindsPeople, LearnsFacts, TakesStateHints
from itsm_bridge.model import State
from itsm_bridge.store.base import StateStore

log = logging.getLogger("itsm_bridge.sync")


def restore_facts(store: StateStore, connectors: Mapping[str, Connector]) -> None:
    """Start each connector from what earlier runs learned; facts that cannot be read back
    (written by another version, or damaged) are dropped and learned again, never fatal."""
    for platform, connector in connectors.items():
        if isinstance(connector, FindsPeople):
            connector.restore_people(store.people(platform))
        if not isinstance(connector, LearnsFacts):
            continue
        try:
            saved = store.facts(platform)
            if saved is not None:
                connector.restore(saved.values)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning(
                "%s: the facts kept by an earlier run are unreadable (%s: %s); learning them again",
                platform,
                type(exc).__name__,
                exc,
            )
            connector.restore({})
            store.forget_facts(platform)


def keep_facts(store: StateStore, connectors: Mapping[str, Connector]) -> None:
    for platform, connector in connectors.items():
        if isinstance(connector, LearnsFacts):
            store.put_facts(platform, connector.facts())
        if isinstance(connector, FindsPeople):
            store.put_people(connector.people_found())


def hint_states(
    store: StateStore,
    connectors: Mapping[str, Connector],
    key: str,
    shown: Mapping[str, Mapping[str, Any]],
    read: Mapping[str, Any],
) -> None:
    """`shown`: each platform's side of the shadow; `read`: the platforms read this cycle."""
    links = {r.platform: r for r in store.links(key)} if shown else {}
    for platform, ref in links.items():
        state = shown.get(platform, {}).get("state")
        connector = connectors.get(platform)
        if connector is not None and state and platform not in read and isinstance(connector, TakesStateHints):
            connector.assume_state(ref.id, State(state))
