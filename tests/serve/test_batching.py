"""Group commit: record jobs that arrive while one engine run holds the store's lock join the
next run, so a burst of changes on many incidents costs a few runs, not one per change, and each
change still lands exactly once."""

from __future__ import annotations

import time

from itsm_bridge import Bridge, load_config
from itsm_bridge.store import open_from_config
from tests.integration.test_sync import add_incident, jira_issue_for
from tests.serve.conftest import Serve, sign_servicenow, snow_body

INCIDENTS = 6


def serve_runs(bridge) -> list[dict]:
    """The journal's run entries written by serve's record jobs (not its sweeps)."""
    return [
        e.payload
        for e in Bridge(bridge.config_path).journal()
        if e.kind == "run" and e.payload.get("serve") not in (None, "sweep")
    ]


def test_a_burst_on_many_incidents_is_applied_by_one_engine_run_each_change_once_each_job_told_its_own(bridge):
    sandbox = bridge.sandbox
    for n in range(INCIDENTS + 1):
        add_incident(sandbox, short_description=f"incident {n}")
    assert bridge.sync_json()[0] == 0
    running = Serve(bridge)
    try:
        sandbox.clear_calls()
        *records, untouched = sorted(sandbox.servicenow.incidents(), key=lambda i: i["number"])
        store = open_from_config(load_config(bridge.config_path))
        try:
            with store.lock("test holds the writer"):  # the first job waits for it; the others join it
                for n, record in enumerate(records):
                    sandbox.servicenow.update_incident(record["sys_id"], {"short_description": f"Burst {n}"})
                for record in (*records, untouched):  # the last one's hint is stale: nothing changed
                    body = snow_body(sandbox.servicenow.incident(record["sys_id"]))
                    assert running.post("servicenow", body, sign_servicenow(body)).json() == {"status": "queued"}
                deadline = time.monotonic() + 30
                while running.metric("jobs_running") < INCIDENTS + 1:  # every job taken, waiting for the writer
                    assert time.monotonic() < deadline, running.get("/metrics").text
                    time.sleep(0.02)
        finally:
            store.close()
        running.wait_idle(jobs=INCIDENTS + 1)
        for n, record in enumerate(records):
            assert jira_issue_for(sandbox, record["number"])["fields"]["summary"] == f"Burst {n}"
        edits = [w for w in bridge.writes() if w.platform == "jira" and w.method == "PUT"]
        assert len(edits) == INCIDENTS  # each change written once
        assert running.metric("engine_runs_total", kind="record") == 1
        assert [(r["serve"], r["jobs"]) for r in serve_runs(bridge)] == [(f"{INCIDENTS + 1} records", INCIDENTS + 1)]
        assert running.metric("jobs_total", outcome="synced") == INCIDENTS  # each job told its incident's outcome
        assert running.metric("jobs_total", outcome="unchanged") == 1
    finally:
        running.stop()
