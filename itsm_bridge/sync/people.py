"""People in the plan: a write that sets the assignee names a person (an e-mail address); the
target platform's account for it is found while planning (the people map, what earlier lookups
found, else one lookup), so the plan says when nobody there has it. Then the assignee is left as
it is on that platform, with a warning: never set to someone else, such as the integration user.
"""

from __future__ import annotations

from collections.abc import Mapping

from itsm_bridge.connectors.base import Connector, FindsPeople
from itsm_bridge.findings import Finding
from itsm_bridge.people import email_of
from itsm_bridge.sync.reconcile import Outcome

FIELD = "assignee"


def check_people(outcome: Outcome, connectors: Mapping[str, Connector]) -> None:
    """Warn about (and leave out of the writes) an assignee a target platform has no account for."""
    person = outcome.merged.assignee if outcome.merged is not None else None
    if not person:
        return
    for action in list(outcome.actions):
        sets_person = action.kind == "create" or (action.kind == "update" and FIELD in action.changes)
        if not sets_person:
            continue
        connector = connectors.get(action.platform)
        if connector is None or not isinstance(connector, FindsPeople) or connector.account_for(person) is not None:
            continue
        outcome.warnings.append(_unknown(outcome.key, action.platform, person))
        if action.kind == "update":
            action.changes.pop(FIELD)
            if not action.changes:
                outcome.actions.remove(action)


def _unknown(key: str, platform: str, person: str) -> Finding:
    if email_of(person) is not None:
        why = f"no {platform} user has the address {person}"
        fix = f"give the user that address, or add it with their {platform} id to [people.map]"
    else:
        origin, _, remote_id = person.partition(":")
        why = f"the {origin} user {remote_id} shows no e-mail address"
        fix = f"add their address with their {origin} and {platform} ids to [people.map]"
    return Finding(
        "people.unknown",
        platform,
        FIELD,
        "warn",
        f"{platform}: {why}, so the assignee is left as it is there; {fix}",
        key=key,
        value=person,
    )
