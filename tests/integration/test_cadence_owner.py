"""A communication owner for major incidents: a configured custom column on ServiceNow, required
for major incidents by a `major_only` rule in [[rules.required]], and reported by the audit."""

from __future__ import annotations

import json

import pytest

from itsm_bridge.connectors.jira.records import search_fields, to_record
from itsm_bridge.mapping.jira import JiraMapper
from tests.integration.conftest import Bridge as Cli
from tests.integration.test_sync import add_incident, jira_issue_for, page_incidents_for

OWNER_RULE = """
[[rules.required]]
step = "create"
fields = ["communication_owner"]
major_only = true
"""


@pytest.fixture
def cli(bridge: Cli) -> Cli:
    """A ServiceNow with a `u_communication_owner` column (a user reference), read by the config,
    and the rule that a major incident needs it."""
    bridge.sandbox.servicenow.add_column("incident", "u_communication_owner", "sys_user")
    text = bridge.config_path.read_text()
    text = text.replace("[servicenow]\n", '[servicenow]\ncommunication_owner_field = "u_communication_owner"\n', 1)
    bridge.config_path.write_text(text + OWNER_RULE)
    return bridge


def test_a_major_p1_without_a_communication_owner_is_held_with_the_reason_until_one_is_named(cli: Cli) -> None:
    major = add_incident(cli.sandbox, impact="1", urgency="1", major_incident_state="accepted")
    plain = add_incident(cli.sandbox, impact="1", urgency="1", short_description="VPN drops every hour")

    shown = cli.run("plan")
    reason = "cannot create on jira: communication_owner is empty and a rule in [[rules.required]] requires it for major incidents"
    assert reason in shown.stdout, shown.stdout
    code, summary = cli.sync_json()
    assert code == 1 and summary["quarantined"] >= 1, summary
    assert [i for i in cli.sandbox.jira.issues() if major["number"] in json.dumps(i["fields"].get("labels"))] == []
    assert len(page_incidents_for(cli.sandbox, major["number"])) == 1  # the public still hears of it
    jira_issue_for(cli.sandbox, plain["number"])  # not major: no owner needed
    held = json.loads(cli.run("--json", "quarantine", "list").stdout)
    assert any(reason in json.dumps(entry) for entry in held), held

    audit = json.loads(cli.run("audit", "--format", "json").stdout)
    (missing,) = [f for f in audit["findings"] if f["kind"] == "communication_owner_missing"]
    assert missing["key"] == major["number"] and "u_communication_owner is empty" in missing["message"]

    owner = cli.sandbox.servicenow.add_reference("sys_user", "Grace Okafor")
    cli.sandbox.servicenow.update_incident(major["sys_id"], {"u_communication_owner": owner})
    code, summary = cli.sync_json()
    assert code == 0, summary
    jira_issue_for(cli.sandbox, major["number"])
    audit = json.loads(cli.run("audit", "--format", "json").stdout)
    assert [f for f in audit["findings"] if f["kind"] == "communication_owner_missing"] == []


def test_a_jira_user_picker_named_as_the_owner_field_is_requested_and_read_as_the_persons_name(cli: Cli) -> None:
    text = cli.config_path.read_text().replace(
        "[jira]\n", '[jira]\ncommunication_owner_field = "customfield_10060"\n', 1
    )
    cli.config_path.write_text(text)
    config = cli.config
    assert config.settings.jira is not None
    assert "customfield_10060" in search_fields(config.settings.jira)
    issue = {
        "id": "10001",
        "key": "OPS-1",
        "fields": {
            "summary": "Mail down",
            "status": {"name": "Work in progress"},
            "updated": "2026-03-02T12:00:00.000+0000",
            "customfield_10060": {"accountId": "acc-7", "displayName": "Grace Okafor"},
        },
    }
    incident, _ = JiraMapper(config).to_canonical(to_record(issue, config.settings.jira))
    assert incident.communication_owner == "Grace Okafor"
