"""Each job of a batch is told its own incident's outcome, read from what the run journaled and
held: a record the run quarantined is `quarantined` (linked or new), the others their own."""

from __future__ import annotations

import time

from itsm_bridge import load_config
from itsm_bridge.store import open_from_config
from tests.integration.test_sync import add_incident, jira_issue_for
from tests.serve.conftest import Serve, sign_servicenow, snow_body

UNMAPPED = {"category": "facilities", "subcategory": ""}  # no taxonomy entry: a blocking finding


def test_jobs_of_one_run_are_told_quarantined_for_their_held_records_and_synced_for_the_others(bridge):
    sandbox = bridge.sandbox
    linked, clean = (add_incident(sandbox, short_description=f"incident {n}") for n in range(2))
    assert bridge.sync_json()[0] == 0
    running = Serve(bridge)
    try:
        sandbox.servicenow.update_incident(linked["sys_id"], UNMAPPED)
        sandbox.servicenow.update_incident(clean["sys_id"], {"short_description": "Mail down for everyone"})
        new = add_incident(sandbox, short_description="new and unmapped", **UNMAPPED)
        store = open_from_config(load_config(bridge.config_path))
        try:
            with store.lock("test holds the writer"):  # every job joins one run
                for record in (linked, clean, new):
                    body = snow_body(sandbox.servicenow.incident(record["sys_id"]))
                    assert running.post("servicenow", body, sign_servicenow(body)).json() == {"status": "queued"}
                deadline = time.monotonic() + 30
                while running.metric("jobs_running") < 3:
                    assert time.monotonic() < deadline, running.get("/metrics").text
                    time.sleep(0.02)
        finally:
            store.close()
        running.wait_idle(jobs=3)
        assert running.metric("engine_runs_total", kind="record") == 1
        assert running.metric("jobs_total", outcome="quarantined") == 2, running.get("/metrics").text
        assert running.metric("jobs_total", outcome="synced") == 1
        assert jira_issue_for(sandbox, clean["number"])["fields"]["summary"] == "Mail down for everyone"
    finally:
        running.stop()
