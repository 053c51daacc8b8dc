"""serve on PostgreSQL: procrastinate's queue in the store's database, shared by several serve
processes; a process killed mid-job leaves its job to another, and every change lands once."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from itsm_bridge import Bridge, load_config
from itsm_bridge.sandbox.faults import FaultProfile
from itsm_bridge.store import open_from_config
from tests.integration.test_sync import add_incident, jira_issue_for, page_incidents_for
from tests.pg import needs_pg, pg_url  # noqa: F401 (pg_url: a fixture)
from tests.serve.conftest import Serve, serve_config, sign_servicenow, snow_body
from tests.serve.test_serve_sync import queue_empty_but_for_the_next_sweep

pytestmark = needs_pg


@pytest.fixture
def pg_bridge(bridge, pg_url):  # noqa: F811 (the fixture)
    text = bridge.config_path.read_text()
    bridge.config_path.write_text(re.sub(r'(?m)^url = "sqlite:///[^"]*"', f'url = "{pg_url}"', text, count=1))
    serve_config(bridge, extra="stalled_after_seconds = 3\n")
    add_incident(bridge.sandbox, short_description="incident 0")
    code, summary = bridge.sync_json()
    assert code == 0, summary
    return bridge


def wait_for(what, check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout} s")


def job_inserts_tried(url: str) -> int:
    """Job rows procrastinate has tried to insert: its id sequence moves for a refused one too."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT last_value, is_called FROM procrastinate_jobs_id_seq")).one()
    finally:
        engine.dispose()
    return int(row.last_value) if row.is_called else 0


def test_on_postgresql_a_webhook_is_synced_and_a_burst_collapses(pg_bridge, pg_url):  # noqa: F811
    bridge = pg_bridge
    running = Serve(bridge, "--workers", "2")
    try:
        assert running.ready["queue"] == "PgQueue"
        record = bridge.sandbox.servicenow.incidents()[0]
        bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Seen on PostgreSQL"})
        body = snow_body(bridge.sandbox.servicenow.incident(record["sys_id"]))
        bridge.sandbox.jira.faults.set_profile(FaultProfile(latency_ms=300))  # the first job is still running
        tried = job_inserts_tried(pg_url)
        answers = [running.post("servicenow", body, sign_servicenow(body)).json()["status"] for _ in range(10)]
        assert answers[0] == "queued" and answers.count("collapsed") >= 8, answers
        # a delivery whose incident's job already waits is answered without trying to queue one
        assert job_inserts_tried(pg_url) - tried == answers.count("queued")
        running.wait_idle(jobs=answers.count("queued"))
        assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["summary"] == "Seen on PostgreSQL"
        assert running.get("/healthz").json() == {"ok": True}
    finally:
        code, err = running.stop()
    assert code == 143, err


CREATES = ("/rest/api/3/issue", "/rest/api/3/issue/bulk")


