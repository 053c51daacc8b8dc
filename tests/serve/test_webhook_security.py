"""What a webhook must prove before serve acts on it, and what it can never do by itself."""

from __future__ import annotations

import json
import time

from itsm_bridge.connectors.jira.adf import text_to_adf
from itsm_bridge.correlation import NOTE_MARKER
from tests.integration.test_sync import add_incident, jira_issue_for
from tests.serve.conftest import Serve, jira_body, sign_jira, sign_servicenow, snow_body


def incident(serve_bridge, n: int = 0) -> dict:
    return sorted(serve_bridge.sandbox.servicenow.incidents(), key=lambda i: i["number"])[n]


def test_a_good_signature_is_taken_and_a_bad_or_missing_one_gets_401_without_detail(serve, bridge):
    record = incident(bridge)
    body = snow_body(record)
    assert serve.post("servicenow", body, sign_servicenow(body)).status_code == 202
    forged = sign_servicenow(body, secret="not-the-secret")
    answer = serve.post("servicenow", body, forged)
    assert answer.status_code == 401 and answer.json() == {"error": "unauthorized"}
    missing = {k: v for k, v in sign_servicenow(body).items() if k != "X-Bridge-Signature"}
    assert serve.post("servicenow", body, missing).status_code == 401
    jira = jira_body({"id": "10000", "key": "OPS-1", "fields": {}})
    assert serve.post("jira", jira, sign_jira(jira, secret="wrong")).status_code == 401
    tampered = sign_jira(jira)
    assert serve.post("jira", jira.replace(b"OPS-1", b"OPS-2"), tampered).status_code == 401
    assert serve.metric("webhook_rejects_total", reason="signature_invalid") == 3
    assert serve.metric("webhook_rejects_total", reason="signature_missing") == 1
    code, err = serve.stop()
    assert "not-the-secret" not in err and "signature_invalid" in err  # the reason is logged, never a secret


def test_a_replayed_delivery_id_is_taken_once(serve, bridge):
    body = snow_body(incident(bridge))
    headers = sign_servicenow(body, delivery="delivery-1")
    assert serve.post("servicenow", body, headers).json() == {"status": "queued"}
    again = serve.post("servicenow", body, headers)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert serve.metric("webhook_rejects_total", reason="delivery_replayed") == 1
    assert serve.metric("webhooks_total", platform="servicenow", result="queued") == 1


def test_a_stale_or_future_servicenow_timestamp_is_refused(serve, bridge):
    body = snow_body(incident(bridge))
    for skew in (-301, 301):
        answer = serve.post("servicenow", body, sign_servicenow(body, timestamp=int(time.time()) + skew))
        assert answer.status_code == 401
    assert serve.metric("webhook_rejects_total", reason="timestamp_stale") == 2
    assert serve.post("servicenow", body, sign_servicenow(body, timestamp=int(time.time()) - 200)).status_code == 202


def test_an_oversized_body_gets_413_unread(bridge):
    from tests.serve.conftest import Serve, serve_config

    serve_config(bridge, extra="max_body_bytes = 2048\n")
    running = Serve(bridge)
    try:
        body = json.dumps({"table": "incident", "pad": "x" * 4096}).encode()
        assert running.post("servicenow", body, sign_servicenow(body)).status_code == 413
        assert running.metric("webhook_rejects_total", reason="body_too_large") == 1
    finally:
        running.stop()


def test_a_webhook_whose_secret_variable_is_unset_is_refused(bridge):
    from tests.serve.conftest import Serve

    running = Serve(bridge, env={"TEST_JIRA_WEBHOOK_SECRET": ""})
    try:
        body = jira_body({"id": "10000", "key": "OPS-1", "fields": {}})
        assert running.post("jira", body, sign_jira(body, secret="")).status_code == 401
        assert running.metric("webhook_rejects_total", reason="secret_unset") == 1
    finally:
        running.stop()


def test_only_an_event_that_just_adds_the_bridge_s_own_note_is_taken_as_its_echo(bridge):
    record = add_incident(bridge.sandbox)
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"work_notes": "paged"}, user="ana")
    assert bridge.sync_json()[0] == 0  # the copy's answer named the API user, kept with Jira's facts
    issue = jira_issue_for(bridge.sandbox, record["number"])
    api_user = {"accountId": bridge.sandbox.jira.config.api_account}
    ours = {"id": "90", "author": api_user, "body": text_to_adf(f"{NOTE_MARKER} (servicenow:1) paged")}
    wiki = {**ours, "body": "\\[itsm-bridge\\] (servicenow:1) paged"}  # the v2 form escapes brackets
    a_person = {**ours, "author": {"accountId": "someone-else"}}
    unmarked = {**ours, "body": "paged"}
    target = {"id": issue["id"], "key": issue["key"], "fields": {}}
    running = Serve(bridge)
    try:

        def status(event: str, comment: dict, **extra: object) -> str:
            body = jira_body(target, event, comment=comment, **extra)
            return str(running.post("jira", body, sign_jira(body)).json()["status"])

        assert status("comment_created", ours) == "echo"
        assert status("comment_created", wiki) == "echo"
        assert status("jira:issue_updated", ours, issue_event_type_name="issue_commented") == "echo"
        running.wait_idle(jobs=0)
        assert running.metric("webhooks_total", platform="jira", result="queued") == 0
        # anything that may say more than "the bridge added its note" gets its job
        changed = {"items": [{"field": "status", "toString": "Resolved"}]}
        for event, comment, extra in [
            ("comment_created", a_person, {}),
            ("comment_created", unmarked, {}),
            ("comment_updated", ours, {}),
            ("jira:issue_updated", ours, {"issue_event_type_name": "issue_generic", "changelog": changed}),
            ("jira:issue_updated", ours, {"issue_event_type_name": "issue_commented", "changelog": changed}),
        ]:
            assert status(event, comment, **extra) in ("queued", "collapsed"), (event, comment, extra)
        assert running.metric("webhooks_total", platform="jira", result="echo") == 3
    finally:
        running.stop()


def test_deliveries_on_a_kept_alive_connection_are_not_held_for_the_delayed_ack(serve, bridge):
    # a reverse proxy keeps its upstream connections alive (deploy/compose/nginx.conf); an answer
    # written in two parts would wait for the client's delayed ACK (40 ms at least on Linux) each time
    body = snow_body(incident(bridge))
    forged = sign_servicenow(body, secret="not-the-secret")  # answered at once: no store, no queue
    took = []
    for _ in range(21):
        started = time.perf_counter()
        assert serve.post("servicenow", body, forged).status_code == 401  # one requests.Session
        took.append(time.perf_counter() - started)
    # held: every answer after the connection's first few (ACKed at once) takes 40 ms or more;
    # the quickest of them shows it, whatever the machine's load does to the others
    assert min(took[3:]) < 0.03, took
