"""The Statuspage sandbox against Atlassian's OpenAPI description (statuspage-v1.openapi.json).

Each exchange the connector relies on is validated, request and response, with openapi-core; and
requests the description rejects are rejected by the sandbox too.

Two defects of the description are fixed in memory before loading (never in the file):
- `Incident.metadata` has `"type": "Object"`, which no validator knows (SOURCES.md, Known defects);
- fields the service answers as `null` until they apply (`resolved_at`, `monitoring_at`,
  `impact_override`, postmortem and schedule fields, a component's `description`, `group_id`, `start_date`,
  an update's tweet fields) are not marked `nullable`.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIResponse

from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.sandbox.statuspage.api import StatuspagePlatform
from tests.contract.conftest import as_vendor_request, request_is_valid, validate_exchange
from tests.contract.recording import recorded  # noqa: F401  (a fixture)
from tests.specs import spec_path

PREFIX = "/v1"  # the spec's server URL already ends in /v1
NULLABLE = {
    "Incident": (
        "impact_override",
        "monitoring_at",
        "resolved_at",
        "postmortem_body",
        "postmortem_body_last_updated_at",
        "postmortem_published_at",
        "scheduled_for",
        "scheduled_until",
        "scheduled_reminded_at",
        "reminder_intervals",
    ),
    "Component": ("description", "group_id", "start_date"),
    "IncidentUpdate": ("custom_tweet", "tweet_id", "twitter_updated_at"),
}


@functools.cache
def spec() -> OpenAPI:
    data = json.loads(spec_path("statuspage-v1.openapi.json").read_text("utf-8"))
    schemas = copy.deepcopy(data["components"]["schemas"])
    schemas["Incident"]["properties"]["metadata"]["type"] = "object"
    for name, fields in NULLABLE.items():
        for field in fields:
            schemas[name]["properties"][field]["nullable"] = True
    data["components"]["schemas"] = schemas
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def served() -> Iterator[StatuspagePlatform]:
    platform = StatuspagePlatform(seed=11)
    server = serve(platform)
    yield platform
    stop([server])


@pytest.fixture
def platform(served: StatuspagePlatform) -> StatuspagePlatform:
    served.reset()
    return served


@pytest.fixture
def http(platform: StatuspagePlatform) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"OAuth {platform.credentials()['api_key']}"
    yield session
    session.close()


def url(platform: StatuspagePlatform, path: str = "") -> str:
    return f"{platform.base_url}/v1/pages/{platform.page_id}{path}"


def checked(answer: requests.Response, status: int) -> Any:
    """The answer's JSON, once its status is as expected and the exchange matches the description."""
    assert answer.status_code == status, answer.text
    validate_exchange(spec(), PREFIX, answer)
    return answer.json()


def new_incident(platform: StatuspagePlatform, http: requests.Session) -> dict[str, Any]:
    email = next(c["id"] for c in platform.components() if c["name"] == "Email")
    body = {
        "incident": {
            "name": "Email delivery delayed",
            "status": "investigating",
            "impact_override": "major",
            "body": "Some messages are delayed.",
            "component_ids": [email],
            "components": {email: "partial_outage"},
            "deliver_notifications": True,
            "metadata": {"itsm_bridge": {"key": "INC0001"}},
        }
    }
    return dict(checked(http.post(url(platform, "/incidents"), json=body), 201))


def test_create_incident_matches_the_description(platform: StatuspagePlatform, http: requests.Session) -> None:
    inc = new_incident(platform, http)
    assert inc["components"][0]["status"] == "partial_outage" and len(inc["incident_updates"]) == 1


def test_get_and_list_incidents_match_the_description(platform: StatuspagePlatform, http: requests.Session) -> None:
    inc = new_incident(platform, http)
    assert checked(http.get(url(platform, f"/incidents/{inc['id']}")), 200)["id"] == inc["id"]
    listed = checked(http.get(url(platform, "/incidents"), params={"q": "email", "limit": 100, "page": 1}), 200)
    assert [i["id"] for i in listed] == [inc["id"]]
    assert [
        i["id"] for i in checked(http.get(url(platform, "/incidents/unresolved"), params={"per_page": 100}), 200)
    ] == [inc["id"]]


def test_patch_incident_matches_the_description(platform: StatuspagePlatform, http: requests.Session) -> None:
    inc = new_incident(platform, http)
    email = inc["components"][0]["id"]
    body = {
        "incident": {
            "status": "resolved",
            "body": "Delivery is back to normal.",
            "components": {email: "operational"},
            "component_ids": [email],
        }
    }
    resolved = checked(http.patch(url(platform, f"/incidents/{inc['id']}"), json=body), 200)
    assert resolved["status"] == "resolved" and resolved["resolved_at"] and len(resolved["incident_updates"]) == 2


