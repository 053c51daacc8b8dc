"""A key belongs to the first record linked to it: the CLI against the sandbox over loopback.

A second record carrying a linked key (a Jira clone with the label, another ServiceNow incident
whose correlation_id names the key) is refused as a key_conflict, quarantined, and shown by
`status`, `audit` and `doctor`; a linked record whose carried key changes stays with its link.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from itsm_bridge.correlation import CORRELATION_DISPLAY, PROPERTY_KEY
from tests.integration.test_sync import add_incident, jira_issue_for, page_incidents_for, settle

VPN = {"short_description": "VPN slow", "category": "network", "subcategory": "vpn"}


def synced_incident(bridge, **fields):
    record = add_incident(bridge.sandbox, **{**VPN, **fields})
    code, summary = bridge.sync_json()
    assert code == 0, summary
    settle(bridge)
    return record, jira_issue_for(bridge.sandbox, record["number"])


def shown_everywhere(bridge, key, platform, refused, holder):
    """`status`, `audit` and `doctor` each name the refused record and the one holding the key."""
    status = json.loads(bridge.run("--json", "status").stdout)
    assert [(c["key"], c["platform"], c["record"], c["holder"]) for c in status["key_conflicts"]] == [
        (key, platform, refused, holder)
    ]
    assert [q["key"] for q in status["quarantined"]] == [key]
    audit = bridge.run("--json", "audit")
    found = [f for f in json.loads(audit.stdout)["findings"] if f["kind"] == "key_conflict"]
    assert audit.returncode == 1
    assert [(f["key"], f["platform"], f["ref"], f["expected"], f["severity"]) for f in found] == [
        (key, platform, refused, holder, "block")
    ]
    doctor = bridge.run("--json", "doctor")
    failed = [c for c in json.loads(doctor.stdout)["checks"] if not c["ok"]]
    assert doctor.returncode == 1, doctor.stdout
    assert [(c["platform"], c["check"]) for c in failed] == [(platform, "key_conflict")]
    assert refused in failed[0]["detail"] and holder in failed[0]["detail"]


def test_a_jira_clone_carrying_the_label_takes_nothing_over_and_is_a_key_conflict(bridge):
    record, original = synced_incident(bridge)
    key = record["number"]
    clone = bridge.sandbox.jira.clone_issue(original["key"])
    assert bridge.sandbox.jira.issue(clone)["fields"]["labels"] == original["fields"]["labels"]
    bridge.sandbox.jira.transition_to(clone, "Resolved", resolution="Done")
    settle(bridge)
    before = len(bridge.writes())
    code, summary = bridge.sync_json()
    assert code == 1 and summary["quarantined"] == 1, summary
    assert bridge.writes()[before:] == []
    snow = bridge.sandbox.servicenow.incident(record["sys_id"])
    assert (snow["state"], snow["short_description"]) == ("2", "VPN slow")
    assert bridge.sandbox.jira.issue(original["key"])["fields"]["status"]["name"] == "Work in progress"
    assert [p["status"] for p in page_incidents_for(bridge.sandbox, key)] == ["identified"]
    shown_everywhere(bridge, key, "jira", clone, original["key"])
    # the real issue still syncs; the clone stays refused, by `retry` too
    bridge.sandbox.jira.transition_to(original["key"], "Resolved", resolution="Done")
    settle(bridge)
    bridge.sync_json()
    assert bridge.sandbox.servicenow.incident(record["sys_id"])["state"] == "6"
    assert bridge.run("--json", "retry").returncode == 1
    assert json.loads(bridge.run("--json", "status").stdout)["key_conflicts"][0]["record"] == clone
    # the copied label removed from the clone: it is nobody's, and no longer held
    bridge.sandbox.jira.edit_issue(clone, {"labels": []})
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    assert json.loads(bridge.run("--json", "status").stdout)["key_conflicts"] == []


def test_another_servicenow_record_naming_a_linked_key_overwrites_nothing(bridge):
    record, issue = synced_incident(bridge, impact="1", urgency="1")
    key = record["number"]
    page = [(p["name"], p["status"]) for p in page_incidents_for(bridge.sandbox, key)]
    assert [status for _, status in page] == ["identified"]
    intruder = add_incident(
        bridge.sandbox,
        short_description="Printer jam",
        state="6",
        close_code="Solved (Permanently)",
        close_notes="fixed",
        correlation_id=key,
        correlation_display=CORRELATION_DISPLAY,
    )
    before = len(bridge.writes())
    planned = bridge.run("--json", "plan")
    assert planned.returncode == 1
    blocked = json.loads(planned.stdout)["blocked"]
    assert [(b["key"], b["ref"], b["findings"][0]["rule_id"]) for b in blocked] == [
        (key, intruder["sys_id"], "identity.key_conflict")
    ]
    assert json.loads(planned.stdout)["actions"] == []
    code, summary = bridge.sync_json()
    assert code == 1 and summary["quarantined"] == 1, summary
    assert bridge.writes()[before:] == []
    fields = bridge.sandbox.jira.issue(issue["key"])["fields"]
    assert (fields["summary"], fields["status"]["name"]) == ("VPN slow", "Work in progress")
    assert [(p["name"], p["status"]) for p in page_incidents_for(bridge.sandbox, key)] == page
    shown_everywhere(bridge, key, "servicenow", intruder["number"], record["number"])
    assert bridge.run("--json", "retry").returncode == 1  # still refused
    # once its correlation_id is cleared, it is an incident of its own (its number is its key)
    bridge.sandbox.servicenow.update_incident(intruder["sys_id"], {"correlation_id": "", "correlation_display": ""})
    retried = bridge.run("--json", "retry")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert jira_issue_for(bridge.sandbox, intruder["number"])["fields"]["summary"] == "Printer jam"
    assert json.loads(bridge.run("--json", "status").stdout)["key_conflicts"] == []


def test_a_linked_record_whose_correlation_id_changes_stays_with_its_link_and_the_change_is_journaled(bridge):
    record, issue = synced_incident(bridge)
    for n in range(2):
        bridge.sandbox.servicenow.update_incident(
            record["sys_id"],
            {
                "correlation_id": "ELSEWHERE-1",
                "correlation_display": CORRELATION_DISPLAY,
                "short_description": f"VPN slow ({n})",
            },
        )
        r = bridge.run("--json", "sync")
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stdout + r.stderr
        assert bridge.sandbox.jira.issue(issue["key"])["fields"]["summary"] == f"VPN slow ({n})"
        settle(bridge)
    entries = json.loads(bridge.run("--json", "journal", "show", "--key", record["number"], "--last", "500").stdout)
    changed = [e for e in entries if e["kind"] == "finding" and e["payload"]["rule_id"] == "identity.key_changed"]
    assert [(e["platform"], e["payload"]["value"]) for e in changed] == [
        ("servicenow", "ELSEWHERE-1")
    ]  # once, not every run
    assert bridge.run("--json", "journal", "verify").returncode == 0


def test_a_linked_jira_issue_whose_entity_property_names_another_key_stays_with_its_link(bridge):
    record, issue = synced_incident(bridge)
    bridge.sandbox.jira.set_property(issue["key"], PROPERTY_KEY, {"key": "ELSEWHERE-2"})
    bridge.sandbox.jira.edit_issue(issue["key"], {"summary": "VPN slow for everyone"})
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    assert bridge.sandbox.servicenow.incident(record["sys_id"])["short_description"] == "VPN slow for everyone"
    entries = json.loads(bridge.run("--json", "journal", "show", "--key", record["number"], "--last", "500").stdout)
    changed = [(e["platform"], e["payload"]["value"]) for e in entries if e["kind"] == "finding"]
    assert changed == [("jira", "ELSEWHERE-2")]


@pytest.mark.parametrize("clone_read_first", [False, True])
def test_after_a_state_reset_the_issue_with_the_property_is_relinked_and_its_clone_refused(bridge, clone_read_first):
    record, original = synced_incident(bridge)
    clone = bridge.sandbox.jira.clone_issue(original["key"])
    if clone_read_first:  # changes are read oldest first: the clone is taken, then displaced by the proven issue
        bridge.sandbox.jira.edit_issue(original["key"], {"labels": original["fields"]["labels"]})
    assert PROPERTY_KEY in bridge.sandbox.jira.properties(original["key"])
    assert bridge.sandbox.jira.properties(clone) == {}
    bridge.sandbox.jira.reindex()
    state = bridge.config.state_url[len("sqlite:///") :]
    with sqlite3.connect(state) as db:  # a lost state file, as far as links and shadows go
        for table in ("links", "shadows", "cursors", "quarantine"):
            db.execute(f"DELETE FROM {table}")
    code, summary = bridge.sync_json()
    assert code == 1 and summary["created"] == 0 and summary["quarantined"] == 1, summary
    status = json.loads(bridge.run("--json", "status").stdout)
    assert [(c["record"], c["holder"]) for c in status["key_conflicts"]] == [(clone, original["key"])]
    assert [i["key"] for i in bridge.sandbox.jira.issues() if i["key"] not in (original["key"], clone)] == []
