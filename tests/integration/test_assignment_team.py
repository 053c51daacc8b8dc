"""The assignment group in Jira's Atlassian Team field, through the CLI against the sandbox: the
taxonomy's Jira value is the team id, writes send it as a string, reads take the team object's
`id` (https://developer.atlassian.com/platform/teams/components/team-field-in-jira-rest-api/)."""

from __future__ import annotations

import json

import pytest

from itsm_bridge.sandbox.jira.schema import GROUP_FIELD, TEAM_FIELD, team_id
from itsm_bridge.sandbox.vocabulary import MAPPED_GROUPS
from tests.integration.test_assignment import assigned, synced_after_jira_edit
from tests.integration.test_sync import jira_issue_for, settle


@pytest.fixture
def team_bridge(bridge):
    """The bridge with `jira.group_field` on the Team field and each group mapped to its team id."""
    bridge.sandbox.jira.config.use_team_field()
    text = bridge.config_path.read_text().replace(f'group_field = "{GROUP_FIELD}"', f'group_field = "{TEAM_FIELD}"')
    for group in MAPPED_GROUPS:
        old = f'servicenow = "{group}"\njira = "{group}"'
        assert old in text, group
        text = text.replace(old, f'servicenow = "{group}"\njira = "{team_id(group)}"')
    bridge.config_path.write_text(text)
    return bridge


def test_a_group_set_in_servicenow_lands_in_the_jira_team_field_as_the_team_id(team_bridge):
    record = assigned(team_bridge, "Network Operations", None)
    code, summary = team_bridge.sync_json()
    assert code == 0, summary
    fields = jira_issue_for(team_bridge.sandbox, record["number"])["fields"]
    assert fields[TEAM_FIELD]["id"] == team_id("Network Operations")
    assert fields[TEAM_FIELD]["name"] == "Network Operations"
    assert fields.get(GROUP_FIELD) is None

    settle(team_bridge)  # the team read back is the group written: nothing echoes
    team_bridge.sandbox.clear_calls()
    assert team_bridge.sync_json()[0] == 0
    assert team_bridge.writes() == []

    messaging = team_bridge.sandbox.servicenow.add_reference("sys_user_group", "Messaging")
    team_bridge.sandbox.servicenow.update_incident(record["sys_id"], {"assignment_group": messaging})
    team_bridge.sandbox.clear_calls()
    code, summary = team_bridge.sync_json()
    assert code == 0, summary
    # the field's kind is kept with the run's facts: a later run asks createmeta nothing
    assert not [c for c in team_bridge.sandbox.calls("jira") if "createmeta" in c.path]
    edits = [c for c in team_bridge.writes() if c.method == "PUT" and c.path.startswith("/rest/api/3/issue/")]
    assert [json.loads(c.body)["fields"][TEAM_FIELD] for c in edits] == [team_id("Messaging")]
    fields = jira_issue_for(team_bridge.sandbox, record["number"])["fields"]
    assert fields[TEAM_FIELD]["id"] == team_id("Messaging")


def test_a_team_changed_in_jira_reaches_servicenow_as_the_group(team_bridge):
    record = assigned(team_bridge, "Network Operations", None)
    messaging = team_bridge.sandbox.servicenow.add_reference("sys_user_group", "Messaging")
    code, summary = synced_after_jira_edit(team_bridge, record, {TEAM_FIELD: team_id("Messaging")})
    assert code == 0, json.dumps(summary)
    assert team_bridge.sandbox.servicenow.incident(record["sys_id"])["assignment_group"] == messaging


def test_doctor_finds_the_team_field_on_the_screens_without_listing_teams(team_bridge):
    assigned(team_bridge, "Messaging", None)
    assert team_bridge.sync_json()[0] == 0
    report = json.loads(team_bridge.run("--json", "doctor").stdout)
    checks = [(c["ok"], c["detail"]) for c in report["checks"] if c["check"] == "group field"]
    assert checks == [(True, f"Team ({TEAM_FIELD}) is on the create and edit screens")]
