"""The bridge, through the CLI, against a Jira sandbox that refuses what Jira Cloud refuses: no
comment on a create screen, a bulk create refused as a whole, a transition refused while riding a
create, a resolution only where a transition screen takes one, 32,767 characters at most. Every
record is created once, no run is aborted by one record, and the exit code follows the table."""

from __future__ import annotations

import json
from dataclasses import replace

import requests

from itsm_bridge.connectors.jira.adf import adf_to_text
from itsm_bridge.sandbox.jira.schema import CATEGORY_FIELD, itsm_workflow
from tests.integration.test_sync import add_incident, jira_issue_for, settle


def jira_creates(bridge) -> list[dict]:
    """Bodies of every Jira create request (single or bulk), one per issue asked for."""
    out = []
    for call in bridge.sandbox.calls("jira"):
        if call.method == "POST" and call.path in ("/rest/api/3/issue", "/rest/api/3/issue/bulk"):
            body = json.loads(call.body)
            out += body.get("issueUpdates", [body])
    return out


def notes_on(bridge, key: str) -> list[str]:
    return [adf_to_text(c["body"]) for c in bridge.sandbox.jira.comments(key)]


def test_starting_notes_go_by_their_own_calls_and_every_issue_and_note_is_made_once(bridge):
    records = [
        add_incident(
            bridge.sandbox,
            short_description=f"with notes {n}",
            work_notes=f"looked at mx{n}",
            comments=f"we are on it {n}",
        )
        for n in range(3)
    ]
    records.append(add_incident(bridge.sandbox, short_description="no notes"))
    code, summary = bridge.sync_json()
    assert code == 0, summary
    assert not any("comment" in (body.get("update") or {}) for body in jira_creates(bridge))
    for n, record in enumerate(records[:3]):
        issue = jira_issue_for(bridge.sandbox, record["number"])
        notes = notes_on(bridge, issue["key"])
        assert sorted(n.split(") ", 1)[1] for n in notes) == sorted([f"looked at mx{n}", f"we are on it {n}"])
    settle(bridge)
    before = len(bridge.writes())
    assert bridge.sync_json()[0] == 0
    assert bridge.writes()[before:] == []  # the notes are not copied again


def test_a_bulk_create_refused_as_a_whole_quarantines_the_record_and_the_run_goes_on(bridge):
    healthy = add_incident(bridge.sandbox, short_description="healthy")
    assert bridge.sync_json()[0] == 0  # learns the start step: the next creates go in bulk
    settle(bridge)
    bridge.sandbox.jira.config.options[CATEGORY_FIELD].remove("Hardware")  # an admin retired the option
    refused = add_incident(bridge.sandbox, short_description="disk failing", category="hardware", subcategory="disk")
    bridge.sandbox.servicenow.update_incident(healthy["sys_id"], {"short_description": "healthy, edited"})
    code, summary = bridge.sync_json()
    assert code == 1 and summary["quarantined"] == 1 and summary["failed"] == 0, summary
    bulk = [c for c in bridge.sandbox.calls("jira") if c.path == "/rest/api/3/issue/bulk"]
    assert [c.status for c in bulk] == [400]  # Jira's answer when every element is invalid
    assert jira_issue_for(bridge.sandbox, healthy["number"])["fields"]["summary"] == "healthy, edited"
    listed = bridge.run("--json", "quarantine", "list")
    assert refused["number"] in listed.stdout and "Option value 'Hardware' is not valid" in listed.stdout
    bridge.sandbox.jira.config.options[CATEGORY_FIELD].append("Hardware")  # fixed
    retried = bridge.run("--json", "retry")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert jira_issue_for(bridge.sandbox, refused["number"])["fields"][CATEGORY_FIELD]["value"] == "Hardware"


