"""The Cachet 2.x sandbox over loopback HTTP: token, components, incidents with a component, updates, paging."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.sandbox.statuspage.cachet import CachetPlatform

API = "/api/v1"


@pytest.fixture(scope="module")
def served() -> Iterator[CachetPlatform]:
    platform = CachetPlatform(seed=8)
    server = serve(platform)
    yield platform
    stop([server])


@pytest.fixture
def platform(served: CachetPlatform) -> CachetPlatform:
    """The module's server with data and configuration back to defaults."""
    served.reset()
    served.rate_limit = None
    served.public_reads = True
    served.app_timezone = "UTC"
    served.version = "2.4.1"
    served.clock.skew = timedelta(0)
    return served


@pytest.fixture
def http(platform: CachetPlatform) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["X-Cachet-Token"] = platform.credentials()["token"]
    yield session
    session.close()


def url(platform: CachetPlatform, path: str) -> str:
    return platform.base_url + API + path


def component_id(platform: CachetPlatform, name: str) -> int:
    return next(int(c["id"]) for c in platform.components() if c["name"] == name)


def create(platform: CachetPlatform, http: requests.Session, **fields: Any) -> dict[str, Any]:
    answer = http.post(
        url(platform, "/incidents"), json={"name": "Email delayed", "message": "Looking.", "status": 1, **fields}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


def details(answer: requests.Response) -> str:
    (error,) = answer.json()["errors"]
    assert set(error) >= {"id", "status", "title", "detail"} and error["status"] == answer.status_code
    return str(error["detail"])


# --- token


def test_writes_need_the_token_and_refusals_use_the_cachet_error_shape(platform: CachetPlatform) -> None:
    body = {"name": "x", "message": "y", "status": 1}
    for headers in ({}, {"X-Cachet-Token": "wrong"}):
        answer = requests.post(url(platform, "/incidents"), json=body, headers=headers)
        assert answer.status_code == 401 and "Authentication" in details(answer)
    assert platform.incidents() == []
    assert platform.env() == {"ITSM_SANDBOX_CACHET_TOKEN": "cachet-sandbox-8"}


def test_reads_are_public_but_guests_do_not_see_hidden_incidents(
    platform: CachetPlatform, http: requests.Session
) -> None:
    shown, hidden = create(platform, http)["id"], create(platform, http, visible=0)["id"]
    guest = requests.get(url(platform, "/incidents")).json()["data"]
    assert [i["id"] for i in guest] == [shown]
    assert requests.get(url(platform, f"/incidents/{hidden}"), headers={"X-Cachet-Token": "wrong"}).status_code == 404
    assert [i["id"] for i in http.get(url(platform, "/incidents")).json()["data"]] == [shown, hidden]
    platform.public_reads = False
    assert requests.get(url(platform, "/components")).status_code == 401
    assert requests.get(url(platform, "/ping")).json() == {"data": "Pong!"}


# --- components


def test_components_page_under_meta_pagination(platform: CachetPlatform, http: requests.Session) -> None:
    first = http.get(url(platform, "/components"), params={"per_page": 3}).json()
    pagination = first["meta"]["pagination"]
    assert (pagination["total"], pagination["count"], pagination["total_pages"]) == (7, 3, 3)
    assert pagination["links"]["previous_page"] is None and "page=2" in pagination["links"]["next_page"]
    last = http.get(url(platform, "/components"), params={"per_page": 3, "page": 3}).json()
    assert [c["name"] for c in last["data"]] == ["Database"] and last["meta"]["pagination"]["links"][
        "next_page"
    ] is None
    assert [c["id"] for c in first["data"]] == [1, 2, 3] and first["data"][0]["status_name"] == "Operational"
    assert len(http.get(url(platform, "/components")).json()["data"]) == 7  # default per_page 20


def test_components_filter_by_the_enabled_flag(platform: CachetPlatform, http: requests.Session) -> None:
    db = component_id(platform, "Database")
    assert http.put(url(platform, f"/components/{db}"), json={"enabled": False}).status_code == 200
    enabled = http.get(url(platform, "/components"), params={"enabled": "1"})
    disabled = http.get(url(platform, "/components"), params={"enabled": "false"})
    assert enabled.status_code == disabled.status_code == 200, enabled.text
    assert [c["name"] for c in disabled.json()["data"]] == ["Database"]
    assert len(enabled.json()["data"]) == 6 and "Database" not in {c["name"] for c in enabled.json()["data"]}


def test_putting_a_component_status_changes_it_and_an_out_of_range_status_is_a_400(
    platform: CachetPlatform, http: requests.Session
) -> None:
    vpn = component_id(platform, "VPN")
    answer = http.put(url(platform, f"/components/{vpn}"), json={"status": 3})
    assert answer.status_code == 200 and answer.json()["data"]["status_name"] == "Partial Outage"
    refused = http.put(url(platform, f"/components/{vpn}"), json={"status": 9})
    assert refused.status_code == 400 and "status" in details(refused)
    assert platform.component(vpn)["status"] == 3
    assert http.put(url(platform, "/components/999"), json={"status": 1}).status_code == 404
    assert http.get(url(platform, "/components"), params={"status": 3}).json()["meta"]["pagination"]["total"] == 1


def test_an_empty_component_put_proves_the_token_and_changes_nothing(
    platform: CachetPlatform, http: requests.Session
) -> None:
    before = platform.component(1)
    platform.clock.skew = timedelta(minutes=5)  # a later write would show a later updated_at
    assert http.put(url(platform, "/components/1"), json={}).status_code == 200
    assert platform.component(1) == before
    assert requests.put(url(platform, "/components/1"), json={}, headers={"X-Cachet-Token": "wrong"}).status_code == 401
    http.put(url(platform, "/components/1"), json={"status": 2})
    assert platform.component(1)["updated_at"] > before["updated_at"]


# --- incidents


def test_an_incident_with_component_status_sets_the_component_in_the_same_call(
    platform: CachetPlatform, http: requests.Session
) -> None:
    email = component_id(platform, "Email")
    inc = create(platform, http, component_id=email, component_status=4, visible=1, notify=True)
    assert inc["component_id"] == email and inc["human_status"] == "Investigating"
    assert platform.component(email)["status"] == 4
    fixed = http.put(
        url(platform, f"/incidents/{inc['id']}"),
        json={"status": 4, "message": "Fixed.", "component_id": email, "component_status": 1},
    ).json()["data"]
    assert (fixed["status"], fixed["message"]) == (4, "Fixed.") and platform.component(email)["status"] == 1
    assert http.get(url(platform, f"/incidents/{inc['id']}")).json()["data"] == fixed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "no name", "status": 1}, "name"),
        ({"name": "x", "message": "no status"}, "status"),
        ({"name": "x", "status": 7}, "status"),
        ({"name": "x", "status": "investigating"}, "status"),
        ({"name": "x", "status": 1, "component_status": 4}, "component id"),
        ({"name": "x", "status": 1, "component_id": 1}, "component status"),
        ({"name": "x", "status": 1, "component_id": 99, "component_status": 4}, "component id"),
        ({"name": "x", "status": 1, "component_id": 1, "component_status": 6}, "component status"),
        ({"name": "x", "status": 1, "visible": "perhaps"}, "visible"),
    ],
)
def test_invalid_incidents_are_refused_with_a_400_naming_the_field(
    platform: CachetPlatform, http: requests.Session, body: dict[str, Any], field: str
) -> None:
    answer = http.post(url(platform, "/incidents"), json=body)
    assert answer.status_code == 400 and field in details(answer)
    assert field in " ".join(answer.json()["errors"][0]["meta"]["details"])
    assert platform.incidents() == [] and all(c["status"] == 1 for c in platform.components())