@contextmanager
def holding_the_journal(url: str) -> Iterator[None]:
    """Hold the journal's table lock (as a store append does), so no outcome is journaled meanwhile."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("LOCK TABLE journal IN EXCLUSIVE MODE"))
            yield
            conn.rollback()
    finally:
        engine.dispose()


def test_a_serve_process_killed_mid_job_leaves_it_to_another_and_each_change_lands_once(pg_bridge, pg_url):  # noqa: F811
    bridge = pg_bridge
    first, second = Serve(bridge), Serve(bridge)
    try:
        bridge.sandbox.jira.faults.set_profile(FaultProfile(latency_ms=400))  # a job takes seconds
        bridge.sandbox.clear_calls()
        record = add_incident(bridge.sandbox, short_description="Created while a worker dies")
        body = snow_body(bridge.sandbox.servicenow.incident(record["sys_id"]), operation="insert")
        assert first.post("servicenow", body, sign_servicenow(body)).json() == {"status": "queued"}
        runner = wait_for("running job", lambda: next((s for s in (first, second) if s.metric("jobs_running")), None))
        other = second if runner is first else first
        store = open_from_config(load_config(bridge.config_path))
        try:
            wait_for("the create's intent", lambda: [i for i in store.open_intents() if i.action == "create"])
        finally:
            store.close()
        with holding_the_journal(pg_url):  # the create lands; its outcome waits to be journaled
            wait_for("the create", lambda: [c for c in bridge.sandbox.calls("jira") if c.path in CREATES])
            runner.proc.send_signal(signal.SIGKILL)  # mid-job: a write landed, its outcome never journaled
        runner.proc.wait(10)
        bridge.sandbox.jira.faults.set_profile(FaultProfile())
        wait_for("the job finished by the other process", lambda: other.metric("jobs_total", outcome="synced"))
        other.wait_idle(jobs=1)
        jira_issue_for(bridge.sandbox, record["number"])  # asserts that exactly one issue carries the key
        assert len(page_incidents_for(bridge.sandbox, record["number"])) == 1
        status = bridge.run("--json", "status")
        assert '"open_intents": 0' in status.stdout, status.stdout
        assert bridge.run("journal", "verify").returncode == 0
        settled = [e for e in Bridge(bridge.config_path).journal(record["number"]) if e.kind == "outcome"]
        creates = [e.payload for e in settled if e.action == "create"]
        assert len(creates) == 1 and creates[0]["result"] == "settled" and creates[0]["found"]  # found, not re-created
    finally:
        for running in (first, second):
            running.stop()


def test_on_postgresql_a_queue_holding_only_the_next_sweep_reads_depth_0(pg_bridge):
    serve_config(pg_bridge, sweep=300, extra="stalled_after_seconds = 3\n")
    running = Serve(pg_bridge)
    try:
        queue_empty_but_for_the_next_sweep(running)
    finally:
        running.stop()


def test_on_postgresql_a_job_retried_while_a_newer_one_of_its_incident_waits_does_not_wedge_it(pg_bridge):
    """A job whose write failed for now is retried while a change made during its run waits as a
    job of its own: the retry collapses into that one, which runs and writes the change."""
    bridge = pg_bridge
    text = bridge.config_path.read_text()
    bridge.config_path.write_text(re.sub(r"(?m)^\[jira\]\n", "[jira]\nmax_retries = 0\n", text, count=1))
    running = Serve(bridge, "--workers", "2")
    try:
        record = bridge.sandbox.servicenow.incidents()[0]
        bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Written at last"})
        body = snow_body(bridge.sandbox.servicenow.incident(record["sys_id"]))
        jira = bridge.sandbox.jira.faults
        jira.set_profile(FaultProfile(latency_ms=400))  # the first run lasts while the second job is queued
        jira.inject("error_5xx", method="PUT")  # the first run's write fails for now: its job is retried
        assert running.post("servicenow", body, sign_servicenow(body)).json()["status"] == "queued"
        wait_for("a running job", lambda: running.metric("jobs_running") >= 1)
        assert running.post("servicenow", body, sign_servicenow(body)).json()["status"] == "queued"
        wait_for("the retry", lambda: running.metric("jobs_total", outcome="retried") >= 1)
        jira.set_profile(FaultProfile())
        summary = lambda: jira_issue_for(bridge.sandbox, record["number"])["fields"]["summary"]  # noqa: E731
        wait_for("the change on Jira", lambda: summary() == "Written at last", timeout=30)
        running.wait_idle(jobs=2)
        assert running.metric("jobs_total", outcome="retried") == 1
    finally:
        code, err = running.stop()
    assert code == 143, err


def advisory_lock_waiters(url: str) -> int:
    """Backends of the store's database waiting in an advisory lock's queue."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_on_postgresql_a_job_waits_for_the_writer_lock_in_the_server_s_queue_and_runs_once_it_is_free(
    pg_bridge,
    pg_url,  # noqa: F811 (the fixture)
):
    """The job waits in PostgreSQL's queue of the lock's waiters (taking its turn in order), not
    by asking again and again; the lock let go, the job runs."""
    bridge = pg_bridge
    running = Serve(bridge)
    try:
        record = bridge.sandbox.servicenow.incidents()[0]
        store = open_from_config(load_config(bridge.config_path))
        try:
            with store.lock("test holds the writer"):
                bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "After the wait"})
                body = snow_body(bridge.sandbox.servicenow.incident(record["sys_id"]))
                assert running.post("servicenow", body, sign_servicenow(body)).json()["status"] == "queued"
                wait_for("serve waiting in the lock's queue", lambda: advisory_lock_waiters(pg_url) == 1, timeout=10)
        finally:
            store.close()
        running.wait_idle(jobs=1)
        assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["summary"] == "After the wait"
        assert advisory_lock_waiters(pg_url) == 0
    finally:
        code, err = running.stop()
    assert code == 143, err


def depth_readers(url: str) -> set[int]:
    """Server processes of the store's database whose last statement read the queue's depth."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND query LIKE '%enqueued_at%FROM procrastinate_jobs%'"
                )
            )
            return {int(r.pid) for r in rows}
    finally:
        engine.dispose()


def test_on_postgresql_metrics_scrapes_read_the_queue_depth_on_one_kept_connection(
    pg_bridge,
    pg_url,  # noqa: F811 (the fixture)
):
    running = Serve(pg_bridge)
    try:
        seen = []
        for _ in range(3):
            assert running.get("/metrics").status_code == 200
            seen.append(depth_readers(pg_url))
        assert len(seen[0]) == 1 and seen[0] == seen[1] == seen[2], seen
    finally:
        code, err = running.stop()
    assert code == 143, err
