"""Invariant 5: one human edit causes exactly the expected writes, then quiet cycles write 0 -
also where a platform cannot hold the value exactly (two ServiceNow close codes share Jira's
"Done"), which is what the per-side shadows in sync/merge.py are for."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.reliability.edits import jira_key
from tests.reliability.schedule import Result, World, sync_once

RESOLVE = {"state": "6", "close_code": "Solved (Work Around)", "close_notes": "Restarted the relay."}


def writes(world: World) -> Counter[str]:
    """Write requests so far, per platform (the call log is per platform, not one timeline)."""
    from tests.reliability.schedule import READ_POSTS

    calls = world.sandbox.calls()
    return Counter(c.platform for c in calls if c.method in ("POST", "PUT", "PATCH") and c.path not in READ_POSTS)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("title", {"jira": 1}),
        ("lossy resolve", {"jira": 1}),
    ],
)
def test_one_edit_writes_exactly_what_it_should_then_quiet_cycles_write_nothing(
    world: World, edit: str, expected: dict[str, int]
) -> None:
    result = Result(world.schedule)
    sys_id = world.incidents[2]
    world.sandbox.servicenow.update_incident(sys_id, {"impact": "3", "urgency": "3"})  # P5: Jira only, no page
    assert sync_once(world, result)
    world.wait_search_lag()
    assert sync_once(world, result)
    before = writes(world)
    fields = {"short_description": "Mail relay down (all offices)"} if edit == "title" else RESOLVE
    world.sandbox.servicenow.update_incident(sys_id, fields)
    assert sync_once(world, result)
    assert dict(writes(world) - before) == expected
    number = world.sandbox.servicenow.incident(sys_id)["number"]
    assert world.sandbox.jira.issue(jira_key(world.sandbox, number) or "")["fields"]["summary"]
    for _ in range(2):
        world.wait_search_lag()
        quiet = writes(world)
        assert sync_once(world, result)
        assert writes(world) == quiet, f"echo: {dict(writes(world) - quiet)}"