def test_list_and_patch_components_match_the_description(platform: StatuspagePlatform, http: requests.Session) -> None:
    components = checked(http.get(url(platform, "/components"), params={"per_page": 100, "page": 1}), 200)
    vpn = next(c["id"] for c in components if c["name"] == "VPN")
    patched = checked(
        http.patch(url(platform, f"/components/{vpn}"), json={"component": {"status": "major_outage"}}), 200
    )
    assert patched["status"] == "major_outage"
    assert checked(http.get(url(platform, f"/components/{vpn}")), 200)["status"] == "major_outage"


def test_page_and_a_refused_key_match_the_description(platform: StatuspagePlatform, http: requests.Session) -> None:
    assert checked(http.get(url(platform)), 200)["id"] == platform.page_id
    checked(requests.get(url(platform), headers={"Authorization": "OAuth wrong"}), 401)
    checked(http.get(f"{platform.base_url}/v1/pages/nosuchpage000"), 404)


@pytest.mark.parametrize(
    "incident",
    [
        {"name": "Email delivery delayed", "status": "on_fire"},
        {"status": "investigating", "body": "no name"},
        {"name": "Email delivery delayed", "impact_override": "catastrophic"},
        {"name": "Email delivery delayed", "deliver_notifications": "yes please"},
    ],
    ids=["status-enum", "missing-name", "impact-enum", "notifications-type"],
)
def test_what_the_description_rejects_the_sandbox_rejects(
    platform: StatuspagePlatform, http: requests.Session, incident: dict[str, Any]
) -> None:
    answer = http.post(url(platform, "/incidents"), json={"incident": incident})
    assert not request_is_valid(spec(), PREFIX, answer.request)
    assert answer.status_code == 422 and answer.json()["error"]
    # the refusal itself is the description's 422 ErrorEntity
    spec().validate_response(as_vendor_request(spec(), PREFIX, answer.request), RequestsOpenAPIResponse(answer))
    assert platform.incidents() == []


def test_a_patch_the_description_rejects_is_rejected(platform: StatuspagePlatform, http: requests.Session) -> None:
    inc = new_incident(platform, http)
    answer = http.patch(url(platform, f"/incidents/{inc['id']}"), json={"incident": {"status": "fixed"}})
    assert not request_is_valid(spec(), PREFIX, answer.request)
    assert answer.status_code == 422
    assert platform.incident(inc["id"])["status"] == "investigating"
    bad_component = http.patch(
        url(platform, f"/components/{inc['components'][0]['id']}"), json={"component": {"status": "down"}}
    )
    assert not request_is_valid(spec(), PREFIX, bad_component.request) and bad_component.status_code == 422


def test_every_answer_the_connector_gets_matches_the_description(
    platform: StatuspagePlatform, recorded, monkeypatch
) -> None:
    """The connector's whole life of a page incident, each exchange validated as it made it."""
    from itsm_bridge.connectors.statuspage import StatuspageConnector, status_page_connector
    from itsm_bridge.model import Priority, State
    from tests.connectors.statuspage.test_statuspage import canary_incident
    from tests.connectors.statuspage.test_statuspage_responses import page_config

    monkeypatch.setenv("SP_TEST_KEY", platform.credentials()["api_key"])
    conn = status_page_connector(page_config(platform.base_url, page_id=platform.page_id, rps=50.0, interval=0.0))
    assert isinstance(conn, StatuspageConnector) and all(r.ok for r in conn.check())
    ref = conn.publish(canary_incident(priority=Priority.P1)).ref
    conn.publish(canary_incident(priority=Priority.P2, state=State.IN_PROGRESS, public_message="Cause found."), ref)
    conn.get(ref)
    conn.find("INC0001")
    list(conn.changed_since(None))
    conn.publish(canary_incident(priority=Priority.P2, state=State.RESOLVED), ref)
    shapes = {
        (a.request.method, a.request.path_url.split("?")[0].replace(platform.page_id, "{page}").replace(ref.id, "{id}"))
        for a in recorded
    }
    assert {
        ("GET", "/v1/pages/{page}"),
        ("GET", "/v1/pages/{page}/components"),
        ("GET", "/v1/pages/{page}/incidents"),
        ("GET", "/v1/pages/{page}/incidents/unresolved"),
        ("POST", "/v1/pages/{page}/incidents"),
        ("PATCH", "/v1/pages/{page}/incidents/{id}"),
        ("GET", "/v1/pages/{page}/incidents/{id}"),
    } <= shapes
    for answer in recorded:
        validate_exchange(spec(), PREFIX, answer)
