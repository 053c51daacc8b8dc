"""The sandbox's fault injection, call log and control endpoints, over loopback."""

from __future__ import annotations

import time

import pytest
import requests

from itsm_bridge.sandbox.faults import FaultProfile, Faults
from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.sandbox.servicenow.api import ServiceNowPlatform


@pytest.fixture
def snow():
    platform = ServiceNowPlatform(seed=0)
    served = serve(platform)
    yield platform
    stop([served])


def get(platform, **kw):
    creds = platform.credentials()
    return requests.get(
        f"{platform.base_url}/api/now/table/incident",
        params={"sysparm_limit": 1},
        auth=(creds["user"], creds["password"]),
        timeout=kw.pop("timeout", 5),
        **kw,
    )


def post(platform, body):
    creds = platform.credentials()
    return requests.post(
        f"{platform.base_url}/api/now/table/incident", json=body, auth=(creds["user"], creds["password"]), timeout=5
    )


def test_latency_is_added_to_every_request(snow):
    snow.faults.set_profile(FaultProfile(latency_ms=150))
    started = time.perf_counter()
    assert get(snow).status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_5xx_answers_in_the_vendor_error_shape(snow):
    snow.faults.inject("error_5xx")
    r = get(snow)
    assert r.status_code == 503 and r.json()["status"] == "failure"
    assert get(snow).status_code == 200  # one request only


def test_429_storm_carries_retry_after_and_rate_limit_headers(snow):
    snow.faults.inject("rate_429", count=3, retry_after="2")
    answers = [get(snow) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200]
    assert answers[0].headers["Retry-After"] == "2" and "X-RateLimit-Reset" in answers[0].headers


def test_reset_closes_the_connection_without_an_answer(snow):
    snow.faults.inject("reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        get(snow)
    assert snow.call_log.calls()[-1].status == 0 and snow.call_log.calls()[-1].fault == "reset"


def test_timeout_answers_nothing_before_the_clients_deadline(snow):
    snow.faults.set_profile(FaultProfile(timeout_s=1.0))
    snow.faults.inject("timeout")
    with pytest.raises((requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError)):
        get(snow, timeout=0.3)


def test_drop_after_commit_stores_the_record_and_loses_the_answer(snow):
    snow.faults.inject("drop_after_commit", method="POST")
    with pytest.raises(requests.exceptions.ConnectionError):
        post(snow, {"short_description": "committed, answer lost"})
    assert [i["short_description"] for i in snow.incidents()] == ["committed, answer lost"]


def test_profiles_are_deterministic_for_a_seed():
    def schedule(seed):
        f = Faults(seed)
        f.set_profile("flaky", seed=seed)
        return [f.decide("GET", "/x")[0] for _ in range(300)]

    assert schedule(4) == schedule(4)
    assert schedule(4) != schedule(5)
    assert any(schedule(4))  # the flaky profile does inject


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults().inject("meteor")


def test_call_log_and_control_endpoints(snow):
    get(snow)
    post(snow, {"short_description": "logged"})
    calls = requests.get(f"{snow.base_url}/_sandbox/calls", timeout=5).json()
    assert [(c["method"], c["status"]) for c in calls] == [("GET", 200), ("POST", 201)]
    assert "logged" in calls[1]["body"] and "authorization" not in calls[1]["headers"]
    assert requests.post(f"{snow.base_url}/_sandbox/reset", json={"scope": "calls"}, timeout=5).status_code == 200
    assert requests.get(f"{snow.base_url}/_sandbox/calls", timeout=5).json() == []
    assert len(snow.incidents()) == 1  # scope "calls" keeps the data
    requests.post(f"{snow.base_url}/_sandbox/reset", timeout=5)
    assert snow.incidents() == []
