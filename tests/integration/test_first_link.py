"""A first link: the system of record's values stand, unless `[sync.owners]` names the field's owner.

A resolved ServiceNow incident meets a Jira issue that already carries its key, still open. With
the default owners the first sync keeps ServiceNow resolved and resolves Jira; the choice is shown
by `plan` and journaled. An owner the configuration names itself still decides.
"""

from __future__ import annotations

import json

from itsm_bridge.correlation import label_for
from tests.integration.test_sync import add_incident, settle

RESOLVED = {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "Queue drained."}


def resolved_incident_with_an_open_jira_issue(bridge):
    """A resolved incident, and a Jira issue made by hand earlier that carries its key, in progress."""
    record = add_incident(bridge.sandbox, **RESOLVED)
    issue = bridge.sandbox.jira.create_issue(
        {"summary": "Mail delivery delayed for Zürich office", "labels": [label_for(record["number"])]}
    )
    bridge.sandbox.jira.transition_to(issue, "Work in progress")
    settle(bridge)
    return record, issue


def jira_status(bridge, issue):
    return bridge.sandbox.jira.issue(issue)["fields"]["status"]["name"]


def test_a_first_link_keeps_the_resolved_incident_and_resolves_the_jira_issue(bridge):
    record, issue = resolved_incident_with_an_open_jira_issue(bridge)
    key = record["number"]

    planned = bridge.run("--json", "plan")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["first_links"] == [
        {"key": key, "source": "servicenow", "fields": ["description", "state"], "rule": "first_link"}
    ]
    state = [c for c in plan["conflicts"] if c["field"] == "state"]
    assert [(c["winner"], c["rule"]) for c in state] == [("servicenow", "first_link")]
    moves = [(a["platform"], a["kind"], a["changes"]) for a in plan["actions"] if a["kind"] == "transition"]
    assert moves == [("jira", "transition", {"state": ["in_progress", "resolved"]})]
    text = bridge.run("plan").stdout
    section = text[text.index(key) :].split("\n\n")[0]
    assert "  ~ first link: servicenow's value kept for description, state (the system of record wins" in section
    assert bridge.writes() == []

    code, summary = bridge.sync_json()
    assert code == 0, summary
    assert bridge.sandbox.servicenow.incident(record["sys_id"])["state"] == "6"
    assert jira_status(bridge, issue) == "Resolved"
    journal = json.loads(bridge.run("--json", "journal", "show", "--key", key).stdout)
    kept = [e["payload"] for e in journal if e["kind"] == "first_link"]
    assert kept == [{"key": key, "source": "servicenow", "fields": ["description", "state"], "rule": "first_link"}]


def test_an_owner_named_in_the_config_still_wins_on_a_first_link(bridge):
    text = bridge.config_path.read_text()
    bridge.config_path.write_text(text + '\n[sync.owners]\nstate = "jira"\n')
    record, issue = resolved_incident_with_an_open_jira_issue(bridge)

    plan = json.loads(bridge.run("--json", "plan").stdout)
    assert [(f["key"], f["fields"]) for f in plan["first_links"]] == [(record["number"], ["description"])]
    state = [c for c in plan["conflicts"] if c["field"] == "state"]
    assert [(c["winner"], c["rule"]) for c in state] == [("jira", "owner")]

    bridge.sync_json()
    assert bridge.sandbox.servicenow.incident(record["sys_id"])["state"] != "6"
    assert jira_status(bridge, issue) == "Work in progress"
