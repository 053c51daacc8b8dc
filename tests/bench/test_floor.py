"""bench/floor.py: the floor of a cycle from hand-built snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.floor import (  # noqa: E402
    JiraIssue,
    PageIncident,
    Snapshot,
    SnowIncident,
    amplification,
    cycle_floor,
    jira_writes,
    page_writes,
    path_length,
    read_pages,
    sandbox_rideable,
    sandbox_workflow,
    snow_writes,
    workflow_graph,
)

GRAPH, INITIAL = sandbox_workflow()
PAGES = {"servicenow": 1000, "jira": 100}
BRIDGE = "itsm.bridge"


def issue(status: str = "Open", fields: str = "f", comments: int = 0, updated: str = "t0") -> JiraIssue:
    return JiraIssue(status, fields, comments, updated)


def snow(n: int, version: int = 0, by: str = "admin", updated: str = "t0") -> dict[str, SnowIncident]:
    return {f"s{i}": SnowIncident(version, by, updated) for i in range(n)}


@pytest.mark.parametrize(
    ("start", "goal", "steps"),
    [
        ("Open", "Open", 0),
        ("Open", "Work in progress", 1),
        ("Open", "Pending", 2),
        ("Open", "Resolved", 2),
        ("Open", "Closed", 3),
        ("Open", "Canceled", 1),
        ("Pending", "Resolved", 2),  # Resume, then Resolve: Pending has no Resolve of its own
        ("Resolved", "Work in progress", 1),
        ("Closed", "Open", None),
    ],
)
def test_shortest_workflow_paths_of_the_sandbox_workflow(start: str, goal: str, steps: int | None) -> None:
    assert INITIAL == "Open"
    assert path_length(GRAPH, start, goal) == steps


def test_a_transition_without_sources_is_available_from_every_status() -> None:
    graph = workflow_graph([(["A"], "B"), ([], "X")], ["A", "B", "X"])
    assert path_length(graph, "B", "X") == 1
    assert path_length(graph, "X", "X") == 0
    assert path_length(graph, "B", "A") is None


@pytest.mark.parametrize(
    ("changed", "size", "pages"), [(0, 100, 1), (1, 100, 1), (100, 100, 1), (101, 100, 2), (10_000, 1000, 10)]
)
def test_read_pages_are_at_least_one(changed: int, size: int, pages: int) -> None:
    assert read_pages(changed, size) == pages


def test_new_issues_cost_one_bulk_call_per_fifty_and_their_first_transition_rides_the_create() -> None:
    after = {f"OPS-{i}": issue("Open") for i in range(50)}
    after |= {f"OPS-{i}": issue("Work in progress") for i in range(50, 70)}  # path 1: the create does it
    after |= {f"OPS-{i}": issue("Closed", comments=2) for i in range(70, 101)}  # path 3: two more calls
    out = jira_writes({}, after, GRAPH, INITIAL)
    assert out["jira_creates"] == 3  # 101 issues: 50 + 50 + 1
    assert out["jira_transitions"] == 31 * 2
    assert out["jira_comments"] == 31 * 2  # no create screen takes a comment: one call each
    assert out["jira_edits"] == 0


def test_a_new_issues_first_step_rides_its_create_only_where_that_transition_has_no_screen() -> None:
    after = {"OPS-1": issue("Work in progress"), "OPS-2": issue("Canceled"), "OPS-3": issue("Closed")}
    out = jira_writes({}, after, GRAPH, INITIAL, sandbox_rideable())
    assert sandbox_rideable() == {"Work in progress"}  # Cancel's screen takes the resolution
    assert out["jira_transitions"] == 0 + 1 + 2  # Canceled: its own call; Closed: Start work rides, then two


def test_existing_issues_cost_each_transition_comment_and_one_edit() -> None:
    before = {"OPS-1": issue("Open", "a", 1), "OPS-2": issue("Pending", "a", 0), "OPS-3": issue("Resolved", "a", 0)}
    after = {"OPS-1": issue("Open", "b", 3), "OPS-2": issue("Resolved", "a", 0), "OPS-3": issue("Resolved", "a", 0)}
    out = jira_writes(before, after, GRAPH, INITIAL)
    assert out == {"jira_creates": 0, "jira_transitions": 2, "jira_comments": 2, "jira_edits": 1, "jira_unreachable": 0}


def test_an_unreachable_status_is_counted_apart_not_as_a_write() -> None:
    out = jira_writes({"OPS-1": issue("Closed")}, {"OPS-1": issue("Open")}, GRAPH, INITIAL)
    assert (out["jira_transitions"], out["jira_unreachable"]) == (0, 1)


def test_page_incidents_cost_one_call_per_create_and_per_update() -> None:
    before = {
        "a": PageIncident("investigating", 1),
        "b": PageIncident("investigating", 1),
        "c": PageIncident("resolved", 2),
    }
    after = {
        **before,
        "a": PageIncident("resolved", 2),
        "b": PageIncident("identified", 1),
        "d": PageIncident("investigating", 1),
    }
    assert page_writes(before, after) == {"page_creates": 1, "page_updates": 2}


def test_servicenow_writes_are_the_incidents_the_bridge_changed() -> None:
    before = {"a": SnowIncident(1, "admin"), "b": SnowIncident(1, "admin"), "c": SnowIncident(2, BRIDGE)}
    after = {"a": SnowIncident(2, BRIDGE), "b": SnowIncident(2, "ana.lima"), "c": SnowIncident(2, BRIDGE)}
    assert snow_writes(before, after, BRIDGE) == {"snow_updates": 1}


def test_initial_cycle_floor_reads_every_new_record_and_writes_what_appeared() -> None:
    start = Snapshot(servicenow=snow(2500))
    end = Snapshot(
        servicenow=snow(2500),
        jira={f"OPS-{i}": issue("Resolved") for i in range(120)},
        statuspage={"p": PageIncident("investigating", 1)},
    )
    floor = cycle_floor(None, start, end, PAGES, BRIDGE, GRAPH, INITIAL)
    assert floor.reads == {"servicenow": 3 + 3, "jira": 1}  # three pages of incidents, three of their notes
    assert floor.writes == {"jira": 3 + 120, "statuspage": 1, "servicenow": 0}
    assert floor.total == 6 + 1 + 123 + 1
    assert floor.of("jira") == 124


def test_noop_floor_is_one_page_per_source_and_no_write() -> None:
    same = Snapshot(servicenow=snow(5000), jira={f"OPS-{i}": issue() for i in range(5000)})
    floor = cycle_floor(same, same, same, PAGES, BRIDGE, GRAPH, INITIAL)
    assert floor.reads == {"servicenow": 1, "jira": 1}
    assert sum(floor.writes.values()) == 0
    assert floor.total == 2


def test_changes_since_the_previous_cycle_are_what_a_read_must_page_through() -> None:
    previous = Snapshot(servicenow=snow(3000), jira={"OPS-1": issue(updated="t0")})
    start = Snapshot(
        servicenow={**snow(3000), **{f"s{i}": SnowIncident(1, "ana.lima", "t1") for i in range(1500)}},
        jira={"OPS-1": issue(updated="t1")},
    )
    floor = cycle_floor(previous, start, start, PAGES, BRIDGE, GRAPH, INITIAL)
    assert floor.detail["servicenow_changed"] == 1500
    assert floor.reads == {"servicenow": 2 + 2, "jira": 1}


def test_changed_servicenow_incidents_cost_a_notes_read_per_page_and_a_quiet_cycle_none() -> None:
    previous = Snapshot(servicenow=snow(50))
    start = Snapshot(servicenow={**snow(50), "s7": SnowIncident(1, "ana.lima", "t1")})
    floor = cycle_floor(previous, start, start, PAGES, BRIDGE, GRAPH, INITIAL)
    assert floor.detail["servicenow_notes_reads"] == 1
    assert floor.reads["servicenow"] == 1 + 1
    quiet = cycle_floor(start, start, start, PAGES, BRIDGE, GRAPH, INITIAL)
    assert quiet.detail["servicenow_notes_reads"] == 0 and quiet.reads["servicenow"] == 1


def test_amplification_is_none_without_a_floor() -> None:
    assert amplification(10, 0) is None
    assert amplification(21, 20) == 1.05


def test_one_user_lookup_per_assignee_met_for_the_first_time() -> None:
    first = {f"s{i}": SnowIncident(0, "admin", "t0", f"p{i % 3}@example.com") for i in range(9)}
    floor = cycle_floor(None, Snapshot(servicenow=first), Snapshot(servicenow=first), PAGES, BRIDGE, GRAPH, INITIAL)
    assert floor.detail["jira_user_lookups"] == 3 and floor.reads["jira"] == 1 + 3
    changed = {
        **first,
        "s0": SnowIncident(1, "admin", "t1", "p0@example.com"),
        "s9": SnowIncident(0, "a", "t1", "new@example.com"),
    }
    start = Snapshot(servicenow=changed)
    floor = cycle_floor(Snapshot(servicenow=first), start, start, PAGES, BRIDGE, GRAPH, INITIAL)
    assert floor.detail["jira_user_lookups"] == 1  # p0 is known from the first cycle; only the new person costs one
