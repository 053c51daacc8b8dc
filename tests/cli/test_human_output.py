"""What a person reads: the human (non --json) output after a run with quarantines and
conflicts renders counts, findings and conflicts as text, never as Python reprs."""

from __future__ import annotations

import json
import re

from tests.cli.conftest import local
from tests.integration.test_sync import add_incident, jira_issue_for, settle

REPR = re.compile(r"\{'|\['|\\n")


def _sync_with_quarantine_and_conflict(bridge):
    """One incident in conflict (both sides changed its state) and one held (unmapped category)."""
    record = add_incident(bridge.sandbox, description="Queue on mx2 growing.\nSecond line.")
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])
    settle(bridge)
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"state": "3"})
    bridge.sandbox.jira.transition_to(issue["key"], "Resolved", resolution="Done")
    held = add_incident(bridge.sandbox, category="facilities", subcategory="")
    settle(bridge)
    return bridge.run("sync"), held


def test_human_output_of_a_run_with_quarantines_and_conflicts_has_no_python_reprs(bridge):
    sync, _ = _sync_with_quarantine_and_conflict(bridge)
    assert sync.returncode == 1, sync.stdout + sync.stderr
    assert "read servicenow 2, jira 1;" in sync.stdout
    shown = {"sync": sync.stdout}
    for args in (("plan",), ("status",), ("audit",), ("journal", "show"), ("quarantine", "list")):
        shown[" ".join(args)] = local(bridge, *args).output
    for command, text in shown.items():
        assert not REPR.search(text), f"`{command}` prints a Python repr:\n{text}"
    status = shown["status"]
    assert "state: kept jira (owner)" in status
    assert re.search(r"^    jira\s{8}resolved$", status, re.M) and re.search(r"^    servicenow  on_hold$", status, re.M)


def test_status_reads_top_down_without_contradicting_itself(bridge):
    _sync_with_quarantine_and_conflict(bridge)
    retry = bridge.run("retry")  # nothing fixed: the record stays held, and this run holds it again
    assert retry.returncode == 1
    text = local(bridge, "status").output
    order = ["Last run ", "Needs attention:", "Held in quarantine (1", "Recent conflicts (1)", "Linked incidents:"]
    at = [text.find(heading) for heading in order]
    assert -1 not in at and at == sorted(at), text
    assert "newly quarantined 1" in text.splitlines()[0]


def test_journal_show_renders_each_run_with_its_counts(bridge):
    _sync_with_quarantine_and_conflict(bridge)
    entries = json.loads(local(bridge, "--json", "journal", "show").output)
    runs = [str(e["seq"]) for e in entries if e["kind"] == "run"]
    lines = local(bridge, "journal", "show").output.splitlines()
    rows = [line for line in lines if line.split()[:1] in [[seq] for seq in runs]]
    assert len(rows) == len(runs) == 2
    assert re.search(r" run +read jira 0, servicenow 1; created 1, transitioned 1, published 1$", rows[0])
    assert "read jira 1, servicenow 2; updated 1" in rows[1] and "quarantined 1, conflicts 1" in rows[1]


def test_a_quarantine_entry_keeps_its_id_across_retry(bridge):
    _, held = _sync_with_quarantine_and_conflict(bridge)
    before = json.loads(local(bridge, "--json", "quarantine", "list").output)
    assert [(q["key"], q["attempts"]) for q in before] == [(held["number"], 1)]
    for attempts in (2, 3):
        assert bridge.run("retry").returncode == 1
        after = json.loads(local(bridge, "--json", "quarantine", "list").output)
        assert [(q["id"], q["key"], q["attempts"]) for q in after] == [(before[0]["id"], held["number"], attempts)]
    assert str(before[0]["id"]) in local(bridge, "status").output.split("Held in quarantine")[1].splitlines()[3]
