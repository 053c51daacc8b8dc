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


def test_a_burst_on_many_incidents_is_applied_by_one_engine_run_each_change_once(bridge):
    sandbox = bridge.sandbox
    for n in range(INCIDENTS):
        add_incident(sandbox, short_description=f"incident {n}")
    assert bridge.sync_json()[0] == 0
    running = Serve(bridge)
    try:
        sandbox.clear_calls()
        records = sandbox.servicenow.incidents()
        store = open_from_config(load_config(bridge.config_path))
        try:
            with store.lock("test holds the writer"):  # the first job waits for it; the others join it
                for n, record in enumerate(records):
                    sandbox.servicenow.update_incident(record["sys_id"], {"short_description": f"Burst {n}"})
                    body = snow_body(sandbox.servicenow.incident(record["sys_id"]))
                    assert running.post("servicenow", body, sign_servicenow(body)).json() == {"status": "queued"}
                deadline = time.monotonic() + 30
                while running.metric("jobs_running") < INCIDENTS:  # every job taken, waiting for the writer
                    assert time.monotonic() < deadline, running.get("/metrics").text
                    time.sleep(0.02)
        finally:
            store.close()
        running.wait_idle(jobs=INCIDENTS)
        for n, record in enumerate(records):
            assert jira_issue_for(sandbox, record["number"])["fields"]["summary"] == f"Burst {n}"
        edits = [w for w in bridge.writes() if w.platform == "jira" and w.method == "PUT"]
        assert len(edits) == INCIDENTS  # each change written once
        assert running.metric("jobs_total", outcome="synced") == INCIDENTS  # each job told its incident's outcome
        assert running.metric("engine_runs_total", kind="record") == 1
        assert [(r["serve"], r["jobs"]) for r in serve_runs(bridge)] == [(f"{INCIDENTS} records", INCIDENTS)]
    finally:
        running.stop()


def test_in_one_run_each_job_gets_its_own_incident_s_outcome(bridge):
    sandbox = bridge.sandbox
    for n in range(2):
        add_incident(sandbox, short_description=f"incident {n}")
    assert bridge.sync_json()[0] == 0
    running = Serve(bridge)
    try:
        changed, untouched = sorted(sandbox.servicenow.incidents(), key=lambda i: i["number"])
        store = open_from_config(load_config(bridge.config_path))
        try:
            with store.lock("test holds the writer"):
                sandbox.servicenow.update_incident(changed["sys_id"], {"short_description": "Changed"})
                for record in (changed, untouched):
                    body = snow_body(sandbox.servicenow.incident(record["sys_id"]))
                    assert running.post("servicenow", body, sign_servicenow(body)).status_code == 202
                deadline = time.monotonic() + 30
                while running.metric("jobs_running") < 2:
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
        finally:
            store.close()
        running.wait_idle(jobs=2)
        assert running.metric("engine_runs_total", kind="record") == 1
        assert running.metric("jobs_total", outcome="synced") == 1
        assert running.metric("jobs_total", outcome="unchanged") == 1
    finally:
        running.stop()
