"""Assignment both ways, through the CLI against the sandbox: groups by the taxonomy, people by
e-mail address (ServiceNow `sys_user.email`, Jira's user search), the people map for accounts
that hide their address, and the unmapped-group policy."""

from __future__ import annotations

import json

from itsm_bridge.sandbox.jira.schema import GROUP_FIELD, account_id
from tests.integration.test_sync import add_incident, jira_issue_for, settle

ANA = "Ana Lima"  # her Jira profile shows her address
ZOE = "Zoë O'Neil"  # her Jira profile hides it (sandbox.people.HIDDEN_IN_JIRA)


def assigned(bridge, group: str, person: str | None, **fields):
    snow = bridge.sandbox.servicenow
    refs = {"assignment_group": snow.add_reference("sys_user_group", group)}
    if person is not None:
        refs["assigned_to"] = snow.add_reference("sys_user", person)
    return add_incident(bridge.sandbox, **refs, **fields)


def user_searches(bridge) -> list[str]:
    return [c.query for c in bridge.sandbox.calls() if c.path == "/rest/api/3/user/search"]


def synced_after_jira_edit(bridge, record, fields):
    """Sync `record` to Jira, edit its issue there with `fields`, and sync again: (exit, summary)."""
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    settle(bridge)
    bridge.sandbox.jira.edit_issue(issue["key"], fields)
    settle(bridge)
    return bridge.sync_json()


def test_a_group_and_an_assignee_set_in_servicenow_appear_in_jira(bridge):
    first = assigned(bridge, "Network Operations", ANA)
    second = assigned(bridge, "Payments SRE", ANA)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    for record, group in ((first, "Network Operations"), (second, "Payments SRE")):
        f = jira_issue_for(bridge.sandbox, record["number"])["fields"]
        assert f[GROUP_FIELD]["value"] == group
        assert f["assignee"]["accountId"] == account_id(ANA)
    assert len(user_searches(bridge)) == 1  # one lookup for the one person, however many incidents

    bridge.sandbox.clear_calls()
    assert bridge.sync_json()[0] == 0  # a quiet cycle: the lookup is kept in the state store
    third = assigned(bridge, "Messaging", ANA)
    assert bridge.sync_json()[0] == 0
    assert jira_issue_for(bridge.sandbox, third["number"])["fields"]["assignee"]["accountId"] == account_id(ANA)
    assert user_searches(bridge) == []


def test_a_jira_engineer_taking_the_issue_appears_as_assigned_to_in_servicenow(bridge):
    record = assigned(bridge, "Network Operations", None)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    assert issue["fields"]["assignee"] is None
    settle(bridge)

    bridge.sandbox.jira.edit_issue(issue["key"], {"assignee": {"accountId": account_id("Chloé Durand")}})
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    snow = bridge.sandbox.servicenow
    assert snow.incident(record["sys_id"])["assigned_to"] == snow.add_reference("sys_user", "Chloé Durand")
    assert snow.incident(record["sys_id"])["assignment_group"] == snow.add_reference(
        "sys_user_group", "Network Operations"
    )

    settle(bridge)
    bridge.sandbox.clear_calls()
    assert bridge.sync_json()[0] == 0
    assert bridge.writes() == []  # the carried assignee does not echo back


def test_a_reassignment_in_jira_to_another_group_reaches_servicenow(bridge):
    record = assigned(bridge, "Network Operations", ANA)
    messaging = bridge.sandbox.servicenow.add_reference("sys_user_group", "Messaging")
    code, summary = synced_after_jira_edit(bridge, record, {GROUP_FIELD: {"value": "Messaging"}})
    assert code == 0, json.dumps(summary)
    snow = bridge.sandbox.servicenow
    assert snow.incident(record["sys_id"])["assignment_group"] == messaging


