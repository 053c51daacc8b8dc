"""The Statuspage sandbox over loopback HTTP: auth, components, incidents and their updates, paging, rate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from itsm_bridge.sandbox.core import HTTPFailure
from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.sandbox.statuspage.api import StatuspagePlatform


@pytest.fixture(scope="module")
def served() -> Iterator[StatuspagePlatform]:
    platform = StatuspagePlatform(seed=5)
    server = serve(platform)
    yield platform
    stop([server])


@pytest.fixture
def platform(served: StatuspagePlatform) -> StatuspagePlatform:
    """The module's server with data, rate history and configuration back to defaults."""
    served.reset()
    served.rate_limit = (60, 60.0)
    served.throttle_status = 429
    served.clock.freeze(None)
    return served


@pytest.fixture
def http(platform: StatuspagePlatform) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"OAuth {platform.credentials()['api_key']}"
    yield session
    session.close()


def url(platform: StatuspagePlatform, path: str = "") -> str:
    return f"{platform.base_url}/v1/pages/{platform.page_id}{path}"


def component_id(platform: StatuspagePlatform, name: str) -> str:
    return next(c["id"] for c in platform.components() if c["name"] == name)


def create(platform: StatuspagePlatform, http: requests.Session, **incident: Any) -> dict[str, Any]:
    answer = http.post(url(platform, "/incidents"), json={"incident": {"name": "Email delayed", **incident}})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


# --- auth and identity


def test_requests_without_the_right_oauth_key_are_refused_with_an_error_body(platform: StatuspagePlatform) -> None:
    key = platform.credentials()["api_key"]
    for headers in ({}, {"Authorization": "OAuth wrong"}, {"Authorization": f"Bearer {key}"}):
        answer = requests.get(url(platform), headers=headers)
        assert answer.status_code == 401 and answer.json() == {"error": "Could not authenticate"}
    assert requests.get(url(platform), params={"api_key": key}).status_code == 200
    assert (
        platform.env()
        == {"ITSM_SANDBOX_STATUSPAGE_KEY": key}
        == {"ITSM_SANDBOX_STATUSPAGE_KEY": "statuspage-sandbox-5"}
    )


def test_page_and_component_ids_are_stable_for_a_seed(platform: StatuspagePlatform, http: requests.Session) -> None:
    same, other = StatuspagePlatform(seed=5), StatuspagePlatform(seed=6)
    assert same.page_id == platform.page_id != other.page_id
    assert len(platform.page_id) == 12 and platform.page_id.isalnum() and platform.page_id.islower()
    assert [c["id"] for c in same.components()] == [c["id"] for c in platform.components()]
    page = http.get(url(platform)).json()
    assert page["id"] == platform.page_id and page["name"]
    names = [c["name"] for c in http.get(url(platform, "/components")).json()]
    assert names == ["Email", "VPN", "Payments API", "Web Portal", "Identity / SSO", "Storage", "Database"]


def test_an_unknown_page_or_incident_answers_404(platform: StatuspagePlatform, http: requests.Session) -> None:
    answer = http.get(f"{platform.base_url}/v1/pages/nosuchpage000/incidents")
    assert answer.status_code == 404 and "error" in answer.json()
    assert http.get(url(platform, "/incidents/nosuchincident")).status_code == 404
    assert (
        http.patch(url(platform, "/components/nosuch"), json={"component": {"status": "operational"}}).status_code
        == 404
    )


# --- components


