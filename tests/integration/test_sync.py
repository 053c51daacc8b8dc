"""The sync engine end to end: the CLI in its own process against the sandbox over loopback."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from itsm_bridge.correlation import label_for

CLEAN = {
    "short_description": "Mail delivery delayed for Zürich office",
    "description": "Queue on mx2 growing since 08:10.",
    "category": "software",
    "subcategory": "email",
    "impact": "1",
    "urgency": "2",
    "state": "2",
}


def add_incident(sandbox, **overrides):
    cis = {c: sandbox.servicenow.add_reference("cmdb_ci", c) for c in ("Email", "Payments API")}
    fields = {**CLEAN, "cmdb_ci": cis["Email"], **overrides}
    if overrides.get("cmdb_ci") in cis:
        fields["cmdb_ci"] = cis[overrides["cmdb_ci"]]
    return sandbox.servicenow.insert_incident(fields)


def jira_issue_for(sandbox, key):
    matches = [i for i in sandbox.jira.issues() if label_for(key) in i["fields"].get("labels", [])]
    assert len(matches) == 1, f"{len(matches)} Jira issues carry {key}"
    return matches[0]


def page_incidents_for(sandbox, key):
    return [
        i for i in sandbox.statuspage.incidents() if (i.get("metadata") or {}).get("itsm_bridge", {}).get("key") == key
    ]


def settle(bridge):
    time.sleep(bridge.sandbox.jira.search_lag_s + 0.1)


def test_incident_reaches_jira_and_page_with_mapped_fields(bridge):
    record = add_incident(bridge.sandbox)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    assert summary["created"] == 1 and summary["published"] == 1
    issue = jira_issue_for(bridge.sandbox, record["number"])
    f = issue["fields"]
    assert f["priority"]["name"] == "High"  # impact 1 x urgency 2 = P2
    assert f["customfield_10050"]["value"] == "Software"
    assert f["customfield_10051"]["value"] == "Email"
    assert f["status"]["name"] == "Work in progress"
    pages = page_incidents_for(bridge.sandbox, record["number"])
    assert len(pages) == 1 and pages[0]["status"] == "identified"


def test_quiet_cycles_write_nothing(bridge):
    add_incident(bridge.sandbox)
    add_incident(bridge.sandbox, short_description="VPN drops every 10 min", category="network", subcategory="vpn")
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    before = len(bridge.writes())
    for _ in range(2):
        code, summary = bridge.sync_json()
        assert code == 0 and summary["failed"] == 0
        settle(bridge)
    assert bridge.writes()[before:] == []


def test_a_quiet_cycle_costs_one_read_page_per_source_and_nothing_else(bridge):
    for n in range(3):
        add_incident(bridge.sandbox, short_description=f"incident {n}")
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    assert bridge.sync_json()[0] == 0  # reads back what the first one wrote
    settle(bridge)
    assert bridge.sync_json()[0] == 0  # the first from a Jira watermark: learns the user's time zone, once
    bridge.sandbox.clear_calls()
    code, summary = bridge.sync_json()
    assert code == 0 and summary["api_calls"] == {"servicenow": 1, "jira": 1, "statuspage": 0}, [
        (c.method, c.path) for c in bridge.sandbox.calls()
    ]
    paths = sorted(f"{c.method} {c.path}" for c in bridge.sandbox.calls())
    assert paths == ["GET /api/now/table/incident", "POST /rest/api/3/search/jql"]  # no myself, no journal, no page


def test_once_jira_is_read_past_our_own_writes_quiet_cycles_stop_paging_through_them(bridge):
    text = bridge.config_path.read_text()
    bridge.config_path.write_text(text.replace("[jira]\n", "[jira]\npage_size = 10\n", 1))  # pages of 10, not 100
    for n in range(15):
        add_incident(bridge.sandbox, short_description=f"incident {n}", impact="3")
    assert bridge.sync_json()[0] == 0  # writes 15 issues
    settle(bridge)
    bridge.sandbox.clear_calls()
    code, back = bridge.sync_json()  # reads them back: two pages of 10
    assert code == 0 and back["read"]["jira"] == 15
    assert sum(c.path.endswith("/search/jql") for c in bridge.sandbox.calls("jira")) == 2
    # Minutes pass (Jira's clock, which its Date header and JQL go by): the read-back's cursor
    # overlap no longer reaches our writes once a read has seen Jira's clock past them.
    bridge.sandbox.jira.clock.freeze(datetime.now(UTC) + timedelta(minutes=5))
    assert bridge.sync_json()[0] == 0
    bridge.sandbox.clear_calls()
    code, quiet = bridge.sync_json()
    assert code == 0 and quiet["read"]["jira"] == 0
    assert quiet["api_calls"] == {"servicenow": 1, "jira": 1, "statuspage": 0}


def test_a_state_change_moves_the_jira_issue_from_the_status_last_synced_without_reading_it_first(bridge):
    record = add_incident(bridge.sandbox)  # in progress
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    assert bridge.sync_json()[0] == 0
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"state": "3", "hold_reason": "1"})
    bridge.sandbox.clear_calls()
    code, summary = bridge.sync_json()
    assert code == 0 and summary["transitioned"] == 1
    shapes = Counter(re.sub(r"/\d+", "/N", f"{c.method} {c.path}") for c in bridge.sandbox.calls("jira"))
    assert shapes == {
        "POST /rest/api/N/search/jql": 1,
        "POST /rest/api/N/issue/N/transitions": 1,
        "POST /rest/api/N/issue/bulkfetch": 1,
        "GET /rest/api/N/issue/N/transitions": 1,
    }  # the first move from this status: learned once, kept
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["status"]["name"] == "Pending"


def test_an_initial_sync_writes_in_bulk_with_folded_transitions_and_reads_back_once(bridge):
    for n in range(60):
        add_incident(bridge.sandbox, short_description=f"incident {n}", impact="3")  # in progress
    bridge.sandbox.clear_calls()
    code, summary = bridge.sync_json()
    assert code == 0 and summary["created"] == 60 and summary["transitioned"] == 60
    shapes = Counter(re.sub(r"/\d+", "/N", f"{c.method} {c.path}") for c in bridge.sandbox.calls("jira"))
    assert shapes == {
        "GET /rest/api/N/issue/createmeta/OPS/issuetypes": 1,
        "GET /rest/api/N/issue/createmeta/OPS/issuetypes/N": 1,
        "POST /rest/api/N/search/jql": 1,  # Jira's own changes: one page
        "POST /rest/api/N/issue": 1,  # the first issue alone teaches the start step:
        "GET /rest/api/N/issue/N": 1,  # its status,
        "GET /rest/api/N/issue/N/transitions": 1,  # the transitions from there,
        "POST /rest/api/N/issue/N/transitions": 1,  # and its own move to Work in progress
        "POST /rest/api/N/issue/bulk": 2,  # 59 more, 50 a call, each moved by its own create
        "POST /rest/api/N/issue/bulkfetch": 1,  # what was written, read back once
    }
    moved = [i for i in bridge.sandbox.jira.issues() if i["fields"]["status"]["name"] == "Work in progress"]
    assert len(moved) == 60


def test_jira_resolve_comes_back_to_servicenow_and_the_page(bridge):
    record = add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    bridge.sandbox.jira.transition_to(issue["key"], "Resolved", resolution="Done")
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    snow = bridge.sandbox.servicenow.incident(record["sys_id"])
    assert snow["state"] == "6" and snow["close_code"] == "Solved (Permanently)"
    assert issue["key"] in snow["close_notes"]
    assert page_incidents_for(bridge.sandbox, record["number"])[0]["status"] == "resolved"


def test_simultaneous_edits_owner_wins_and_conflict_is_journaled(bridge):
    record = add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    settle(bridge)
    # state is owned by Jira (config default): ServiceNow puts it on hold, Jira resolves it.
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"state": "3"})
    bridge.sandbox.jira.transition_to(issue["key"], "Resolved", resolution="Done")
    settle(bridge)
    code, summary = bridge.sync_json()
    assert summary["conflicts"] == 1
    assert bridge.sandbox.servicenow.incident(record["sys_id"])["state"] == "6"
    shown = bridge.run("--json", "status")
    assert '"field": "state"' in shown.stdout and '"winner": "jira"' in shown.stdout


def test_unmapped_category_is_quarantined_and_retry_releases_it_after_a_fix(bridge):
    bad = add_incident(bridge.sandbox, category="facilities", subcategory="")
    good = add_incident(bridge.sandbox, short_description="Payments API 502s", cmdb_ci="Payments API")
    code, summary = bridge.sync_json()
    assert code == 1 and summary["quarantined"] == 1 and summary["created"] >= 1
    listed = bridge.run("--json", "quarantine", "list")
    assert bad["number"] in listed.stdout and good["number"] not in listed.stdout
    text = bridge.config_path.read_text()
    text = text.replace(
        "[taxonomy.categories.Inquiry]\n",
        '[taxonomy.categories.Facilities]\nservicenow = "facilities"\njira = "Facilities"\n\n[taxonomy.categories.Inquiry]\n',
    )
    bridge.config_path.write_text(text)
    r = bridge.run("--json", "retry")
    assert r.returncode == 0, r.stdout + r.stderr + bridge.run("--json", "quarantine", "list").stdout
    assert jira_issue_for(bridge.sandbox, bad["number"])["fields"]["customfield_10050"]["value"] == "Facilities"
    assert bridge.run("--json", "quarantine", "list").stdout.strip() == "[]"


def test_two_syncs_at_once_one_exits_3(bridge):
    from itsm_bridge.store import open_from_config

    store = open_from_config(bridge.config)
    with store.lock("held by test"):
        r = bridge.run("sync")
    assert r.returncode == 3 and "another run holds the lock" in r.stderr


def test_journal_verify_fails_after_one_byte_changes(bridge):
    add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    assert bridge.run("journal", "verify").returncode == 0
    db = bridge.config.state_url[len("sqlite:///") :]
    con = sqlite3.connect(db)
    payload = con.execute("SELECT payload FROM journal WHERE seq = 2").fetchone()[0]
    con.execute("UPDATE journal SET payload = ? WHERE seq = 2", (payload.replace("o", "0", 1),))
    con.commit()
    con.close()
    r = bridge.run("journal", "verify")
    assert r.returncode == 1 and "entry 2 was changed" in r.stdout


def test_plan_reads_only_and_apply_applies_exactly_it(bridge, tmp_path):
    record = add_incident(bridge.sandbox)
    plan_file = tmp_path / "plan.json"
    r = bridge.run("plan", "--out", str(plan_file))
    assert r.returncode == 0, r.stderr
    assert "+ create jira" in r.stdout and bridge.writes() == []
    r = bridge.run("--json", "apply", str(plan_file))
    assert r.returncode == 0, r.stdout + r.stderr
    jira_issue_for(bridge.sandbox, record["number"])
    settle(bridge)
    before = len(bridge.writes())
    assert bridge.sync_json()[0] == 0  # what the plan applied is known: nothing to redo
    assert bridge.writes()[before:] == []


def test_apply_writes_a_saved_plan_as_sync_does_in_bulk_and_reads_back_once(bridge, tmp_path):
    for n in range(60):
        add_incident(bridge.sandbox, short_description=f"incident {n}", impact="3")  # in progress
    plan_file = tmp_path / "plan.json"
    assert bridge.run("plan", "--out", str(plan_file)).returncode == 0
    bridge.sandbox.clear_calls()
    r = bridge.run("--json", "apply", str(plan_file))
    summary = json.loads(r.stdout)
    assert r.returncode == 0 and summary["created"] == 60 and summary["transitioned"] == 60, r.stdout + r.stderr
    shapes = Counter(re.sub(r"/\d+", "/N", f"{c.method} {c.path}") for c in bridge.sandbox.calls("jira"))
    assert shapes["POST /rest/api/N/issue/bulk"] == 2 and shapes["POST /rest/api/N/issue"] == 1  # as sync: 50 a call
    assert shapes["POST /rest/api/N/issue/bulkfetch"] == 1  # what was written, read back once
    settle(bridge)
    before = len(bridge.writes())
    assert bridge.sync_json()[0] == 0  # the shadows the plan left: nothing to redo
    assert bridge.writes()[before:] == []


def test_apply_refuses_a_stale_action(bridge, tmp_path):
    record = add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    assert bridge.sync_json()[0] == 0  # cursors past our own writes: the plan will not read Jira
    settle(bridge)
    bridge.sandbox.servicenow.update_incident(
        record["sys_id"], {"short_description": "Mail delivery delayed (all offices)"}
    )
    plan_file = tmp_path / "plan.json"
    assert bridge.run("plan", "--out", str(plan_file)).returncode == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    bridge.sandbox.jira.edit_issue(issue["key"], {"summary": "edited after the plan"})
    r = bridge.run("--json", "apply", str(plan_file))
    assert r.returncode == 1 and "Stale" in r.stdout


def test_servicenow_on_hold_moves_jira_to_the_mapped_status(bridge):
    record = add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"state": "3"})
    code, summary = bridge.sync_json()
    assert code == 0 and summary["transitioned"] == 1
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["status"]["name"] == "Pending"
    assert page_incidents_for(bridge.sandbox, record["number"])[0]["status"] == "monitoring"


def test_jira_resolve_with_an_unknown_resolution_is_blocked_with_a_reason(bridge):
    record = add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    bridge.sandbox.jira.transition_to(issue["key"], "Resolved", resolution="Duplicate")  # in no taxonomy
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 1 and summary["quarantined"] == 1
    assert bridge.sandbox.servicenow.incident(record["sys_id"])["state"] == "2"  # not half-resolved
    listed = bridge.run("quarantine", "list").stdout
    assert "resolution_code" in listed and record["number"] in listed


def test_dry_run_only_and_limit(bridge):
    a = add_incident(bridge.sandbox)
    b = add_incident(bridge.sandbox, short_description="Second")
    c = add_incident(bridge.sandbox, short_description="Third")
    r = bridge.run("sync", "--dry-run")
    assert r.returncode == 0 and r.stdout.count("+ create jira") == 3 and bridge.writes() == []
    code, summary = bridge.sync_json("--only", b["number"])
    assert summary["created"] == 1
    jira_issue_for(bridge.sandbox, b["number"])
    code, summary = bridge.sync_json("--limit", "1")
    assert summary["created"] == 1 and summary["skipped"] == 1
    code, summary = bridge.sync_json()  # the rest next run: the cursor did not pass what was skipped
    assert summary["created"] == 1
    for rec in (a, b, c):
        jira_issue_for(bridge.sandbox, rec["number"])


def test_a_page_incident_published_before_is_found_by_key_and_resolved(bridge):
    record = add_incident(
        bridge.sandbox,
        impact="1",
        urgency="1",
        state="6",
        close_code="Solved (Permanently)",
        close_notes="Failed over to mx3.",
    )
    stale = bridge.sandbox.statuspage.create_incident(
        {
            "name": "Mail delays",
            "status": "investigating",
            "body": "Investigating.",
            "metadata": {"itsm_bridge": {"key": record["number"]}},
        }
    )
    code, summary = bridge.sync_json()
    assert code == 0, summary
    assert bridge.sandbox.statuspage.incident(stale["id"])["status"] == "resolved"
    assert len(page_incidents_for(bridge.sandbox, record["number"])) == 1
    settle(bridge)
    before = len(bridge.writes())
    assert bridge.sync_json()[0] == 0
    assert bridge.writes()[before:] == []


def test_an_impact_change_in_servicenow_moves_the_jira_priority(bridge):
    record = add_incident(bridge.sandbox)  # impact 1 x urgency 2: P2, High
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    assert bridge.sync_json()[0] == 0  # Jira's cursor past our writes: the next cycle reads only ServiceNow
    settle(bridge)
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"impact": "3"})  # 3 x 2: P4, Low
    code, summary = bridge.sync_json()
    assert code == 0 and summary["updated"] == 1
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["priority"]["name"] == "Low"


def test_a_warning_rule_on_create_is_shown_by_plan_and_does_not_block(bridge):
    with bridge.config_path.open("a") as fh:
        fh.write(
            '\n[[rules.required]]\nstep = "create"\nfields = ["assignee"]\nplatforms = ["jira"]\nseverity = "warn"\n'
        )
    record = add_incident(bridge.sandbox)
    r = bridge.run("--json", "plan")
    assert r.returncode == 0, r.stderr
    warnings = json.loads(r.stdout)["warnings"]
    assert [(w["rule_id"], w["key"]) for w in warnings] == [("required.create.assignee", record["number"])]
    assert bridge.sync_json()[1]["created"] == 1
