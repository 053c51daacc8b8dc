"""`Engine.sync_records` (what `serve` runs for the records webhooks name) reads a batch of records
in bulk: a few read calls per platform for the whole batch, not a few per record; and each
incident's change is applied once however many of its records are named. The sandbox over
loopback HTTP, calls counted in its call log."""

from __future__ import annotations

from collections import Counter

from itsm_bridge import Bridge, load_config, stopping
from itsm_bridge.connectors.jira import JiraConnector
from itsm_bridge.model import RemoteRef
from itsm_bridge.records import RemoteRecord
from itsm_bridge.runner import build_all
from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.core import Call
from itsm_bridge.store import open_from_config
from itsm_bridge.sync.engine import Engine
from itsm_bridge.sync.summary import RunSummary
from tests.integration.test_notes_identity import jira_comment_by_a_person
from tests.integration.test_sync import add_incident, jira_issue_for
from tests.reliability.edits import jira_comment_texts, snow_note_texts

INCIDENTS = 10
READ_POSTS = ("/rest/api/3/search/jql", "/rest/api/3/search/approximate-count", "/rest/api/3/issue/bulkfetch")


def is_read(call: Call) -> bool:
    return call.method == "GET" or call.path in READ_POSTS


def sync_records(bridge, refs: list[RemoteRef]) -> tuple[RunSummary, list[Call]]:
    """`sync_records(refs)` under the store's lock, as `serve`'s worker runs it; with the calls it
    made. No cursor moves."""
    config = load_config(bridge.config_path)
    store = open_from_config(config)
    try:
        with store.lock("test"):
            cursors = [store.cursor(p) for p in ("servicenow", "jira")]
            bridge.sandbox.clear_calls()
            summary = Engine(config, store, build_all(config)).sync_records(refs)
            assert [store.cursor(p) for p in ("servicenow", "jira")] == cursors
            return summary, bridge.sandbox.calls()
    finally:
        store.close()


def linked_incidents(bridge, n: int) -> tuple[list[dict], dict[str, dict]]:
    """`n` ServiceNow incidents synced to Jira (and the page), and their Jira issues by number."""
    made = [add_incident(bridge.sandbox, short_description=f"incident {i}") for i in range(n)]
    assert Bridge(bridge.config_path).sync().exit_code == 0  # in this process: faster than the CLI
    return made, {r["number"]: jira_issue_for(bridge.sandbox, r["number"]) for r in made}


def change_each(sb: Sandbox, made: list[dict], issues: dict[str, dict]) -> None:
    """One change per incident: odd ones on ServiceNow (the summary), even ones on Jira (a comment)."""
    for n, record in enumerate(made):
        if n % 2:
            sb.servicenow.update_incident(record["sys_id"], {"short_description": f"changed {n}"})
        else:
            jira_comment_by_a_person(sb, issues[record["number"]]["key"], f"looked at {n}")


def test_forty_named_records_cost_a_few_reads_per_platform_and_each_change_lands_once(bridge):
    sb = bridge.sandbox
    made, issues = linked_incidents(bridge, INCIDENTS)
    change_each(sb, made, issues)
    snow = [RemoteRef("servicenow", r["sys_id"]) for r in made]
    jira = [RemoteRef("jira", issues[r["number"]]["id"]) for r in made]
    strays = [RemoteRef("jira", "990001"), RemoteRef("servicenow", "0" * 32)]  # a record not linked, one gone
    refs = [ref for pair in zip(snow, jira, strict=True) for ref in pair] + snow + jira[:8] + strays  # bursts
    assert len(refs) == 40

    summary, calls = sync_records(bridge, refs)

    assert summary.failed == 0 and summary.quarantined == 0, summary.errors
    reads = Counter(c.platform for c in calls if is_read(c))
    assert reads["servicenow"] <= 2, [(c.method, c.path) for c in calls if c.platform == "servicenow"]
    assert reads["jira"] <= 2, [(c.method, c.path) for c in calls if c.platform == "jira"]
    assert not [c for c in calls if "990001" in c.path + c.body]  # a record not linked is not read
    edits = Counter(c.path for c in calls if c.platform == "jira" and c.method == "PUT")
    notes = Counter(c.path for c in calls if c.platform == "servicenow" and c.method == "PATCH")
    for n, record in enumerate(made):
        issue = issues[record["number"]]
        if n % 2:
            assert jira_issue_for(sb, record["number"])["fields"]["summary"] == f"changed {n}"
            assert edits[f"/rest/api/3/issue/{issue['id']}"] == 1
        else:
            assert sum(f"looked at {n}" in t for t in snow_note_texts(sb, record["sys_id"])) == 1
            assert notes[f"/api/now/table/incident/{record['sys_id']}"] == 1
            assert sum(f"looked at {n}" in t for t in jira_comment_texts(sb, issue["key"])) == 1
    assert sum(edits.values()) == INCIDENTS // 2 and sum(notes.values()) == INCIDENTS // 2


def test_a_stop_asked_for_while_reading_plans_and_writes_nothing(bridge, monkeypatch):
    made, issues = linked_incidents(bridge, 2)
    change_each(bridge.sandbox, made, issues)
    read = JiraConnector.get_many

    def read_then_stop(self: JiraConnector, refs: list[RemoteRef]) -> list[RemoteRecord]:
        found = read(self, refs)
        stopping.request()  # as SIGINT does, once the batch's records are read
        return found

    monkeypatch.setattr(JiraConnector, "get_many", read_then_stop)
    try:
        summary, calls = sync_records(bridge, [RemoteRef("servicenow", r["sys_id"]) for r in made])
    finally:
        stopping.reset()
    assert summary.interrupted == "SIGINT"
    assert [c for c in calls if not is_read(c)] == []
    assert summary.writes == 0
