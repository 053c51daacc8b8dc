"""The audit's read of Jira history: one changelog bulkfetch per 1000 issues, paged by token."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import responses

from itsm_bridge.history import ASSIGNEE, STATE, Change
from tests.connectors.jira.test_jira_responses import API, fake, issue, jira  # noqa: F401

BULK = f"{API}/changelog/bulkfetch"


def status(at: str, old: str, new: str) -> dict:
    item = {"field": "status", "fieldId": "status", "fromString": old, "toString": new}
    return {"id": "1", "created": at, "items": [item]}


@responses.activate
def test_history_asks_for_status_and_assignee_changes_and_follows_the_token(jira):
    first = {
        "issueChangeLogs": [
            {
                "issueId": "10001",
                "changeHistories": [status("2024-05-01T09:10:00.000+0000", "Open", "Work in progress")],
            }
        ],
        "nextPageToken": "t2",
    }
    assign = {"field": "assignee", "fieldId": "assignee", "from": None, "to": "acc-1", "toString": "Ana"}
    second = {
        "issueChangeLogs": [
            {
                "issueId": "10001",
                "changeHistories": [
                    status("2024-05-01T10:00:00.000+0000", "Work in progress", "Resolved"),
                    status("2024-05-01T11:00:00.000+0000", "Resolved", "Work in progress"),
                    {"id": "4", "created": "2024-05-01T09:05:00.000+0000", "items": [assign]},
                ],
            }
        ]
    }
    responses.post(BULK, json=first)
    responses.post(BULK, json=second)
    found = jira.history([jira.record(issue(1))])
    bodies = [json.loads(c.request.body) for c in responses.calls]
    assert bodies[0] == {"issueIdsOrKeys": ["10001"], "fieldIds": ["status", "assignee"], "maxResults": 1000}
    assert bodies[1]["nextPageToken"] == "t2"
    h = found["10001"]
    assert h.read and h.reopens == 1 and h.reassignments is None
    assert Change(STATE, "new", "in_progress", datetime(2024, 5, 1, 9, 10, tzinfo=UTC)) in h.changes
    assert Change(ASSIGNEE, "", "acc-1", datetime(2024, 5, 1, 9, 5, tzinfo=UTC)) in h.changes
