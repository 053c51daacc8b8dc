"""Invariant 8: a failing item does not stop the others, and nothing that succeeded is created again.

- Poison records through the CLI: one incident that always fails validation (an unmapped category:
  quarantined before any write), one whose Jira create Jira always refuses (400 with `errors`,
  also as a failed element if it comes in an `issue/bulk`: quarantined with Jira's reason, tried
  again by `retry`), and later one whose edit Jira refuses. Every other incident is created once;
  the run exits 1; reruns create nothing again, and other records' later edits still flow.
- Jira bulk create over the sandbox: a refused element is reported at its index while the rest are
  created, and a bulk answer that is lost is looked up item by item, not sent again.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from itsm_bridge.config import load
from itsm_bridge.connectors.base import NewIssue
from itsm_bridge.connectors.jira import JiraConnector
from itsm_bridge.correlation import label_for
from itsm_bridge.errors import RemoteValidation
from itsm_bridge.sandbox.core import Request, Response
from tests.reliability import edits
from tests.reliability.edits import jira_key
from tests.reliability.schedule import Schedule, World, environment

ROOT = Path(__file__).resolve().parents[2]
POISON = "POISON"
REFUSAL = {"customfield_10050": "Option value 'Poisoned' is not valid"}
EDIT = re.compile(r"/rest/api/3/issue/[^/]+$")


def refuse_poison(world: World) -> None:
    """Jira refuses, every time, to create or edit an issue whose fields mention POISON: alone or
    inside a bulk."""
    platform = world.sandbox.jira
    dispatch = platform.dispatch

    def hooked(req: Request) -> Response:
        single = (req.method == "POST" and req.path.endswith("/issue")) or (
            req.method == "PUT" and EDIT.search(req.path)
        )
        if single and POISON in req.body.decode():
            return Response(400, {"errorMessages": [], "errors": REFUSAL})
        if req.method == "POST" and req.path.endswith("/issue/bulk") and POISON in req.body.decode():
            return _bulk_without_poison(dispatch, req)
        return dispatch(req)

    platform.dispatch = hooked  # type: ignore[method-assign]


def _bulk_without_poison(dispatch: Callable[[Request], Response], req: Request) -> Response:
    updates = json.loads(req.body)["issueUpdates"]
    healthy = [(n, u) for n, u in enumerate(updates) if POISON not in json.dumps(u)]
    resp = dispatch(replace(req, body=json.dumps({"issueUpdates": [u for _, u in healthy]}).encode()))
    answer = resp.body if isinstance(resp.body, dict) else {"issues": [], "errors": []}
    errors = [{**e, "failedElementNumber": healthy[e["failedElementNumber"]][0]} for e in answer.get("errors") or []]
    errors += [
        {"status": 400, "failedElementNumber": n, "elementErrors": {"errorMessages": [], "errors": REFUSAL}}
        for n, u in enumerate(updates)
        if POISON in json.dumps(u)
    ]
    return Response(
        201, {"issues": answer.get("issues") or [], "errors": sorted(errors, key=lambda e: e["failedElementNumber"])}
    )


@pytest.fixture
def poisoned(tmp_path: Path) -> Iterator[tuple[World, list[str], dict[str, str]]]:
    schedule = Schedule.from_seed(5).clean()
    schedule = replace(schedule.variant("UTC", {p: timedelta(0) for p in schedule.skew}), search_lag_s=0.1)
    world = World(tmp_path, schedule)
    try:
        with environment(world.env):
            healthy = edits.seed_incidents(world.sandbox, random.Random(5), 12)
            snow = world.sandbox.servicenow
            poison = {
                "validation": snow.insert_incident(
                    {
                        "short_description": "Unmapped category",
                        "category": "not-a-category",
                        "impact": "3",
                        "urgency": "3",
                        "state": "2",
                    }
                )["sys_id"],
                "write": snow.insert_incident(
                    {
                        "short_description": f"{POISON}: Jira refuses this one",
                        "category": "software",
                        "impact": "1",
                        "urgency": "1",
                        "state": "2",
                    }
                )["sys_id"],
            }
            world.incidents = healthy + list(poison.values())
            refuse_poison(world)
            yield world, healthy, poison
    finally:
        world.close()


def cli_sync(world: World, command: str = "sync") -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", "--config", str(world.config_path), "--json", command],
        env={**os.environ, **world.env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, json.loads(done.stdout)


def creates(world: World, since: int = 0) -> list[str]:
    """Bodies of Jira create calls (single or bulk) after the first `since` calls."""
    return [
        c.body
        for c in world.sandbox.calls("jira")[since:]
        if c.method == "POST" and c.path.endswith(("/issue", "/issue/bulk"))
    ]


def test_poison_records_do_not_stop_the_others_and_reruns_create_nothing_twice(poisoned) -> None:
    world, healthy, poison = poisoned
    sb = world.sandbox
    code, summary = cli_sync(world)
    assert code == 1, summary
    assert summary["quarantined"] == 2 and summary["failed"] == 0, summary  # the unmapped one, the one Jira refuses
    numbers = {sys_id: sb.servicenow.incident(sys_id)["number"] for sys_id in world.incidents}
    for sys_id in healthy:
        assert jira_key(sb, numbers[sys_id]) is not None, f"{numbers[sys_id]} was held up by a poison record"
    assert jira_key(sb, numbers[poison["validation"]]) is None and jira_key(sb, numbers[poison["write"]]) is None
    world.wait_search_lag()
    sb.servicenow.update_incident(healthy[0], {"short_description": f"{POISON}: an edit Jira refuses"})
    sb.servicenow.update_incident(healthy[-1], {"short_description": "Edited after the poison"})
    for _ in range(2):
        calls = len(sb.calls("jira"))
        code, summary = cli_sync(world)
        assert code == 1, summary
        failing = sorted(e["key"] for e in summary.get("errors", []))  # a whole run's summary, not an abort
        assert failing == [numbers[healthy[0]]], summary
        assert creates(world, calls) == [], "a record that succeeded, or one held in quarantine, was created again"
        world.wait_search_lag()
    calls = len(sb.calls("jira"))
    code, summary = cli_sync(world, "retry")  # after a mapping fix: the quarantined records are tried again
    assert code == 1 and summary["quarantined"] == 2, summary
    again = creates(world, calls)
    assert again and all(POISON in body for body in again), "a record that succeeded was created again"
    issues = sb.jira.issues()
    for sys_id in healthy:
        mine = [i for i in issues if label_for(numbers[sys_id]) in i["fields"].get("labels", [])]
        assert len(mine) == 1, f"{numbers[sys_id]}: {len(mine)} Jira issues"
    assert len(issues) == len(healthy)
    assert sb.jira.issue(jira_key(sb, numbers[healthy[-1]]) or "")["fields"]["summary"] == "Edited after the poison"
    assert any(c.method == "PUT" and c.status == 400 for c in sb.calls("jira")), "the poisoned edit was never tried"


# --- Jira bulk create, at the connector
@pytest.fixture
def jira(world: World) -> JiraConnector:
    return JiraConnector(load(world.config_path))


def items(n: int, poison: set[int]) -> list[NewIssue]:
    return [NewIssue({"summary": f"{POISON} bulk {i}" if i in poison else f"bulk {i}"}, f"BULK-{i}") for i in range(n)]


def test_a_refused_bulk_item_is_reported_at_its_index_while_the_others_are_created(
    world: World, jira: JiraConnector
) -> None:
    refuse_poison(world)
    results = jira.create_many(items(60, {7, 55}))
    refused = [i for i, r in enumerate(results) if isinstance(r, RemoteValidation)]
    assert refused == [7, 55]
    labels = [label for issue in world.sandbox.jira.issues() for label in issue["fields"]["labels"] if "BULK" in label]
    assert sorted(labels) == sorted(label_for(f"BULK-{i}") for i in range(60) if i not in (7, 55))


def test_a_bulk_whose_answer_is_lost_is_looked_up_item_by_item_not_sent_again(
    world: World, jira: JiraConnector
) -> None:
    world.sandbox.jira.faults.inject("drop_after_commit", count=1, method="POST", path=r"/issue/bulk$")
    results = jira.create_many(items(5, set()))
    assert all(not isinstance(r, Exception) for r in results)
    labels = [label for issue in world.sandbox.jira.issues() for label in issue["fields"]["labels"] if "BULK" in label]
    assert sorted(labels) == sorted(label_for(f"BULK-{i}") for i in range(5))
    bulk = [c for c in world.sandbox.calls("jira") if c.method == "POST" and c.path.endswith("/issue/bulk")]
    assert len(bulk) == 1, "a bulk whose answer was lost was sent again"
