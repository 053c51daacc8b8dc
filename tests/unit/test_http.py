from __future__ import annotations

import base64
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses

from itsm_bridge.errors import AuthError, NotFound, RateLimited, RemoteValidation, Transient, Unreachable
from itsm_bridge.http import Backoff, HttpClient, RateBudget, make_session, parse_retry_after

BASE = "https://acme.example"


def client(sleeps: list[float], **kw) -> HttpClient:
    # The budget's own pause is not what these tests measure: it runs on a clock its sleep moves
    # on (a real clock with a sleep that returns at once would spin until a 429's pause is over).
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    budget = RateBudget(1000.0, clock=lambda: now[0], sleep=advance)
    return HttpClient(
        "servicenow", BASE, make_session(), sleep=sleeps.append, backoff=Backoff(base_s=2.0), budget=budget, **kw
    )


@responses.activate
def test_429_is_retried_no_sooner_than_retry_after():
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "7"}, json={"error": {"message": "slow down"}})
    responses.get(f"{BASE}/x", json={"ok": True})
    sleeps: list[float] = []
    c = client(sleeps)
    assert c.request("GET", "/x").json() == {"ok": True}
    assert len(sleeps) == 1 and 7.0 <= sleeps[0] <= 7.7
    assert c.calls == 2


@responses.activate
def test_429_without_retry_after_backs_off_exponentially_and_is_bounded():
    responses.get(f"{BASE}/x", status=429)
    sleeps: list[float] = []
    c = client(sleeps, max_retries=3)
    with pytest.raises(RateLimited):
        c.request("GET", "/x")
    assert len(responses.calls) == 4 and len(sleeps) == 3
    for attempt, s in enumerate(sleeps, start=1):
        expected = 2.0 * 2 ** (attempt - 1)
        assert expected * 0.7 <= s <= expected * 1.3


@responses.activate
def test_401_is_never_retried():
    responses.get(
        f"{BASE}/x",
        status=401,
        json={"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}},
    )
    sleeps: list[float] = []
    with pytest.raises(AuthError, match="User Not Authenticated") as exc:
        client(sleeps).request("GET", "/x")
    assert exc.value.exit_code == 4 and len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_post_is_not_resent_after_a_server_error():
    responses.post(f"{BASE}/create", status=503)
    with pytest.raises(Transient):
        client([]).request("POST", "/create", json={})
    assert len(responses.calls) == 1


@responses.activate
def test_post_is_resent_after_a_429_which_means_not_processed():
    responses.post(f"{BASE}/create", status=429, headers={"Retry-After": "1"})
    responses.post(f"{BASE}/create", status=201, json={"id": 1})
    assert client([]).request("POST", "/create", json={}).status_code == 201


@responses.activate
def test_get_is_retried_on_503_and_connection_reset():
    responses.get(f"{BASE}/x", status=503)
    responses.get(f"{BASE}/x", body=requests.exceptions.ConnectionError("Connection reset by peer"))
    responses.get(f"{BASE}/x", json={})
    sleeps: list[float] = []
    client(sleeps).request("GET", "/x")
    assert len(responses.calls) == 3 and len(sleeps) == 2


@responses.activate
def test_errors_carry_the_vendors_message():
    responses.get(
        f"{BASE}/nf", status=404, json={"error": {"message": "No Record found", "detail": "Record doesn't exist"}}
    )
    responses.post(
        f"{BASE}/bad", status=400, json={"errorMessages": [], "errors": {"summary": "You must specify a summary"}}
    )
    with pytest.raises(NotFound, match="No Record found"):
        client([]).request("GET", "/nf")
    with pytest.raises(RemoteValidation, match="summary: You must specify a summary"):
        client([]).request("POST", "/bad", json={})


def test_unreachable_host_is_reported_as_unreachable():
    c = HttpClient("jira", "http://127.0.0.1:9", make_session(), timeout_s=2, max_retries=1, sleep=lambda s: None)
    with pytest.raises(Unreachable) as exc:
        c.request("GET", "/rest/api/3/myself")
    assert exc.value.exit_code == 4


def test_retry_after_forms():
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after({"Retry-After": "12"}, now) == 12
    assert parse_retry_after({"Retry-After": format_datetime(now + timedelta(seconds=30), usegmt=True)}, now) == 30
    assert parse_retry_after({"X-RateLimit-Reset": str(int(now.timestamp()) + 45)}, now) == 45
    assert parse_retry_after({"X-RateLimit-Reset": "2024-01-01T12:01:00Z"}, now) == 60
    assert parse_retry_after({}, now) is None


def test_rate_budget_spaces_requests_and_pauses_for_everyone():
    t = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(round(s, 6))
        t[0] += s

    budget = RateBudget(2.0, clock=lambda: t[0], sleep=sleep)
    for _ in range(3):
        budget.acquire()
    assert slept == [0.5, 0.5]
    budget.pause(10)
    budget.acquire()
    assert slept[-1] == 10.0


def test_the_status_page_default_budget_never_lets_61_requests_reach_a_60_s_window_one_sent_3_s_late():
    from itsm_bridge.config_schema import StatuspageSettings
    from itsm_bridge.http import RATE_MARGIN

    t = [0.0]

    def sleep(s: float) -> None:
        t[0] += s

    vendor_limit = StatuspageSettings.model_fields["requests_per_second"].default  # 1 a second, per 60 s
    budget = RateBudget(vendor_limit * RATE_MARGIN, clock=lambda: t[0], sleep=sleep)  # as shared_budget makes it
    sent = []
    for _ in range(64):
        budget.acquire()
        sent.append(t[0])
    for late in range(4):  # one request delayed 3 s on its way, the others on time
        arrived = sorted(at + (3.0 if n == late else 0.0) for n, at in enumerate(sent))
        assert max(bisect_left(arrived, start + 60.0) - n for n, start in enumerate(arrived)) <= 60


def test_a_pause_holds_back_a_request_already_waiting_for_its_slot():
    t = [100.0]
    slept: list[float] = []
    budget = RateBudget(1.0, clock=lambda: t[0])

    def sleep(s: float) -> None:  # while this request waits for its slot, another gets a 429
        slept.append(round(s, 6))
        if len(slept) == 1:
            budget.pause(5.0)
        t[0] += s

    budget._sleep = sleep
    budget.acquire()  # the first slot, at once
    budget.acquire()  # its slot was 1 s away; the pause came meanwhile: it waits the pause out
    assert t[0] >= 100.0 + 5.0 and slept[0] == 1.0


def test_an_error_text_echoing_a_secret_is_redacted_when_made():
    from itsm_bridge.errors import ConnectorError
    from itsm_bridge.log import register_secret

    register_secret("s3cr3t-token-value", user="bridge@example.com")
    basic = base64.b64encode(b"bridge@example.com:s3cr3t-token-value").decode()
    exc = ConnectorError(
        f"Bad request to https://bridge:s3cr3t-token-value@host/x (sent with Authorization: Basic {basic})",
        platform="jira",
        status=400,
    )
    assert "s3cr3t-token-value" not in str(exc) and basic not in str(exc) and basic not in repr(exc)
    assert "***" in str(exc) and exc.status == 400