def test_incidents_filter_by_status_and_component_and_sort(platform: CachetPlatform, http: requests.Session) -> None:
    email, vpn = component_id(platform, "Email"), component_id(platform, "VPN")
    a = create(platform, http, component_id=email, component_status=2)["id"]
    b = create(platform, http, status=2, component_id=vpn, component_status=3)["id"]
    c = create(platform, http, status=4)["id"]
    listed = lambda **q: [i["id"] for i in http.get(url(platform, "/incidents"), params=q).json()["data"]]  # noqa: E731
    assert listed(status=2) == [b] and listed(component_id=email) == [a]
    assert listed(sort="id", order="desc") == [c, b, a]
    assert listed(per_page=2, page=2) == [c]
    assert http.get(url(platform, "/incidents"), params={"status": "open"}).status_code == 400


def test_incident_updates_are_listed_and_move_the_incident_status(
    platform: CachetPlatform, http: requests.Session
) -> None:
    inc = create(platform, http)
    path = url(platform, f"/incidents/{inc['id']}/updates")
    for status, message in ((2, "Cause found."), (3, "Watching.")):
        answer = http.post(path, json={"status": status, "message": message})
        assert answer.status_code == 200 and answer.json()["data"]["incident_id"] == inc["id"]
    listed = http.get(path).json()
    assert [(u["status"], u["message"]) for u in listed["data"]] == [(2, "Cause found."), (3, "Watching.")]
    assert listed["meta"]["pagination"]["total"] == 2 and listed["data"][1]["human_status"] == "Watching"
    assert platform.incident(inc["id"])["status"] == 3
    refused = http.post(path, json={"status": 4})
    assert refused.status_code == 400 and "message" in details(refused)
    update_id = listed["data"][0]["id"]
    assert http.get(f"{path}/{update_id}").json()["data"]["message"] == "Cause found."


