"""The sandbox's Jira and ServiceNow send signed webhooks, in the vendors' shapes, to a receiver on loopback.

A tiny HTTP receiver records every delivery; signatures are checked here with hmac, independently
of the sandbox's own code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from itsm_bridge import Sandbox

SECRET = "s3cret-webhook-key"
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]}


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float

    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """Records deliveries; answers `statuses` in turn (200 once they run out), after `delay_s`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.delay_s = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(receiver.delay_s)
                with receiver.lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.received.append(Received(self.path, headers, body, time.monotonic()))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[Sandbox]:
    with Sandbox(seed=3) as sb:
        sb.seed(2)  # before the webhooks: the seeded data sends nothing
        sb.send_webhooks(receiver.url + "/", SECRET)
        yield sb


def jira_signed(r: Received) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), r.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(r.headers.get("x-hub-signature", ""), expected)


def servicenow_signed(r: Received) -> bool:
    message = r.headers["x-bridge-timestamp"].encode() + b"." + r.body
    expected = "sha256=" + base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(r.headers.get("x-bridge-signature", ""), expected)


def jira(sb: Sandbox, method: str, path: str, body: object = None) -> requests.Response:
    creds = sb.jira.credentials()
    return requests.request(
        method, f"{sb.jira.base_url}/rest/api/3/{path}", json=body, auth=(creds["email"], creds["token"]), timeout=10
    )


def snow(sb: Sandbox, method: str, path: str, body: object = None) -> requests.Response:
    creds = sb.servicenow.credentials()
    url = f"{sb.servicenow.base_url}/api/now/table/{path}"
    return requests.request(method, url, json=body, auth=(creds["user"], creds["password"]), timeout=10)


def create_issue(sb: Sandbox, summary: str = "Disk full on db-1") -> str:
    fields = {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}, "summary": summary}
    r = jira(sb, "POST", "issue", {"fields": fields})
    assert r.status_code == 201, r.text
    return r.json()["key"]


def test_every_jira_change_posts_a_signed_webhook_in_jiras_shape(sandbox: Sandbox, receiver: Receiver):
    key = create_issue(sandbox)
    assert jira(sandbox, "PUT", f"issue/{key}", {"fields": {"summary": "Disk full on db-2"}}).status_code == 204
    step = jira(sandbox, "GET", f"issue/{key}/transitions").json()["transitions"][0]
    assert jira(sandbox, "POST", f"issue/{key}/transitions", {"transition": {"id": step["id"]}}).status_code == 204
    comment = jira(sandbox, "POST", f"issue/{key}/comment", {"body": ADF}).json()
    assert jira(sandbox, "PUT", f"issue/{key}/comment/{comment['id']}", {"body": ADF}).status_code == 200
    assert jira(sandbox, "DELETE", f"issue/{key}").status_code == 204
    assert sandbox.webhooks is not None and sandbox.webhooks.sender.flush(10)

    got = receiver.on("/webhooks/jira")
    assert receiver.on("/webhooks/servicenow") == []
    assert got and all(jira_signed(r) for r in got)
    assert all(r.headers["content-type"].startswith("application/json") for r in got)
    ids = [r.headers["x-atlassian-webhook-identifier"] for r in got]
    assert len(set(ids)) == len(ids)
    by_event: dict[tuple[str, str | None], dict] = {}
    for r in got:
        body = r.json()
        by_event[(body["webhookEvent"], body.get("issue_event_type_name"))] = body
    assert sorted(by_event, key=str) == sorted(
        [
            ("jira:issue_created", "issue_created"),
            ("jira:issue_updated", "issue_updated"),  # the summary edit
            ("jira:issue_updated", "issue_generic"),  # the transition
            ("comment_created", None),
            ("jira:issue_updated", "issue_commented"),
            ("comment_updated", None),
            ("jira:issue_updated", "issue_comment_edited"),
            ("jira:issue_deleted", "issue_deleted"),
        ],
        key=str,
    )
    assert len(got) == 8
    created = by_event[("jira:issue_created", "issue_created")]
    assert isinstance(created["timestamp"], int) and abs(created["timestamp"] / 1000 - time.time()) < 60
    assert created["issue"]["key"] == key and created["issue"]["id"].isdigit()
    assert created["issue"]["fields"]["summary"] == "Disk full on db-1"
    edit = by_event[("jira:issue_updated", "issue_updated")]
    (item,) = edit["changelog"]["items"]
    assert (item["field"], item["fieldId"], item["fromString"]) == ("summary", "summary", "Disk full on db-1")
    assert item["toString"] == "Disk full on db-2" and edit["issue"]["fields"]["summary"] == "Disk full on db-2"
    moved = by_event[("jira:issue_updated", "issue_generic")]["changelog"]["items"]
    assert [i["field"] for i in moved] == ["status"] and moved[0]["toString"] == step["to"]["name"]
    made = by_event[("comment_created", None)]
    assert made["comment"]["id"] == comment["id"] and made["comment"]["body"] == ADF
    assert made["issue"]["key"] == key and set(made["issue"]["fields"]) >= {"summary", "status"}
    assert by_event[("jira:issue_updated", "issue_commented")]["comment"]["id"] == comment["id"]
    assert by_event[("comment_updated", None)]["comment"]["id"] == comment["id"]
    assert by_event[("jira:issue_deleted", "issue_deleted")]["issue"]["key"] == key