def test_components_page_with_per_page_and_page_capped_at_100(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    assert [
        len(http.get(url(platform, "/components"), params={"per_page": 3, "page": p}).json()) for p in (1, 2, 3, 4)
    ] == [3, 3, 1, 0]
    big = StatuspagePlatform(seed=5)  # its own server: added components outlive reset()
    for n in range(100):
        big.add_component(f"Extra {n}")
    server = serve(big)
    try:
        assert len(http.get(url(big, "/components"), params={"per_page": 500}).json()) == 100
        assert [c["name"] for c in http.get(url(big, "/components"), params={"page": 2}).json()][-1] == "Extra 99"
    finally:
        stop([server])


def test_patching_a_component_sets_its_status_and_refuses_an_unknown_one(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    vpn = component_id(platform, "VPN")
    answer = http.patch(url(platform, f"/components/{vpn}"), json={"component": {"status": "partial_outage"}})
    assert answer.status_code == 200 and answer.json()["status"] == "partial_outage"
    assert http.get(url(platform, f"/components/{vpn}")).json()["status"] == "partial_outage"
    refused = http.patch(url(platform, f"/components/{vpn}"), json={"component": {"status": "down"}})
    assert refused.status_code == 422 and "down" in refused.json()["error"]
    assert platform.component(vpn)["status"] == "partial_outage"


# --- incidents


def test_a_created_incident_sets_its_components_in_the_same_call_and_starts_with_its_body(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    email, vpn = component_id(platform, "Email"), component_id(platform, "VPN")
    inc = create(
        platform,
        http,
        status="identified",
        body="Some messages are delayed.",
        component_ids=[email, vpn],
        components={email: "major_outage"},
        metadata={"itsm_bridge": {"key": "INC0001"}},
    )
    assert platform.component(email)["status"] == "major_outage" and platform.component(vpn)["status"] == "operational"
    assert [c["id"] for c in inc["components"]] == [email, vpn]
    assert inc["impact"] == "critical" and inc["impact_override"] is None and inc["resolved_at"] is None
    assert inc["metadata"] == {"itsm_bridge": {"key": "INC0001"}}
    (update,) = inc["incident_updates"]
    assert (update["status"], update["body"]) == ("identified", "Some messages are delayed.")
    assert update["affected_components"] == [
        {"code": email, "name": "Email", "old_status": "operational", "new_status": "major_outage"}
    ]
    assert http.get(url(platform, f"/incidents/{inc['id']}")).json() == inc


def test_a_patch_with_a_body_or_a_status_change_appends_an_update_and_a_bare_rename_does_not(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    inc = create(platform, http, body="Investigating.")
    path = url(platform, f"/incidents/{inc['id']}")
    renamed = http.patch(path, json={"incident": {"name": "Email delayed for EU users"}}).json()
    assert renamed["name"] == "Email delayed for EU users" and len(renamed["incident_updates"]) == 1
    assert len(http.patch(path, json={"incident": {"body": "Still looking."}}).json()["incident_updates"]) == 2
    moved = http.patch(path, json={"incident": {"status": "monitoring"}}).json()
    assert [u["status"] for u in moved["incident_updates"]] == ["monitoring", "investigating", "investigating"]
    assert moved["monitoring_at"] is not None and moved["incident_updates"][0]["body"] == ""


def test_resolving_stamps_resolved_at_releases_components_and_leaves_the_unresolved_list(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    email = component_id(platform, "Email")
    inc = create(platform, http, components={email: "partial_outage"}, impact_override="major")
    assert [i["id"] for i in http.get(url(platform, "/incidents/unresolved")).json()] == [inc["id"]]
    platform.clock.freeze(datetime(2024, 1, 1, 12, 0, tzinfo=UTC))
    body = {"incident": {"status": "resolved", "body": "Fixed.", "components": {email: "operational"}}}
    resolved = http.patch(url(platform, f"/incidents/{inc['id']}"), json=body).json()
    assert resolved["resolved_at"] == "2024-01-01T12:00:00.000Z" == resolved["updated_at"]
    assert resolved["impact"] == "major"  # the impact stays after the components recover
    assert platform.component(email)["status"] == "operational"
    assert resolved["incident_updates"][0]["affected_components"][0]["new_status"] == "operational"
    assert http.get(url(platform, "/incidents/unresolved")).json() == []


@pytest.mark.parametrize(
    ("incident", "words"),
    [
        ({"name": "x", "status": "broken"}, "broken"),
        ({"name": "x", "status": "in_progress"}, "scheduled maintenance"),
        ({"name": "x", "impact_override": "catastrophic"}, "catastrophic"),
        ({"name": "x", "components": {"COMPONENT": "down"}}, "down"),
        ({"name": "x", "component_ids": ["nosuchcomp000"]}, "nosuchcomp000"),
        ({"name": "x", "metadata": {"key": "INC0001"}}, "Metadata"),
        ({"status": "investigating"}, "Name can't be blank"),
        ({"name": "x" * 256}, "too long"),
    ],
)
def test_invalid_incident_fields_are_refused_with_422_and_nothing_is_stored(
    platform: StatuspagePlatform, http: requests.Session, incident: dict[str, Any], words: str
) -> None:
    if "components" in incident:
        incident = {**incident, "components": {component_id(platform, "Email"): "down"}}
    answer = http.post(url(platform, "/incidents"), json={"incident": incident})
    assert answer.status_code == 422 and words in answer.json()["error"]
    assert platform.incidents() == [] and all(c["status"] == "operational" for c in platform.components())


def test_a_body_without_the_incident_wrapper_is_a_400(platform: StatuspagePlatform, http: requests.Session) -> None:
    answer = http.post(url(platform, "/incidents"), json={"name": "unwrapped"})
    assert answer.status_code == 400 and "incident" in answer.json()["error"]


def test_incidents_list_newest_first_page_with_limit_and_search_with_q(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    ids = [
        create(platform, http, name=f"Incident {n}", body="VPN drops" if n % 2 else "Mail slow")["id"] for n in range(5)
    ]
    listed = http.get(url(platform, "/incidents")).json()
    assert [i["id"] for i in listed] == ids[::-1]
    pages = [
        [i["id"] for i in http.get(url(platform, "/incidents"), params={"limit": 2, "page": p}).json()]
        for p in (1, 2, 3)
    ]
    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert [i["id"] for i in http.get(url(platform, "/incidents"), params={"q": "vpn"}).json()] == [ids[3], ids[1]]
    assert http.get(url(platform, "/incidents"), params={"limit": "many"}).status_code == 400


def test_the_incident_limit_is_capped_at_100(platform: StatuspagePlatform, http: requests.Session) -> None:
    for n in range(101):
        platform.create_incident({"name": f"Incident {n}"})
    assert len(http.get(url(platform, "/incidents"), params={"limit": 250}).json()) == 100
    assert len(http.get(url(platform, "/incidents"), params={"limit": 100, "page": 2}).json()) == 1


def test_the_python_api_applies_the_same_rules(platform: StatuspagePlatform) -> None:
    with pytest.raises(HTTPFailure) as refused:
        platform.create_incident({"name": "x", "status": "broken"})
    assert refused.value.response.status == 422
    inc = platform.create_incident({"name": "Seeded", "body": "First words."})
    assert platform.update_incident(inc["id"], {"status": "resolved"})["resolved_at"] is not None
    assert [u["status"] for u in platform.incident(inc["id"])["incident_updates"]] == ["resolved", "investigating"]


# --- rate limit


def test_the_61st_request_in_a_burst_is_refused_with_429_and_retry_after(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    statuses = [http.get(url(platform, "/components")).status_code for _ in range(60)]
    refused = http.get(url(platform, "/components"))
    assert statuses == [200] * 60 and refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 and "Rate limit" in refused.json()["error"]
    platform.throttle_status = 420  # as older pages answered
    assert http.get(url(platform)).status_code == 420


def test_the_rate_limit_is_configurable_and_reset_clears_the_window(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    platform.rate_limit = (2, 60.0)
    assert [http.get(url(platform)).status_code for _ in range(3)] == [200, 200, 429]
    platform.reset()
    assert http.get(url(platform)).status_code == 200


def test_an_injected_429_storm_answers_in_the_statuspage_shape(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    platform.faults.inject("rate_429", count=2, retry_after="7")
    platform.throttle_status = 420
    answers = [http.get(url(platform)) for _ in range(3)]
    assert [a.status_code for a in answers] == [420, 420, 200]
    assert answers[0].headers["Retry-After"] == "7" and "error" in answers[0].json()


# --- state


def test_reset_clears_incidents_and_calls_and_restores_component_statuses(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    email = component_id(platform, "Email")
    create(platform, http, components={email: "major_outage"})
    platform.reset()
    assert platform.incidents() == [] and platform.call_log.calls() == []
    assert platform.component(email)["status"] == "operational"


def test_state_survives_a_json_round_trip_into_a_new_platform(
    platform: StatuspagePlatform, http: requests.Session
) -> None:
    email = component_id(platform, "Email")
    inc = create(platform, http, body="Down.", components={email: "partial_outage"})
    copy = StatuspagePlatform(seed=5)
    copy.load_state(json.loads(json.dumps(platform.to_state())))
    assert copy.incident(inc["id"]) == platform.incident(inc["id"])
    assert copy.component(email)["status"] == "partial_outage"
    copy.create_incident({"name": "next"})
    assert len({i["id"] for i in copy.incidents()}) == 2  # the id counter came back too
