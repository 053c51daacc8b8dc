"""A person's edit that lands while serve is writing the same incident is synced, not taken for
serve's own. After an edit, the edit's answer (returnIssue) stands in for the read-back; after a
transition, the read-back comes later, and is taken as ours only for the fields the transition
set (`sync.readback`), so what the person did meanwhile is a change the next read sees."""

from __future__ import annotations

import time
from collections.abc import Callable

from itsm_bridge.sandbox.faults import FaultProfile
from tests.integration.test_sync import jira_issue_for
from tests.serve.conftest import jira_body, sign_jira, sign_servicenow, snow_body


def edited_during_a_write(
    serve, bridge, change: dict, written: Callable[[dict], bool], edit: Callable[[str], None]
) -> dict:
    """`change` made on ServiceNow and hinted to serve; as soon as serve's Jira write shows
    (`written(issue)`), a person's `edit(issue key)`, while serve's next Jira request still waits
    in the sandbox; then serve's job for the person's webhook and a full sync. ServiceNow's
    incident at the end."""
    sandbox = bridge.sandbox
    record = sorted(sandbox.servicenow.incidents(), key=lambda i: i["number"])[0]
    issue = jira_issue_for(sandbox, record["number"])
    sandbox.jira.faults.set_profile(FaultProfile(latency_ms=500))  # each Jira request waits before it is handled
    sandbox.servicenow.update_incident(record["sys_id"], change)
    body = snow_body(sandbox.servicenow.incident(record["sys_id"]))
    assert serve.post("servicenow", body, sign_servicenow(body)).status_code == 202
    deadline = time.monotonic() + 30
    while not written(jira_issue_for(sandbox, record["number"])):
        assert time.monotonic() < deadline, serve.stderr()
        time.sleep(0.005)
    # A version is Jira's `updated`, in milliseconds: an edit in the very millisecond of ours would
    # carry our write's version and read as "as we left it". A person is slower than that; the
    # wait stays far inside the 500 ms before serve's next request is handled.
    time.sleep(0.01)
    edit(issue["key"])  # before serve's next request (a read-back) is handled
    sandbox.jira.faults.set_profile(FaultProfile())
    serve.wait_idle(jobs=1)
    hint = jira_body({"id": issue["id"], "key": issue["key"], "fields": {}})
    assert serve.post("jira", hint, sign_jira(hint)).status_code == 202
    serve.wait_idle(jobs=2)
    assert bridge.sync_json()[0] == 0
    return sandbox.servicenow.incident(record["sys_id"])


def test_a_jira_edit_between_a_write_and_its_read_back_still_reaches_servicenow(serve, bridge):
    incident = edited_during_a_write(
        serve,
        bridge,
        {"short_description": "Edited on ServiceNow"},
        lambda issue: issue["fields"]["summary"] == "Edited on ServiceNow",
        lambda key: bridge.sandbox.jira.transition_to(key, "Resolved", resolution="Done"),
    )
    assert incident["state"] == "6"


def test_a_jira_edit_between_a_transition_and_its_read_back_still_reaches_servicenow(serve, bridge):
    incident = edited_during_a_write(
        serve,
        bridge,
        {"state": "3", "hold_reason": "1"},
        lambda issue: issue["fields"]["status"]["name"] == "Pending",
        lambda key: bridge.sandbox.jira.edit_issue(key, {"summary": "Edited by a person"}),
    )
    assert incident["short_description"] == "Edited by a person"
