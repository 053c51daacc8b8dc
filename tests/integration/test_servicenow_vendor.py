"""ServiceNow as an instance treats one integration user, through the CLI: an hourly rate limit
rule, notes a read ACL hides or denies, display values in the user's time zone."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from itsm_bridge.sandbox.app import Sandbox
from tests.integration.conftest import Bridge
from tests.integration.test_sync import add_incident, jira_issue_for, settle


def past_hour(sandbox: Sandbox) -> datetime:
    """Freeze ServiceNow's clock ten minutes into the last full hour (an hourly rule's reset is
    then 50 minutes away); returns the start of the next hour, when the rule resets."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    sandbox.servicenow.clock.freeze(hour + timedelta(minutes=10))
    return hour + timedelta(hours=1)


def next_hour(sandbox: Sandbox, reset: datetime) -> None:
    sandbox.servicenow.clock.freeze(reset + timedelta(seconds=1))


def snow_cursor(bridge: Bridge) -> str | None:
    return json.loads(bridge.run("--json", "status").stdout)["cursors"].get("servicenow")


def test_an_hourly_rule_spent_defers_servicenow_to_the_next_run_without_waiting_an_hour(bridge: Bridge) -> None:
    sb = bridge.sandbox
    reset = past_hour(sb)
    record = add_incident(sb)
    sb.servicenow.hourly_rule = 0  # a rule allowing none stands for this hour's requests spent
    started = time.monotonic()
    code, summary = bridge.sync_json()
    assert code == 1 and time.monotonic() - started < 30, summary
    assert summary["paused"] == {"servicenow": reset.isoformat()} and summary["created"] == 0 and summary["failed"] == 0
    assert [c.status for c in sb.calls("servicenow")] == [429]  # asked once, not slept out or retried
    assert not snow_cursor(bridge) and sb.jira.issues() == []  # the cursor did not move
    human = bridge.run("sync")
    assert human.returncode == 1 and f"resets at {reset.isoformat()}" in human.stdout
    next_hour(sb, reset)
    sb.servicenow.hourly_rule = 100
    code, summary = bridge.sync_json()
    assert code == 0 and summary["created"] == 1 and summary["paused"] == {}, summary
    jira_issue_for(sb, record["number"])  # exactly one


def test_a_servicenow_write_past_the_rule_is_deferred_and_lands_next_hour(bridge: Bridge) -> None:
    sb = bridge.sandbox
    reset = past_hour(sb)
    first = add_incident(sb)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(sb, first["number"])
    sb.jira.transition_to(issue["key"], "Resolved", resolution="Done")
    second = add_incident(sb, short_description="VPN drops every 10 min", category="network", subcategory="vpn")
    settle(bridge)
    sb.servicenow.hourly_rule = 2  # the read of the new incident and its notes; not the resolve
    code, summary = bridge.sync_json()
    assert code == 1 and summary["paused"] == {"servicenow": reset.isoformat()}, summary
    assert summary["deferred"] >= 1 and summary["failed"] == 0 and summary["created"] == 1
    assert sb.servicenow.incident(first["sys_id"])["state"] != "6"
    jira_issue_for(sb, second["number"])  # the rest of the run went on
    next_hour(sb, reset)
    sb.servicenow.hourly_rule = 100
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0 and summary["paused"] == {} and summary["created"] == 0, summary
    assert sb.servicenow.incident(first["sys_id"])["state"] == "6"
    jira_issue_for(sb, first["number"]), jira_issue_for(sb, second["number"])  # each still exactly one


def test_doctor_says_when_an_acl_hides_or_denies_notes_and_sync_stops_on_a_403(bridge: Bridge) -> None:
    sb = bridge.sandbox
    add_incident(sb, work_notes="Queue on mx2 is draining.")
    sb.servicenow.journal_access = "hidden"
    doctor = bridge.run("--json", "doctor")
    notes = next(c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "read notes")
    assert doctor.returncode == 4 and not notes["ok"] and "hides them" in notes["detail"], doctor.stdout
    sb.servicenow.journal_access = "denied"
    doctor = bridge.run("doctor")
    assert doctor.returncode == 4 and "cannot read sys_journal_field" in doctor.stdout and "never sync" in doctor.stdout
    result = bridge.run("sync")
    assert result.returncode == 4 and "sys_journal_field" in result.stderr
    assert bridge.writes() == []  # stopped before anything was half-written
    sb.servicenow.journal_access = "read"
    assert bridge.run("doctor").returncode == 0


def test_a_user_time_zone_far_from_utc_changes_no_time_the_bridge_keeps(bridge: Bridge) -> None:
    sb = bridge.sandbox
    sb.servicenow.user_timezone = "America/Los_Angeles"
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    record = add_incident(sb)
    sb.servicenow.update_incident(record["sys_id"], {"description": "Still growing."}, updated_on=at)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    assert snow_cursor(bridge) == at.isoformat()  # the value (UTC), not the display value (8 hours off)


def test_doctor_warns_without_failing_when_an_acl_denies_sys_audit(bridge: Bridge) -> None:
    sb = bridge.sandbox
    add_incident(sb)
    sb.servicenow.audit_access = "denied"
    doctor = bridge.run("--json", "doctor")
    history = next(c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "read history")
    assert doctor.returncode == 0 and history["ok"] and history["warning"], doctor.stdout
    assert "cannot read sys_audit" in history["detail"] and "read on sys_audit" in history["fix"]
    table = bridge.run("doctor")
    row = next(line for line in table.stdout.splitlines() if "read history" in line)
    assert table.returncode == 0 and " warn " in f" {row} ", table.stdout
    sb.servicenow.audit_access = "read"
    history = next(
        c for c in json.loads(bridge.run("--json", "doctor").stdout)["checks"] if c["check"] == "read history"
    )
    assert history["ok"] and not history["warning"]