def test_every_servicenow_incident_and_note_posts_the_business_rules_signed_call(sandbox: Sandbox, receiver: Receiver):
    r = snow(sandbox, "POST", "incident", {"short_description": "VPN down", "impact": "2", "urgency": "2"})
    assert r.status_code == 201, r.text
    record = r.json()["result"]
    assert snow(sandbox, "PATCH", f"incident/{record['sys_id']}", {"work_notes": "rebooting"}).status_code == 200
    assert snow(sandbox, "PATCH", f"incident/{record['sys_id']}", {"impact": "2"}).status_code == 200  # no change
    assert sandbox.webhooks is not None and sandbox.webhooks.sender.flush(10)

    got = receiver.on("/webhooks/servicenow")
    assert receiver.on("/webhooks/jira") == []
    assert len(got) == 3 and all(servicenow_signed(r) for r in got)
    assert all(abs(int(r.headers["x-bridge-timestamp"]) - time.time()) < 60 for r in got)
    deliveries = [r.headers["x-bridge-delivery"] for r in got]
    assert len(set(deliveries)) == 3 and all(len(d) == 32 for d in deliveries)
    bodies = sorted((r.json() for r in got), key=lambda b: (b["table"], b["operation"]))
    updated = sandbox.servicenow.incident(record["sys_id"])
    note = sandbox.servicenow.journal(record["sys_id"])[0]
    assert bodies == [
        {
            "table": "incident",
            "sys_id": record["sys_id"],
            "number": record["number"],
            "operation": "insert",
            "sys_updated_on": record["sys_updated_on"],
        },
        {
            "table": "incident",
            "sys_id": record["sys_id"],
            "number": record["number"],
            "operation": "update",
            "sys_updated_on": updated["sys_updated_on"],
        },
        {
            "table": "sys_journal_field",
            "sys_id": note["sys_id"],
            "element_id": record["sys_id"],
            "element": "work_notes",
            "operation": "insert",
        },
    ]


def test_a_slow_receiver_never_holds_up_the_vendor_api(sandbox: Sandbox, receiver: Receiver):
    receiver.delay_s = 1.0
    started = time.monotonic()
    for n in range(6):
        create_issue(sandbox, f"slow receiver {n}")
    assert time.monotonic() - started < 1.0  # six writes answered while the first delivery still waits
    assert sandbox.webhooks is not None and sandbox.webhooks.sender.flush(15)
    assert len(receiver.on("/webhooks/jira")) == 6


def test_jira_retries_a_refused_delivery_with_the_same_identifier_and_servicenow_does_not(
    sandbox: Sandbox, receiver: Receiver
):
    receiver.statuses = [503, 429]
    create_issue(sandbox)
    assert sandbox.webhooks is not None and sandbox.webhooks.sender.flush(10)
    first, second, third = receiver.on("/webhooks/jira")
    assert first.body == second.body == third.body and jira_signed(third)
    assert {r.headers["x-atlassian-webhook-identifier"] for r in (first, second, third)} == {
        first.headers["x-atlassian-webhook-identifier"]
    }
    assert "x-atlassian-webhook-retry" not in first.headers
    assert (second.headers["x-atlassian-webhook-retry"], third.headers["x-atlassian-webhook-retry"]) == ("1", "2")

    receiver.statuses = [503]
    assert snow(sandbox, "POST", "incident", {"short_description": "once"}).status_code == 201
    assert sandbox.webhooks.sender.flush(10)
    assert len(receiver.on("/webhooks/servicenow")) == 1  # a business rule's call is made once
    receiver.statuses = [400]  # a refusal (a bad signature's 401 too) is never retried by Jira either
    create_issue(sandbox)
    assert sandbox.webhooks.sender.flush(10)
    assert len(receiver.on("/webhooks/jira")) == 4


def test_scripted_faults_drop_duplicate_and_reorder_deliveries(sandbox: Sandbox, receiver: Receiver):
    hooks = sandbox.webhooks
    assert hooks is not None
    hooks.sender.inject("drop")
    dropped = create_issue(sandbox, "dropped")
    hooks.sender.inject("duplicate")
    twice = create_issue(sandbox, "twice")
    hooks.sender.inject("reorder")
    late = create_issue(sandbox, "late")
    early = create_issue(sandbox, "early")
    assert hooks.sender.flush(10)

    keys = [r.json()["issue"]["key"] for r in receiver.on("/webhooks/jira")]
    assert dropped not in keys
    assert keys.count(twice) == 2 and keys.count(late) == keys.count(early) == 1
    assert keys.index(early) < keys.index(late)
    copies = [r for r in receiver.on("/webhooks/jira") if r.json()["issue"]["key"] == twice]
    assert copies[0].body == copies[1].body and jira_signed(copies[1])
    assert copies[0].headers["x-atlassian-webhook-identifier"] == copies[1].headers["x-atlassian-webhook-identifier"]
    faults = {(a.subject, a.fault) for a in hooks.sender.attempts() if a.fault}
    assert faults == {(dropped, "drop"), (twice, "duplicate"), (late, "reorder")}


def test_the_lossy_profile_drops_about_a_fifth_and_records_each_drop(sandbox: Sandbox, receiver: Receiver):
    assert sandbox.webhooks is not None
    sandbox.webhooks.sender.set_faults("lossy", seed=11)
    keys = [create_issue(sandbox, f"lossy {n}") for n in range(60)]
    assert sandbox.webhooks.sender.flush(15)
    arrived = {r.json()["issue"]["key"] for r in receiver.on("/webhooks/jira")}
    dropped = {a.subject for a in sandbox.webhooks.sender.attempts() if a.fault == "drop"}
    assert arrived | dropped == set(keys) and not arrived & dropped
    assert 4 <= len(dropped) <= 24  # 20% of 60, seeded


def test_changes_after_stop_send_nothing(receiver: Receiver):
    with Sandbox(seed=1) as sb:
        sb.send_webhooks(receiver.url, SECRET)
    sb.jira.create_issue({"summary": "after the sandbox stopped"})
    time.sleep(0.2)
    assert receiver.received == []
