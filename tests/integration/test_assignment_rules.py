"""Assignment in the rules, the audit, the people CSV and `doctor`, through the CLI against the
sandbox: "assignment group on create" and "assignee on resolve" as required-field rules per
platform, group and assignee mismatches, a hidden address matched through the CSV file, and the
group field checked against Jira's create and edit screens."""

from __future__ import annotations

import json

from itsm_bridge.sandbox.jira.schema import EDIT_SCREEN, GROUP_FIELD, account_id
from tests.integration.test_assignment import ZOE, assigned
from tests.integration.test_sync import add_incident, jira_issue_for, settle


def require(bridge, step: str, field: str, platform: str) -> None:
    rule = f'\n[[rules.required]]\nstep = "{step}"\nfields = ["{field}"]\nplatforms = ["{platform}"]\n'
    bridge.config_path.write_text(bridge.config_path.read_text() + rule)


def held_messages(bridge, key: str) -> list[str]:
    held = json.loads(bridge.run("--json", "quarantine", "list").stdout)
    return [f for q in held if q["key"] == key for f in q["findings"]]


def test_an_assignment_group_can_be_required_on_create_per_platform(bridge):
    require(bridge, "create", "assignment_group", "jira")
    bare = add_incident(bridge.sandbox)
    grouped = assigned(bridge, "Messaging", None)
    code, summary = bridge.sync_json()
    assert code == 1, summary
    assert held_messages(bridge, bare["number"]) == [
        "cannot create on jira: assignment_group is empty and a rule in [[rules.required]]"
    ]
    assert jira_issue_for(bridge.sandbox, grouped["number"])["fields"][GROUP_FIELD]["value"] == "Messaging"
    assert not [i for i in bridge.sandbox.jira.issues() if bare["number"] in str(i["fields"]["labels"])]


def test_an_assignee_can_be_required_on_resolve_per_platform(bridge):
    require(bridge, "resolve", "assignee", "servicenow")
    record = assigned(bridge, "Messaging", None)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    settle(bridge)
    bridge.sandbox.jira.transition_to(issue["key"], "Resolved", resolution="Done")
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 1, summary
    snow = bridge.sandbox.servicenow
    assert snow.incident(record["sys_id"])["state"] != "6"
    assert held_messages(bridge, record["number"]) == [
        "cannot resolve on servicenow: assignee (servicenow assigned_to) is empty and a rule in [[rules.required]]"
    ]

    bridge.sandbox.jira.edit_issue(issue["key"], {"assignee": {"accountId": account_id("Emeka Obi")}})
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    now = snow.incident(record["sys_id"])
    assert now["state"] == "6" and now["assigned_to"] == snow.add_reference("sys_user", "Emeka Obi")


def test_the_audit_names_group_and_assignee_mismatches(bridge):
    record = assigned(bridge, "Network Operations", "Ana Lima")
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    bridge.sandbox.jira.edit_issue(
        issue["key"], {GROUP_FIELD: {"value": "Messaging"}, "assignee": {"accountId": account_id("Dmitri Volkov")}}
    )
    report = json.loads(bridge.run("--json", "audit").stdout)
    found = {f["kind"]: f for f in report["findings"] if f["key"] == record["number"]}
    assert (found["group_mismatch"]["value"], found["group_mismatch"]["expected"]) == (
        "Messaging",
        "Network Operations",
    )
    assert (found["assignee_mismatch"]["value"], found["assignee_mismatch"]["expected"]) == (
        "dmitri.volkov@example.com",
        "ana.lima@example.com",
    )
    assert {f["platform"] for f in found.values()} == {"jira"}


def test_a_hidden_address_is_matched_through_the_people_csv(bridge):
    people = bridge.config_path.parent / "people.csv"
    people.write_text(f"email,jira\nZoe.ONeil@example.com,{account_id(ZOE)}\n", encoding="utf-8")
    bridge.config_path.write_text(bridge.config_path.read_text() + '\n[people]\ncsv = "people.csv"\n')
    record = assigned(bridge, "Messaging", ZOE)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["assignee"]["accountId"] == account_id(ZOE)


def test_a_bad_people_csv_is_a_config_error_naming_the_file_and_line(bridge):
    people = bridge.config_path.parent / "people.csv"
    people.write_text("email,jira,zendesk\nnot-an-address,123\n", encoding="utf-8")
    bridge.config_path.write_text(bridge.config_path.read_text() + '\n[people]\ncsv = "people.csv"\n')
    add_incident(bridge.sandbox)
    result = bridge.run("sync")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{people}:1: people.csv: unknown platform column(s) ['zendesk']" in result.stderr
    assert f"{people}:2: people.csv: 'not-an-address' is not an e-mail address" in result.stderr


def test_doctor_checks_the_group_field_against_the_create_and_edit_screens(bridge):
    add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    checks = json.loads(bridge.run("--json", "doctor").stdout)
    group = [c for c in checks["checks"] if c["check"] == "group field"]
    assert [(c["ok"], c["detail"]) for c in group] == [
        (True, f"Assignment group ({GROUP_FIELD}) is on the create and edit screens")
    ]

    bridge.sandbox.jira.config.edit_screen = tuple(f for f in EDIT_SCREEN if f != GROUP_FIELD)
    result = bridge.run("--json", "doctor")
    group = [c for c in json.loads(result.stdout)["checks"] if c["check"] == "group field"]
    assert result.returncode != 0 and [c["ok"] for c in group] == [False]
    assert "not on the edit screen" in group[0]["detail"]
