"""An edit's answer stands in for the read-back: Jira's `PUT issue?returnIssue=true` shows the issue
as the edit left it, so a cycle whose Jira writes are edits reads nothing back, and the shadow it
keeps is right (the next cycles find nothing to write)."""

from __future__ import annotations

import re
from collections import Counter

from tests.integration.test_sync import add_incident, jira_issue_for, settle


def shapes(bridge) -> Counter[str]:
    return Counter(re.sub(r"/\d+", "/N", f"{c.method} {c.path}") for c in bridge.sandbox.calls("jira"))


def test_a_cycle_of_jira_edits_reads_nothing_back_and_leaves_a_true_shadow(bridge):
    record = add_incident(bridge.sandbox, impact="3")
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    assert bridge.sync_json()[0] == 0  # reads back what the first one wrote
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Mail queue drained slowly"})
    bridge.sandbox.clear_calls()
    code, summary = bridge.sync_json()
    assert code == 0 and summary["updated"] == 1, summary
    assert shapes(bridge) == {"POST /rest/api/N/search/jql": 1, "PUT /rest/api/N/issue/N": 1}  # no bulkfetch
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["summary"] == "Mail queue drained slowly"
    writes = len(bridge.writes())
    for _ in range(2):  # Jira shows our edit to the next reads: not a change, nothing to write back
        settle(bridge)
        code, again = bridge.sync_json()
        assert code == 0 and again["updated"] == again["transitioned"] == again["commented"] == 0, again
    assert len(bridge.writes()) == writes