# --- rate limit and state


def test_no_rate_limit_by_default_and_429_with_retry_after_once_set(
    platform: CachetPlatform, http: requests.Session
) -> None:
    assert {http.get(url(platform, "/components")).status_code for _ in range(70)} == {200}
    platform.rate_limit = (2, 60.0)
    answers = [http.get(url(platform, "/components")) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60 and details(answers[2])


def test_reset_and_state_round_trip(platform: CachetPlatform, http: requests.Session) -> None:
    email = component_id(platform, "Email")
    inc = create(platform, http, component_id=email, component_status=3)
    http.post(url(platform, f"/incidents/{inc['id']}/updates"), json={"status": 2, "message": "Found."})
    copy = CachetPlatform(seed=8)
    copy.load_state(json.loads(json.dumps(platform.to_state())))
    assert copy.incident(inc["id"])["status"] == 2 and copy.component(email)["status"] == 3
    assert [u["message"] for u in copy.updates(inc["id"])] == ["Found."]
    platform.reset()
    assert platform.incidents() == [] and platform.component(email)["status"] == 1 and platform.call_log.calls() == []
    assert copy.add_component("Mobile App") == 8


@pytest.mark.parametrize(("zone", "hours"), [("Australia/Lord_Howe", (10.5, 11)), ("America/Los_Angeles", (-8, -7))])
def test_times_are_naive_and_in_the_app_timezone_not_utc(
    platform: CachetPlatform, http: requests.Session, zone: str, hours: tuple[float, float]
) -> None:
    """Cachet 2.4 renders created_at/updated_at with DateFactory::make (cachet.timezone = app_timezone)."""
    from datetime import UTC, datetime

    platform.app_timezone = zone
    made = create(platform, http)
    now = datetime.now(UTC).replace(tzinfo=None)
    for column in ("created_at", "updated_at", "occurred_at"):
        shown = datetime.strptime(made[column], "%Y-%m-%d %H:%M:%S")  # naive: no offset, no Z
        assert round((shown - now).total_seconds() / 1800) / 2 in hours, (column, made[column])
    read = http.get(url(platform, f"/incidents/{made['id']}")).json()["data"]
    assert read["updated_at"] == made["updated_at"]
    comp = http.get(url(platform, "/components/1")).json()["data"]
    assert round((datetime.strptime(comp["created_at"], "%Y-%m-%d %H:%M:%S") - now).total_seconds() / 1800) / 2 in hours


def test_cachet_24_keeps_incident_meta_and_shows_it_on_every_read(
    platform: CachetPlatform, http: requests.Session
) -> None:
    made = create(platform, http, meta={"itsm_bridge_key": "INC0001", "empty": ""})
    assert made["meta"] == {"itsm_bridge_key": "INC0001"}  # empty values are not stored
    listed = http.get(url(platform, "/incidents")).json()["data"]
    assert [i["meta"] for i in listed] == [{"itsm_bridge_key": "INC0001"}]
    assert create(platform, http, meta="not an object")["meta"] == {}


def test_cachet_23_has_no_incident_updates_and_keeps_no_meta(platform: CachetPlatform, http: requests.Session) -> None:
    platform.version = "2.3.18"
    assert http.get(url(platform, "/version")).json()["data"] == "2.3.18"
    made = create(platform, http, meta={"itsm_bridge_key": "INC0001"})
    assert "meta" not in made and "latest_update_id" not in made
    answer = http.post(url(platform, f"/incidents/{made['id']}/updates"), json={"status": 2, "message": "Found."})
    assert answer.status_code == 404 and details(answer)
    assert http.get(url(platform, f"/incidents/{made['id']}/updates")).status_code == 404
    put = http.put(url(platform, f"/incidents/{made['id']}"), json={"status": 2, "message": "Found."})
    assert put.status_code == 200 and (put.json()["data"]["status"], put.json()["data"]["message"]) == (2, "Found.")


def test_sort_by_a_column_not_sortable_is_ignored_with_its_order(
    platform: CachetPlatform, http: requests.Session
) -> None:
    """SortableTrait::scopeSort: updated_at is not in Incident::$sortable, so the list stays in id order."""
    first, second = create(platform, http, name="A"), create(platform, http, name="B")
    http.put(url(platform, f"/incidents/{first['id']}"), json={"name": "A2"})
    ids = [
        i["id"]
        for i in http.get(url(platform, "/incidents"), params={"sort": "updated_at", "order": "desc"}).json()["data"]
    ]
    assert ids == [first["id"], second["id"]]
    ids = [
        i["id"] for i in http.get(url(platform, "/incidents"), params={"sort": "id", "order": "desc"}).json()["data"]
    ]
    assert ids == [second["id"], first["id"]]
