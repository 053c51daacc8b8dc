"""`itsm-bridge audit` timing metrics against the sandbox: incidents with hand-set histories."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from itsm_bridge.sandbox.servicenow.store import snow_time


def audit_metrics(bridge) -> tuple[dict, dict]:
    r = bridge.run("audit", "--format", "json", "--fail-on", "block")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    return report, report["metrics"]


def incident(sandbox, opened, **fields):
    snow = sandbox.servicenow
    group = snow.add_reference("group", "Service Desk")
    values = {
        "short_description": "Mail down",
        "category": "software",
        "impact": "1",
        "urgency": "1",
        "assignment_group": group,
        "opened_at": snow_time(opened),
        **fields,
    }
    return snow.insert_incident(values, updated_on=opened)["sys_id"]


def resolve(sandbox, sys_id, at):
    fields = {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "Restarted"}
    sandbox.servicenow.update_incident(sys_id, fields, updated_on=at)


def test_mtta_takes_the_move_out_of_new_not_a_note_written_after_the_resolve(bridge):
    sandbox = bridge.sandbox
    snow = sandbox.servicenow
    opened = snow.clock.now() - timedelta(days=20)
    sys_id = incident(sandbox, opened)
    snow.update_incident(sys_id, {"state": "2"}, updated_on=opened + timedelta(minutes=10))
    resolve(sandbox, sys_id, opened + timedelta(hours=2))
    snow.update_incident(sys_id, {"work_notes": "post-mortem done"}, user="ana.lima")  # weeks later
    report, m = audit_metrics(bridge)
    # the sys_audit row of the state change decides: before, the note gave 20 days of MTTA
    assert m["mtta"]["overall"] == {"count": 1, "mean_minutes": 10.0, "median_minutes": 10.0}
    assert m["mttr"]["overall"]["mean_minutes"] == 120.0
    assert m["timeline_inconsistent"] == 0 and report["summary"]["api_calls"]["servicenow"] == 3


def test_the_first_assignment_to_a_person_acknowledges(bridge):
    snow = bridge.sandbox.servicenow
    opened = snow.clock.now() - timedelta(days=3)
    sys_id = incident(bridge.sandbox, opened)
    snow.update_incident(
        sys_id, {"assigned_to": snow.add_reference("user", "Beth Anglin")}, updated_on=opened + timedelta(minutes=7)
    )
    snow.update_incident(sys_id, {"state": "2"}, updated_on=opened + timedelta(minutes=30))
    _, m = audit_metrics(bridge)
    assert m["mtta"]["overall"]["mean_minutes"] == 7.0


def test_times_out_of_order_are_a_finding_and_no_number(bridge):
    snow = bridge.sandbox.servicenow
    opened = snow.clock.now() - timedelta(days=3)
    incident(
        bridge.sandbox,
        opened,
        state="7",
        close_code="Solved (Permanently)",
        close_notes="done",
        resolved_at=snow_time(opened + timedelta(hours=5)),
        closed_at=snow_time(opened + timedelta(hours=1)),
    )
    r = bridge.run("audit", "--format", "json")
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    found = [f for f in report["findings"] if f["kind"] == "timeline_inconsistent"]
    assert [(f["field"], f["platform"], f["severity"]) for f in found] == [("closed", "servicenow", "warn")]
    assert report["metrics"]["timeline_inconsistent"] == 1 and report["metrics"]["mttr"]["overall"]["count"] == 0


def test_first_contact_resolution_and_reopen_rate_from_the_incident_counters(bridge):
    snow = bridge.sandbox.servicenow
    opened = snow.clock.now() - timedelta(days=5)
    kept = incident(bridge.sandbox, opened, state="2")
    resolve(bridge.sandbox, kept, opened + timedelta(hours=1))
    moved = incident(bridge.sandbox, opened, state="2", category="network")
    snow.update_incident(
        moved, {"assignment_group": snow.add_reference("group", "Network")}, updated_on=opened + timedelta(hours=1)
    )
    resolve(bridge.sandbox, moved, opened + timedelta(hours=2))
    snow.update_incident(moved, {"state": "2"}, updated_on=opened + timedelta(hours=3))  # reopened
    resolve(bridge.sandbox, moved, opened + timedelta(hours=4))
    _, m = audit_metrics(bridge)
    fcr, reopen = m["first_contact_resolution"], m["reopen_rate"]
    assert fcr["measured"] and fcr["overall"]["count"] == 2 and fcr["overall"]["first_contact"] == 1
    assert fcr["by_category"]["Network"]["rate_pct"] == 0.0 and fcr["by_category"]["Software"]["rate_pct"] == 100.0
    assert reopen["overall"] == {
        "count": 2,
        "reopened": 1,
        "rate_pct": 50.0,
        "mean_reopens": 0.5,
        "median_reopens": 0.5,
    }


def test_mttd_only_with_a_configured_detected_at_field(bridge):
    snow = bridge.sandbox.servicenow
    snow.add_column("incident", "u_detected_at")
    opened = snow.clock.now() - timedelta(days=2)
    incident(bridge.sandbox, opened, u_detected_at=snow_time(opened - timedelta(minutes=12)))
    _, m = audit_metrics(bridge)
    assert m["mttd"]["measured"] is False and m["mttd"]["overall"]["count"] == 0
    with bridge.config_path.open("a") as f:
        f.write('\n[audit.detected_at]\nservicenow = "u_detected_at"\n')
    _, m = audit_metrics(bridge)
    assert m["mttd"]["measured"] is True
    assert m["mttd"]["overall"] == {"count": 1, "mean_minutes": 12.0, "median_minutes": 12.0}
    assert m["mttd"]["by_priority"]["P1"]["count"] == 1


def test_a_seeded_sandbox_acknowledges_before_it_resolves(bridge):
    bridge.sandbox.seed(60)
    _, m = audit_metrics_any(bridge)
    assert m["timeline_inconsistent"] == 0
    assert m["mtta"]["overall"]["mean_minutes"] < m["mttr"]["overall"]["mean_minutes"]
    for priority, mttr in m["mttr"]["by_priority"].items():
        assert m["mtta"]["by_priority"][priority]["mean_minutes"] <= mttr["mean_minutes"], priority
    assert m["first_contact_resolution"]["measured"] and m["reopen_rate"]["measured"]


def audit_metrics_any(bridge) -> tuple[dict, dict]:
    """The audit whatever its findings (a seeded sandbox has some on purpose)."""
    r = bridge.run("audit", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    report = json.loads(r.stdout)
    return report, report["metrics"]


def test_jira_as_system_of_record_acknowledges_and_counts_reopens_from_the_changelog(bridge):
    text = bridge.config_path.read_text()
    text = text.replace('source = "servicenow"', 'source = "jira"').replace(
        'targets = ["jira", "statuspage"]', 'targets = ["servicenow"]'
    )
    bridge.config_path.write_text(text)
    jira = bridge.sandbox.jira
    opened = jira.clock.now().replace(microsecond=0) - timedelta(days=4)
    fields = {"summary": "Checkout fails", "priority": {"name": "High"}}
    for minutes, step in (
        (0, None),
        (15, "Work in progress"),
        (120, "Resolved"),
        (180, "Work in progress"),
        (300, "Resolved"),
    ):
        jira.clock.freeze(opened + timedelta(minutes=minutes))
        if step is None:
            key = jira.create_issue(fields, updated=opened)
        else:
            jira.transition_to(key, step, resolution="Done")
    jira.clock.freeze(None)
    jira.reindex()
    report, m = audit_metrics_any(bridge)
    assert m["mtta"]["overall"]["mean_minutes"] == 15.0  # the move out of Open, from the changelog
    assert m["mttr"]["overall"]["mean_minutes"] == 300.0
    assert m["reopen_rate"]["measured"] and m["reopen_rate"]["overall"]["reopened"] == 1
    assert m["first_contact_resolution"]["measured"] is False  # Jira holds no assignment group
    assert any(c.path == "/rest/api/3/changelog/bulkfetch" for c in bridge.sandbox.calls())


def test_metrics_csv_has_a_row_per_metric_and_group(bridge):
    snow = bridge.sandbox.servicenow
    opened = snow.clock.now() - timedelta(days=1)
    sys_id = incident(bridge.sandbox, opened)
    snow.update_incident(sys_id, {"state": "2"}, updated_on=opened + timedelta(minutes=20))
    resolve(bridge.sandbox, sys_id, opened + timedelta(hours=3))
    r = bridge.run("audit", "--format", "metrics-csv", "--fail-on", "block")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    by = {(row["metric"], row["breakdown"], row["group"]): row for row in rows}
    assert by[("mtta", "overall", "all")]["mean_minutes"] == "20.0" and by[("mtta", "overall", "all")]["n"] == "1"
    assert by[("mttr", "priority", "P1")]["median_minutes"] == "180.0"
    assert by[("mttd", "overall", "all")]["measured"] == "False" and by[("mttd", "overall", "all")]["n"] == "0"
    fcr = by[("first_contact_resolution", "service", "(none)")]
    assert (fcr["hits"], fcr["rate_pct"], fcr["mean_minutes"]) == ("1", "100.0", "")
    assert by[("reopen_rate", "category", "Software")]["median_per_incident"] == "0"
