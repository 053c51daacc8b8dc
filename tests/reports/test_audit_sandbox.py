"""`itsm-bridge audit` against a seeded sandbox, through the CLI in its own process.

The acceptance audit runs BEFORE any sync: a sync would repair most of the seeded inconsistencies
(it corrects Jira's priority, settles the state, resolves the page), so it would erase what the
audit must find. With no sync yet nothing is due to be linked either (see reports/links.py).
"""

from __future__ import annotations

import csv
import io
import json
import time

from itsm_bridge.correlation import PROPERTY_KEY, label_for
from itsm_bridge.reports.findings import FIELDS, KINDS

SEEDED = 150


def expected(sandbox) -> set[tuple[str, str]]:
    return {(kind, key) for kind, keys in sandbox.manifest.items() for key in keys}


def audit(bridge, *args):
    return bridge.run("audit", *args)


def test_seeded_sandbox_yields_exactly_the_manifest_in_json_and_csv(bridge, tmp_path):
    bridge.sandbox.seed(SEEDED)
    want = expected(bridge.sandbox)
    assert len(want) == 5 * (SEEDED // 50)

    r = audit(bridge, "--format", "json")
    assert r.returncode == 1, r.stderr  # findings reach the default --fail-on warn
    report = json.loads(r.stdout)
    assert {(f["kind"], f["key"]) for f in report["findings"]} == want
    assert len(report["findings"]) == len(want)  # one finding each, none twice

    out = tmp_path / "audit.csv"
    r = audit(bridge, "--format", "csv", "--out", str(out))
    assert r.returncode == 1, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {(row["kind"], row["key"]) for row in rows} == want
    assert [tuple(row.values()) for row in rows] == [tuple(str(f[k]) for k in FIELDS) for f in report["findings"]]


def test_findings_name_the_platform_and_what_was_expected(bridge):
    bridge.sandbox.seed(100)
    report = json.loads(audit(bridge, "--format", "json").stdout)
    by = {(f["kind"], f["key"]): f for f in report["findings"]}
    platform = {
        "unmapped_category": "servicenow",
        "unmapped_service": "servicenow",
        "priority_off_matrix": "jira",
        "status_disagree": "jira",
        "page_stale": "statuspage",
    }
    for kind, keys in bridge.sandbox.manifest.items():
        for key in keys:
            f = by[(kind, key)]
            assert f["platform"] == platform[kind]
            assert f["severity"] == ("block" if kind.startswith("unmapped") else "warn")
            assert f["message"]
    snow = {i["number"]: i for i in bridge.sandbox.servicenow.incidents()}
    for key in bridge.sandbox.manifest["priority_off_matrix"]:
        f = by[("priority_off_matrix", key)]
        assert f["expected"] == f"P{snow[key]['priority']}" and f["value"] != f["expected"]
    for key in bridge.sandbox.manifest["status_disagree"]:
        assert (by[("status_disagree", key)]["value"], by[("status_disagree", key)]["expected"]) == (
            "in_progress",
            "resolved",
        )


def test_audit_writes_nothing_to_any_platform(bridge):
    bridge.sandbox.seed(60)
    bridge.sandbox.clear_calls()
    assert audit(bridge, "--format", "json").returncode == 1
    calls = bridge.sandbox.calls()
    assert calls, "the audit read nothing"
    assert bridge.writes() == []
    assert {c.method for c in calls} <= {"GET", "POST"}  # POST only for Jira's read-only search


def test_json_has_the_documented_keys(bridge):
    bridge.sandbox.seed(60)
    report = json.loads(bridge.run("--json", "audit").stdout)  # --json means --format json
    assert report["schema"] == "itsm-bridge/audit/2"
    assert set(report) == {
        "records",  # audit/2 adds these to audit/1's keys
        "baseline",
        "schema",
        "generated_at",
        "since",
        "origin",
        "flow",
        "summary",
        "findings",
        "categories",
        "completeness",
        "metrics",
    }
    assert set(report["summary"]) == {
        "incidents",
        "records",
        "records_without_key",
        "api_calls",
        "findings",
        "by_severity",
        "by_kind",
        "clean",
        "incidents_with_findings",  # audit/2
        "incidents_by_severity",
        "held_back",
    }
    assert report["baseline"] is None  # without --baseline
    assert all(set(f) == set(FIELDS) and f["kind"] in KINDS for f in report["findings"])
    assert set(report["metrics"]) == {
        "incidents",
        "timeline_inconsistent",
        "mtta",
        "mttr",
        "mttd",
        "first_contact_resolution",
        "reopen_rate",
        "sla",
        "recurrence",
        "weekly_volume",
        "weekly",  # audit/2
        "communication",
    }
    assert set(report["metrics"]["weekly"][0]) == {
        "week",
        "opened",
        "resolved",
        "sla_judged",
        "sla_met",
        "sla_compliance_pct",
        "mttr",
    }
    keys_with_findings = {f["key"] for f in report["findings"]}
    assert set(report["records"]) == keys_with_findings
    snow = {i["number"]: i["sys_id"] for i in bridge.sandbox.servicenow.incidents()}
    base = bridge.sandbox.servicenow.base_url.rstrip("/")  # no [audit.web_url]: the instance's own URL
    for key, records in report["records"].items():
        assert records["servicenow"]["id"] == snow[key] and records["servicenow"]["ref"] == key
        assert records["servicenow"]["url"] == f"{base}/nav_to.do?uri=incident.do%3Fsys_id%3D{snow[key]}"
    assert set(report["metrics"]["mttr"]) == {"overall", "by_priority", "by_category", "by_service"}
    assert report["summary"]["incidents"] == 60 and report["summary"]["records"]["servicenow"] == 60
    assert sum(report["categories"]["servicenow"].values()) == 60
    assert {r["priority"] for r in report["metrics"]["sla"]} == {"P1", "P2", "P3", "P4", "P5"}


def test_fail_on_block_exits_1_with_a_blocking_finding_and_0_on_a_clean_store(bridge, sandbox):
    from tests.integration.test_sync import add_incident, settle

    add_incident(sandbox)
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    clean = audit(bridge, "--fail-on", "block")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No findings" in clean.stdout

    add_incident(sandbox, category="facilities")  # maps to no canonical category: blocked and quarantined
    assert bridge.sync_json()[0] == 1
    blocked = bridge.run("--json", "audit", "--fail-on", "block")
    assert blocked.returncode == 1
    kinds = {f["kind"] for f in json.loads(blocked.stdout)["findings"]}
    assert kinds == {"unmapped_category", "quarantined"}


def test_duplicate_and_unlinked_copies_are_found_after_a_sync(bridge, sandbox):
    from tests.integration.test_sync import add_incident, jira_issue_for, settle

    record = add_incident(sandbox)
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    key = record["number"]
    original = jira_issue_for(sandbox, key)
    copy = sandbox.jira.create_issue(
        {
            "summary": "copy",
            "issuetype": {"name": "[System] Incident"},
            "project": {"key": sandbox.jira.project_key},
            "labels": [label_for(key)],
        }
    )
    sandbox.jira.set_property(copy, PROPERTY_KEY, {"key": key})
    sandbox.jira.reindex()
    report = json.loads(bridge.run("--json", "audit").stdout)
    dupes = [f for f in report["findings"] if f["kind"] == "duplicate"]
    assert [(f["key"], f["platform"], f["ref"], f["expected"]) for f in dupes] == [(key, "jira", copy, original["key"])]


def test_since_keeps_only_incidents_opened_since(bridge):
    bridge.sandbox.seed(100)
    everything = json.loads(audit(bridge, "--format", "json").stdout)
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 10 * 86400))
    recent = json.loads(audit(bridge, "--format", "json", "--since", since).stdout)
    assert 0 < recent["summary"]["incidents"] < everything["summary"]["incidents"]
    assert {f["key"] for f in recent["findings"]} <= {f["key"] for f in everything["findings"]}
    assert audit(bridge, "--since", "last tuesday").returncode == 2
