"""A person's edit that lands while serve is writing the same incident is synced, not taken for
serve's own: an edit's answer (returnIssue) stands in for the read-back, so what the person did
after it is a change the next read sees."""

from __future__ import annotations

import time

from itsm_bridge.sandbox.faults import FaultProfile
from tests.integration.test_sync import jira_issue_for
from tests.serve.conftest import jira_body, sign_jira, sign_servicenow, snow_body


def test_a_jira_edit_between_a_write_and_its_read_back_still_reaches_servicenow(serve, bridge):
    sandbox = bridge.sandbox
    record = sorted(sandbox.servicenow.incidents(), key=lambda i: i["number"])[0]
    issue = jira_issue_for(sandbox, record["number"])
    sandbox.jira.faults.set_profile(FaultProfile(latency_ms=500))  # each Jira request waits before it is handled
    sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Edited on ServiceNow"})
    body = snow_body(sandbox.servicenow.incident(record["sys_id"]))
    assert serve.post("servicenow", body, sign_servicenow(body)).status_code == 202
    deadline = time.monotonic() + 30
    while jira_issue_for(sandbox, record["number"])["fields"]["summary"] != "Edited on ServiceNow":
        assert time.monotonic() < deadline, "serve did not write the summary"
        time.sleep(0.005)
    sandbox.jira.transition_to(issue["key"], "Resolved", resolution="Done")  # before serve's read-back is handled
    sandbox.jira.faults.set_profile(FaultProfile())
    serve.wait_idle(jobs=1)
    hint = jira_body({"id": issue["id"], "key": issue["key"], "fields": {}})
    assert serve.post("jira", hint, sign_jira(hint)).status_code == 202
    serve.wait_idle(jobs=2)
    assert bridge.sync_json()[0] == 0
    assert sandbox.servicenow.incident(record["sys_id"])["state"] == "6"
