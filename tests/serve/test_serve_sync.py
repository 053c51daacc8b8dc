"""Webhooks are hints: the record is read again through the API and synced by the one write path."""

from __future__ import annotations

import time

from itsm_bridge import load_config
from itsm_bridge.store import open_from_config
from tests.integration.test_sync import add_incident, jira_issue_for
from tests.serve.conftest import Serve, jira_body, serve_config, sign_jira, sign_servicenow, snow_body


def first_incident(bridge) -> dict:
    return sorted(bridge.sandbox.servicenow.incidents(), key=lambda i: i["number"])[0]


def test_a_real_servicenow_change_then_its_webhook_is_synced_without_a_sync_run(serve, bridge):
    record = first_incident(bridge)
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Mail down for everyone"})
    body = snow_body(bridge.sandbox.servicenow.incident(record["sys_id"]))
    assert serve.post("servicenow", body, sign_servicenow(body)).status_code == 202
    serve.wait_idle(jobs=1)
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["summary"] == "Mail down for everyone"
    assert serve.metric("jobs_total", outcome="synced") == 1
    assert serve.metric("writes_total", platform="jira") >= 1


def test_a_real_jira_resolve_then_its_webhook_reaches_servicenow(serve, bridge):
    record = first_incident(bridge)
    issue = jira_issue_for(bridge.sandbox, record["number"])
    bridge.sandbox.jira.transition_to(issue["key"], "Resolved", resolution="Done")
    body = jira_body({"id": issue["id"], "key": issue["key"], "fields": {}})
    assert serve.post("jira", body, sign_jira(body)).status_code == 202
    serve.wait_idle(jobs=1)
    assert bridge.sandbox.servicenow.incident(record["sys_id"])["state"] == "6"


def test_a_payload_that_lies_about_a_record_writes_nothing(serve, bridge):
    record = first_incident(bridge)
    issue = jira_issue_for(bridge.sandbox, record["number"])
    before = len(bridge.writes())
    lie = {
        "id": issue["id"],
        "key": issue["key"],
        "fields": {"summary": "Forged summary", "status": {"name": "Resolved"}, "resolution": {"name": "Done"}},
    }
    body = jira_body(lie, changelog={"items": [{"field": "status", "toString": "Resolved"}]})
    assert serve.post("jira", body, sign_jira(body)).status_code == 202
    serve.wait_idle(jobs=1)  # else the next lie, about the same incident, may collapse into this job
    forged = snow_body({**record, "sys_updated_on": "2099-01-01 00:00:00", "number": "INC9999999"})
    assert serve.post("servicenow", forged, sign_servicenow(forged)).status_code == 202
    serve.wait_idle(jobs=2)
    unknown = snow_body({"sys_id": "0" * 32, "number": "INC0000001", "sys_updated_on": "2099-01-01 00:00:00"})
    assert serve.post("servicenow", unknown, sign_servicenow(unknown)).status_code == 202
    serve.wait_idle(jobs=3)
    assert bridge.writes()[before:] == []
    assert bridge.sandbox.servicenow.incident(record["sys_id"])["state"] == record["state"]
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["summary"] == record["short_description"]
    assert serve.metric("jobs_total", outcome="unchanged") == 3


def test_a_burst_of_webhooks_for_one_incident_collapses_into_one_waiting_job(serve, bridge):
    record = first_incident(bridge)
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Burst"})
    body = snow_body(bridge.sandbox.servicenow.incident(record["sys_id"]))
    store = open_from_config(load_config(bridge.config_path))
    try:
        with store.lock("test holds the writer"):  # the first job starts and waits for the lock
            answers = [serve.post("servicenow", body, sign_servicenow(body)).json()["status"] for _ in range(20)]
            time.sleep(0.2)
            assert serve.metric("queue_depth") == 1 and serve.metric("queue_oldest_job_age_seconds") > 0
    finally:
        store.close()
    serve.wait_idle(jobs=2)
    assert answers.count("queued") == 2 and answers.count("collapsed") == 18
    assert serve.metric("jobs_total", outcome="synced") + serve.metric("jobs_total", outcome="unchanged") == 2
    summaries = [w for w in bridge.writes() if w.platform == "jira" and w.method == "PUT"]
    assert len(summaries) == 1  # the summary written once


def test_the_sweep_catches_a_change_whose_webhook_was_lost(bridge):
    add_incident(bridge.sandbox, short_description="incident 0")
    assert bridge.sync_json()[0] == 0
    record = first_incident(bridge)
    serve_config(bridge, sweep=1)
    running = Serve(bridge)
    try:
        bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Nobody told serve"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if jira_issue_for(bridge.sandbox, record["number"])["fields"]["summary"] == "Nobody told serve":
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the sweep did not sync the change")
    finally:
        code, _ = running.stop()
    assert code == 143


def test_metrics_health_and_readiness_answer_and_sigint_stops_with_130(serve, bridge):
    assert serve.url.startswith("http://127.0.0.1:")  # loopback unless --host says otherwise
    assert serve.get("/healthz").json() == {"ok": True}
    assert serve.get("/readyz").json() == {"ready": True}
    text = serve.get("/metrics").text
    for family in (
        "queue_depth",
        "queue_oldest_job_age_seconds",
        "jobs_total",
        "webhook_rejects_total",
        "writes_total",
        "api_calls_total",
        "rate_limited_total",
    ):
        assert f"# TYPE itsm_bridge_serve_{family} " in text
    assert serve.get("/nothing").status_code == 404
    code, err = serve.stop(__import__("signal").SIGINT)
    assert code == 130, err
    assert "Traceback" not in err


def test_a_write_that_fails_for_now_gets_a_later_run_of_its_own(bridge):
    text = bridge.config_path.read_text()
    bridge.config_path.write_text(text.replace("page_size = 1000\n", "page_size = 1000\nmax_retries = 0\n", 1))
    add_incident(bridge.sandbox, short_description="incident 0")
    assert bridge.sync_json()[0] == 0
    running = Serve(bridge)
    try:
        record = first_incident(bridge)
        issue = jira_issue_for(bridge.sandbox, record["number"])
        bridge.sandbox.servicenow.faults.inject("error_5xx", method="PATCH")  # the first run's write: 503
        bridge.sandbox.jira.transition_to(issue["key"], "Resolved", resolution="Done")
        body = jira_body({"id": issue["id"], "key": issue["key"], "fields": {}})
        assert running.post("jira", body, sign_jira(body)).status_code == 202
        running.wait_idle(jobs=2)
        assert bridge.sandbox.servicenow.incident(record["sys_id"])["state"] == "6"
        assert running.metric("jobs_total", outcome="retried") == 1
        assert running.metric("jobs_total", outcome="synced") == 1
    finally:
        running.stop()


def queue_empty_but_for_the_next_sweep(running: Serve) -> None:
    """After the first sweep, the queue holds only the next one, not due for minutes: depth 0."""
    deadline = time.monotonic() + 60
    while running.metric("engine_runs_total", kind="sweep") < 1 or running.metric("jobs_running"):
        assert time.monotonic() < deadline, running.get("/metrics").text
        time.sleep(0.05)
    assert sum(running.metric("jobs_total", outcome=o) for o in ("synced", "unchanged")) == 1
    assert running.metric("queue_depth") == 0
    assert running.metric("queue_oldest_job_age_seconds") == 0


def test_a_queue_holding_only_the_next_sweep_reads_depth_0(bridge):
    serve_config(bridge, sweep=300)
    running = Serve(bridge)
    try:
        queue_empty_but_for_the_next_sweep(running)
    finally:
        running.stop()
