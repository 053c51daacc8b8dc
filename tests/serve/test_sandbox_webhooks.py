"""The bundled sandbox sends its vendors' webhooks to serve, signed as the vendors sign them: a
change on either side reaches the other through serve alone, and serve's own writes (which the
sandbox reports back as webhooks too) write nothing more."""

from __future__ import annotations

import time

from itsm_bridge.correlation import NOTE_MARKER
from tests.integration.test_notes_identity import containing, jira_comment_by_a_person
from tests.integration.test_sync import add_incident, jira_issue_for
from tests.reliability.edits import jira_comment_texts, snow_note_texts
from tests.serve.conftest import JIRA_SECRET, Serve


def converged(serve: Serve, check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"no convergence through the webhooks; serve logged:\n{serve.stderr()}")
        time.sleep(0.05)


def test_changes_on_either_side_reach_the_other_through_the_sandbox_s_webhooks_and_stop_there(bridge):
    sandbox = bridge.sandbox
    add_incident(sandbox, short_description="incident 0")
    assert bridge.sync_json()[0] == 0
    running = Serve(bridge, env={"TEST_SNOW_WEBHOOK_SECRET": JIRA_SECRET})  # both vendors sign with one secret here
    webhooks = sandbox.send_webhooks(running.url, JIRA_SECRET)
    try:
        record = sandbox.servicenow.incidents()[0]
        sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Told by a business rule"})
        issue = lambda: jira_issue_for(sandbox, record["number"])  # noqa: E731
        converged(running, lambda: issue()["fields"]["summary"] == "Told by a business rule")
        assert webhooks.sender.flush(10)
        running.wait_idle(jobs=2)  # the person edits after serve's write was read back (see test_races.py)
        sandbox.jira.transition_to(issue()["key"], "Resolved", resolution="Done")
        converged(running, lambda: sandbox.servicenow.incident(record["sys_id"])["state"] == "6")
        for _ in range(2):  # serve's own writes come back as webhooks: their jobs find nothing to do
            assert webhooks.sender.flush(10)
            running.wait_idle(jobs=2)
        quiet = len(bridge.writes())
        time.sleep(0.5)
        assert webhooks.sender.flush(10)
        running.wait_idle(jobs=2)
        assert len(bridge.writes()) == quiet
        assert running.metric("jobs_total", outcome="synced") == 2
        assert running.metric("webhook_rejects_total", reason="signature_invalid") == 0
    finally:
        running.stop()


def test_jira_s_echoes_of_the_bridge_s_own_comment_queue_no_job_and_a_person_s_comment_still_does(bridge):
    sandbox = bridge.sandbox
    record = add_incident(sandbox, short_description="incident 0")
    sandbox.servicenow.update_incident(record["sys_id"], {"work_notes": "paged the mail team"}, user="ana")
    assert bridge.sync_json()[0] == 0  # its copy's answer names the API user: kept with Jira's facts
    running = Serve(bridge, env={"TEST_SNOW_WEBHOOK_SECRET": JIRA_SECRET})
    webhooks = sandbox.send_webhooks(running.url, JIRA_SECRET)
    try:
        issue = jira_issue_for(sandbox, record["number"])["key"]
        sandbox.servicenow.update_incident(record["sys_id"], {"work_notes": "failed over to mx2"}, user="ana")
        converged(running, lambda: containing(jira_comment_texts(sandbox, issue), "failed over to mx2") == 1)
        assert webhooks.sender.flush(10)
        running.wait_idle(jobs=1)
        # comment_created and jira:issue_updated (issue_commented) for the bridge's copy: no job
        assert running.metric("webhooks_total", platform="jira", result="echo") == 2
        assert running.metric("webhooks_total", platform="jira", result="queued") == 0
        assert running.metric("webhooks_total", platform="jira", result="collapsed") == 0

        jira_comment_by_a_person(sandbox, issue, f"{NOTE_MARKER} (servicenow:0) pasted by a person")
        converged(running, lambda: containing(snow_note_texts(sandbox, record["sys_id"]), "pasted by a person") == 1)
        assert webhooks.sender.flush(10)
        running.wait_idle(jobs=2)
        assert running.metric("webhooks_total", platform="jira", result="queued") >= 1
        assert running.metric("webhooks_total", platform="jira", result="echo") == 2
    finally:
        running.stop()
