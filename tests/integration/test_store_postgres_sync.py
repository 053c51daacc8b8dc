"""A sync over a PostgreSQL store, end to end: what it learns of Jira (the workflow, longer than
a cursor value) is kept, and the run exits 0 (before the facts table: `value too long for type
character varying(100)`, exit 1, on every sync)."""

from __future__ import annotations

from itsm_bridge.store import open_store
from tests.integration.test_sync import add_incident, jira_issue_for
from tests.pg import needs_pg, pg_url  # noqa: F401 (pg_url: a fixture)


@needs_pg
def test_a_sync_on_postgresql_keeps_what_it_learned_of_jira(bridge, pg_url):
    bridge.config_path.write_text(
        bridge.config_path.read_text().replace(f"sqlite:///{bridge.config_path.with_suffix('.sqlite')}", pg_url)
    )
    record = add_incident(bridge.sandbox)
    code, summary = bridge.sync_json()
    assert code == 0 and summary["created"] == 1, summary
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["status"]["name"] == "Work in progress"
    store = open_store(pg_url)
    try:
        facts = store.facts("jira")
        assert facts is not None and facts.values["workflow"] and len(str(facts.values)) > 100
        assert store.last_run() is not None and store.last_run().run_id == summary["run_id"]
    finally:
        store.close()