def test_a_person_with_a_hidden_email_is_matched_through_the_people_map(bridge):
    text = bridge.config_path.read_text()
    bridge.config_path.write_text(text + f'\n[people.map."zoe.oneil@example.com"]\njira = "{account_id(ZOE)}"\n')
    record = assigned(bridge, "Messaging", ZOE)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    assert issue["fields"]["assignee"]["accountId"] == account_id(ZOE)
    assert user_searches(bridge) == []  # the map says who she is: no lookup

    other = assigned(bridge, "Messaging", None)
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    other_issue = jira_issue_for(bridge.sandbox, other["number"])
    bridge.sandbox.jira.edit_issue(other_issue["key"], {"assignee": {"accountId": account_id(ZOE)}})
    settle(bridge)
    assert bridge.sync_json()[0] == 0
    snow = bridge.sandbox.servicenow
    assert snow.incident(other["sys_id"])["assigned_to"] == snow.add_reference("sys_user", ZOE)


def test_a_person_with_a_hidden_email_and_no_map_entry_is_a_warning_and_left_unset(bridge):
    record = assigned(bridge, "Messaging", ZOE)
    plan = json.loads(bridge.run("--json", "plan").stdout)
    warned = [w for w in plan["warnings"] if w["rule_id"] == "people.unknown"]
    assert [(w["key"], w["platform"], w["value"]) for w in warned] == [
        (record["number"], "jira", "zoe.oneil@example.com")
    ]
    assert "left as it is" in warned[0]["message"]
    assert bridge.sync_json()[0] == 0
    assignee = jira_issue_for(bridge.sandbox, record["number"])["fields"]["assignee"]
    assert assignee is None  # never the integration user in her place

    settle(bridge)  # nor is ServiceNow's assignee cleared by the Jira issue that has none
    assert bridge.sync_json()[0] == 0
    snow = bridge.sandbox.servicenow
    assert snow.incident(record["sys_id"])["assigned_to"] == snow.add_reference("sys_user", ZOE)


def test_an_unmapped_group_is_blocked_by_policy(bridge):
    record = assigned(bridge, "Facilities Crew", None)
    code, summary = bridge.sync_json()
    assert code == 1, summary
    held = json.loads(bridge.run("--json", "quarantine", "list").stdout)
    findings = [f for q in held for f in q["findings"] if q["key"] == record["number"]]
    assert len(findings) == 1
    assert "assignment_group 'Facilities Crew'" in findings[0] and "taxonomy.groups" in findings[0]
    assert [i for i in bridge.sandbox.jira.issues() if record["number"] in str(i["fields"]["labels"])] == []


def test_an_unmapped_group_falls_back_to_the_default_group_by_policy(bridge):
    text = bridge.config_path.read_text().replace("[taxonomy]\n", '[taxonomy]\ndefault_group = "Service Desk"\n')
    text = text.replace('[mapping.servicenow]\nunmapped = "block"', '[mapping.servicenow]\nunmapped = "default"')
    bridge.config_path.write_text(text)
    record = assigned(bridge, "Facilities Crew", None)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"][GROUP_FIELD]["value"] == "Service Desk"


def test_a_reassignment_on_both_sides_is_settled_by_the_assignee_owner(bridge):
    text = bridge.config_path.read_text()
    bridge.config_path.write_text(text + '\n[sync.owners]\nassignee = "jira"\nassignment_group = "servicenow"\n')
    record = assigned(bridge, "Messaging", ANA)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    settle(bridge)
    snow = bridge.sandbox.servicenow
    snow.update_incident(record["sys_id"], {"assigned_to": snow.add_reference("sys_user", "Emeka Obi")})
    bridge.sandbox.jira.edit_issue(issue["key"], {"assignee": {"accountId": account_id("Chloé Durand")}})
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0 and summary["conflicts"] == 1, summary
    assert snow.incident(record["sys_id"])["assigned_to"] == snow.add_reference("sys_user", "Chloé Durand")
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["assignee"]["accountId"] == account_id(
        "Chloé Durand"
    )
    conflicts = json.loads(bridge.run("--json", "status").stdout)["conflicts"]
    assert [(c["field"], c["winner"]) for c in conflicts] == [("assignee", "jira")], conflicts