def test_a_first_transition_refused_on_the_create_is_made_by_its_own_call(bridge):
    add_incident(bridge.sandbox, short_description="first")
    assert bridge.sync_json()[0] == 0  # the start step and its transitions are learned (and kept)
    settle(bridge)
    workflow = itsm_workflow()  # an admin edits the workflow: Start work gets a new id
    workflow.transitions = [replace(t, id="12") if t.id == "11" else t for t in workflow.transitions]
    bridge.sandbox.jira.workflow = workflow
    record = add_incident(bridge.sandbox, short_description="second")
    code, summary = bridge.sync_json()
    assert code == 0, summary
    rides = [b for b in jira_creates(bridge) if b.get("transition")]
    assert rides and rides[-1]["transition"] == {"id": "11"}  # sent with the remembered id, refused on the create
    issue = jira_issue_for(bridge.sandbox, record["number"])  # created once
    assert issue["fields"]["status"]["name"] == "Work in progress"


def test_a_canceled_incident_reaches_jira_canceled_with_a_resolution(bridge):
    add_incident(bridge.sandbox, short_description="warm up")
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    record = add_incident(bridge.sandbox, short_description="raised by mistake", state="8")
    code, summary = bridge.sync_json()
    assert code == 0, summary
    fields = jira_issue_for(bridge.sandbox, record["number"])["fields"]
    assert fields["status"]["name"] == "Canceled"
    assert fields["resolution"] is not None  # Cancel's screen took one: not left Unresolved


def test_text_over_jiras_limit_is_cut_with_a_note_and_nothing_churns(bridge):
    long_text = "\n\n".join(f"line {n}: " + "x" * 90 for n in range(500))  # ~50,000 characters
    record = add_incident(bridge.sandbox, short_description="huge", description=long_text, work_notes=long_text)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    issue = jira_issue_for(bridge.sandbox, record["number"])
    description = adf_to_text(issue["fields"]["description"])
    assert description.startswith("line 0: ") and "more characters are in the source record" in description
    (note,) = notes_on(bridge, issue["key"])
    assert "line 0: " in note and note.rstrip().endswith("Jira keeps at most 32,767]")
    settle(bridge)
    before = len(bridge.writes())
    assert bridge.sync_json()[0] == 0
    assert bridge.writes()[before:] == []
    assert bridge.sandbox.servicenow.incident(record["sys_id"])["description"] == long_text


def test_an_issue_done_in_jira_without_a_resolution_syncs_back_without_inventing_one(bridge):
    record = add_incident(bridge.sandbox, short_description="canceled by hand")
    assert bridge.sync_json()[0] == 0
    key = jira_issue_for(bridge.sandbox, record["number"])["key"]
    creds = bridge.sandbox.jira.credentials()
    moved = requests.post(
        f"{bridge.sandbox.jira.base_url}/rest/api/3/issue/{key}/transitions",
        json={"transition": {"id": "71"}},
        auth=(creds["email"], creds["token"]),
        timeout=10,
    )  # Cancel, its screen left empty
    assert moved.status_code == 204 and bridge.sandbox.jira.issue(key)["fields"]["resolution"] is None
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    incident = bridge.sandbox.servicenow.incident(record["sys_id"])
    assert incident["state"] == "8"  # canceled on ServiceNow too
    assert bridge.sandbox.jira.issue(key)["fields"]["resolution"] is None  # nothing written back to Jira


def test_a_work_note_and_a_comment_of_one_text_are_both_copied_without_a_lookup(bridge):
    record = add_incident(
        bridge.sandbox, short_description="flapping", work_notes="restarted the relay", comments="restarted the relay"
    )
    code, summary = bridge.sync_json()
    assert code == 0, summary
    key = jira_issue_for(bridge.sandbox, record["number"])["key"]
    comments = bridge.sandbox.jira.comments(key)
    assert sorted(c["jsdPublic"] for c in comments) == [False, True]  # internal and public: two notes
    assert not any(c.method == "GET" and c.path.endswith("/comment") for c in bridge.sandbox.calls("jira"))
