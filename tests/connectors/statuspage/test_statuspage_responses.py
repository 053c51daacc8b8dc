"""Exact Statuspage and Cachet requests, decisions and refusals (`responses`, no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses

from itsm_bridge import config as config_mod
from itsm_bridge.connectors.statuspage import CachetConnector, StatuspageConnector, status_page_connector
from itsm_bridge.connectors.statuspage.rules import Deferred, PublishBlocked, hold_plan, release_plan
from itsm_bridge.errors import RemoteValidation
from itsm_bridge.mapping.publish import should_publish
from itsm_bridge.mapping.statuspage import StatuspageMapper
from itsm_bridge.model import Comment, Incident, Priority, RemoteRef, State

SP = "https://api.statuspage.io"
PAGE = f"{SP}/v1/pages/pg1"
CACHET = "https://status.example.com"
KEY = "sp-key-not-to-be-seen-7"


def page_config(
    url: str = SP,
    *,
    provider: str = "statuspage",
    page_id: str = "pg1",
    rps: float = 1000.0,
    interval: float = 300.0,
    extra: str = "",
    page_extra: str = "",
) -> config_mod.Config:
    """A config publishing P1-P2 and major incidents onto a page with Email, VPN and Payments API."""
    auth = (
        f'page_id = "{page_id}"\napi_key_env = "SP_TEST_KEY"'
        if provider == "statuspage"
        else 'token_env = "SP_TEST_KEY"'
    )
    return config_mod.parse(f"""
[servicenow]
url = "https://acme.service-now.com"
user = "bridge"
password_env = "SNOW_PASSWORD"

[statuspage]
provider = "{provider}"
url = "{url}"
{auth}
requests_per_second = {rps}
min_update_interval_s = {interval}
max_retries = 3
{page_extra}

[sync]
targets = ["statuspage"]

[taxonomy.services.Email]
statuspage = "Email"
[taxonomy.services.VPN]
statuspage = "VPN"
[taxonomy.services."Payments API"]
aliases = ["Payments"]
statuspage = "Payments API"
[taxonomy.services.Printing]
servicenow = "Printing"
{extra}
""")


def incident(**kw) -> Incident:
    base = dict(
        key="INC0001",
        title="Email delayed",
        service="Email",
        priority=Priority.P1,
        state=State.NEW,
        opened=datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
    )
    return Incident(**{**base, **kw})


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sp(monkeypatch, clock):
    monkeypatch.setenv("SP_TEST_KEY", KEY)
    sleeps: list[float] = []
    conn = StatuspageConnector(page_config(), sleep=sleeps.append, clock=clock)
    conn.sleeps = sleeps  # type: ignore[attr-defined]
    return conn


COMPONENTS = [
    {"id": "c-email", "name": "Email", "status": "operational"},
    {"id": "c-vpn", "name": "VPN", "status": "operational"},
    {"id": "c-pay", "name": "Payments API", "status": "operational"},
]


def page_incident(
    iid: str = "i1",
    *,
    status: str = "investigating",
    impact: str = "critical",
    components=("c-email",),
    key: str | None = "INC0001",
    updated: str = "2024-03-01T12:00:00Z",
    body: str = "b",
) -> dict:
    return {
        "id": iid,
        "name": f"incident {iid}",
        "status": status,
        "impact": impact,
        "components": [{"id": c, "name": c, "status": "major_outage"} for c in components],
        "incident_updates": [{"body": body, "status": status, "created_at": updated}],
        "metadata": {"itsm_bridge": {"key": key}} if key else {},
        "created_at": "2024-03-01T11:00:00Z",
        "updated_at": updated,
        "resolved_at": updated if status == "resolved" else None,
    }


def sent(call: responses.Call) -> dict:
    return json.loads(call.request.body)


def writes() -> list[responses.Call]:
    return [c for c in responses.calls if c.request.method in ("POST", "PATCH", "PUT")]


# --- what is published


def test_publish_rule_is_priority_or_major_and_a_mapped_component(monkeypatch):
    cfg = page_config()
    assert should_publish(incident(priority=Priority.P2), cfg)
    assert should_publish(incident(priority=Priority.P4, major=True), cfg)
    assert not should_publish(incident(priority=Priority.P3), cfg)
    assert not should_publish(incident(service="Printing"), cfg)  # no page component
    assert not should_publish(incident(service=None), cfg)
    assert should_publish(incident(service="payments"), cfg)  # an alias maps too
    no_major = page_config(extra='[publish]\nwhen_major = false\npriorities = ["P1"]')
    assert not should_publish(incident(priority=Priority.P4, major=True), no_major)


@responses.activate
def test_an_incident_not_chosen_is_never_sent(sp):
    assert sp.publish(incident(priority=Priority.P3)).action == "skipped"
    assert sp.publish(incident(service="Printing")).action == "skipped"
    assert len(responses.calls) == 0


@responses.activate
def test_the_page_connector_publishes_by_the_policy_it_is_given(monkeypatch, clock):
    class OnlyMajor(StatuspageMapper):
        def chosen(self, incident: Incident) -> bool:
            return incident.major

    monkeypatch.setenv("SP_TEST_KEY", KEY)
    cfg = page_config()
    sp = StatuspageConnector(cfg, policy=OnlyMajor(cfg), clock=clock)
    assert sp.publish(incident(priority=Priority.P1)).action == "skipped"  # the default policy publishes a P1
    assert len(responses.calls) == 0


@responses.activate
def test_a_publish_the_guard_blocks_sends_nothing(sp):
    result = sp.publish(incident(title="db01.corp down at 10.0.0.12"))
    assert result.action == "blocked" and result.ref is None
    assert {f.rule_id for f in result.findings} >= {"publish.guard.host", "publish.guard.ipv4"}
    assert all(f.blocking for f in result.findings)
    assert len(responses.calls) == 0


@responses.activate
def test_create_rejects_guarded_text_even_when_called_directly(sp):
    with pytest.raises(PublishBlocked):
        sp.create({"name": "mail john@example.com", "status": "investigating"}, "INC0001")
    assert len(responses.calls) == 0


# --- request shapes


@responses.activate
def test_create_sends_one_call_with_components_impact_and_key_in_metadata(sp):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(f"{PAGE}/incidents", json=[])  # find(): nothing yet
    responses.get(f"{PAGE}/incidents/unresolved", json=[])
    responses.post(f"{PAGE}/incidents", json=page_incident(), status=201)
    result = sp.publish(incident(public_message="Some mail is delayed."))
    assert result.action == "created" and result.ref == RemoteRef("statuspage", "i1", "incident i1")
    (post,) = writes()
    assert post.request.headers["Authorization"] == f"OAuth {KEY}"
    assert sent(post) == {
        "incident": {
            "name": "Email delayed",
            "status": "investigating",
            "body": "Some mail is delayed.",
            "impact_override": "critical",
            "components": {"c-email": "major_outage"},
            "component_ids": ["c-email"],
            "metadata": {"itsm_bridge": {"key": "INC0001"}},
            "deliver_notifications": True,
        }
    }
    assert not any("/components/" in c.request.url for c in responses.calls)  # no separate component PATCH


@responses.activate
def test_component_status_follows_priority(sp):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(f"{PAGE}/incidents/unresolved", json=[])
    responses.post(f"{PAGE}/incidents", json=page_incident(), status=201)
    for priority, expected in (
        (Priority.P1, "major_outage"),
        (Priority.P2, "partial_outage"),
        (Priority.P3, "degraded_performance"),
    ):
        fresh = StatuspageConnector(page_config(), sleep=sp.sleep, clock=sp.cadence.clock)  # no other incident holds it
        fields, _ = fresh.policy.to_fields(incident(priority=priority))
        fresh.create(fields, "INC0001")
        assert sent(writes()[-1])["incident"]["components"] == {"c-email": expected}


@responses.activate
def test_a_second_open_incident_never_lowers_the_component_the_first_holds(sp):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(f"{PAGE}/incidents/unresolved", json=[])
    responses.post(f"{PAGE}/incidents", json=page_incident(), status=201)
    responses.post(f"{PAGE}/incidents", json=page_incident("i2", key="INC0002"), status=201)
    sp.create(sp.policy.to_fields(incident(priority=Priority.P1))[0], "INC0001")
    sp.create(sp.policy.to_fields(incident(priority=Priority.P3))[0], "INC0002")
    assert sent(writes()[-1])["incident"]["components"] == {"c-email": "major_outage"}  # held by the first, as sent
    assert len([c for c in responses.calls if "/unresolved" in c.request.url]) == 1  # read once, then kept


@responses.activate
def test_a_new_incident_never_lowers_a_component_another_holds(sp):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(f"{PAGE}/incidents/unresolved", json=[page_incident("other", impact="critical", key=None)])
    responses.post(f"{PAGE}/incidents", json=page_incident(), status=201)
    fields, _ = sp.policy.to_fields(incident(priority=Priority.P3))
    sp.create(fields, "INC0001")
    assert sent(writes()[0])["incident"]["components"] == {"c-email": "major_outage"}


# --- cadence and resolve


@responses.activate
def test_updates_wait_for_the_minimum_interval_and_report_deferred(sp, clock):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(f"{PAGE}/incidents", json=[])
    responses.get(f"{PAGE}/incidents/unresolved", json=[])
    responses.post(f"{PAGE}/incidents", json=page_incident(), status=201)
    responses.get(f"{PAGE}/incidents/i1", json=page_incident())
    responses.patch(f"{PAGE}/incidents/i1", json=page_incident(status="identified"))
    ref = sp.publish(incident()).ref
    clock.now += timedelta(seconds=120)
    result = sp.publish(incident(state=State.IN_PROGRESS), ref)
    assert result.action == "deferred" and "180" in result.detail
    assert [c.request.method for c in writes()] == ["POST"]
    clock.now += timedelta(seconds=181)
    assert sp.publish(incident(state=State.IN_PROGRESS), ref).action == "updated"
    patch = writes()[-1]
    assert sent(patch)["incident"]["status"] == "identified" and "body" in sent(patch)["incident"]


@responses.activate
def test_cadence_survives_a_restart_through_the_page_updated_time(monkeypatch, clock):
    monkeypatch.setenv("SP_TEST_KEY", KEY)
    fresh = StatuspageConnector(page_config(), sleep=lambda s: None, clock=clock)  # knows nothing locally
    responses.get(f"{PAGE}/incidents/i1", json=page_incident(updated="2024-03-01T11:58:00Z"))
    with pytest.raises(Deferred) as exc:
        fresh.update(RemoteRef("statuspage", "i1"), {"status": "identified", "body": "x"})
    assert 170 <= exc.value.wait_s <= 180 and writes() == []


@responses.activate
def test_resolve_is_never_deferred_and_releases_an_unheld_component(sp):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(f"{PAGE}/incidents/unresolved", json=[page_incident()])
    responses.patch(f"{PAGE}/incidents/i1", json=page_incident(status="resolved"))
    sp.cadence.note("i1")  # just written: an ordinary update would wait
    sp.transition(RemoteRef("statuspage", "i1"), State.RESOLVED, {"body": "Fixed."})
    assert sent(writes()[0]) == {
        "incident": {
            "status": "resolved",
            "body": "Fixed.",
            "components": {"c-email": "operational"},
            "component_ids": ["c-email"],
        }
    }


@responses.activate
def test_resolving_one_of_two_overlapping_incidents_leaves_the_component_down(sp):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(
        f"{PAGE}/incidents/unresolved", json=[page_incident(), page_incident("i2", impact="major", key="INC0002")]
    )
    responses.patch(f"{PAGE}/incidents/i1", json=page_incident(status="resolved"))
    sp.transition(RemoteRef("statuspage", "i1"), State.RESOLVED)
    assert sent(writes()[0])["incident"]["components"] == {"c-email": "partial_outage"}  # i2's hold


@responses.activate
def test_resolving_what_the_page_already_shows_resolved_sends_nothing(sp):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(f"{PAGE}/incidents/unresolved", json=[])
    responses.get(f"{PAGE}/incidents/i1", json=page_incident(status="resolved"))
    sp.transition(RemoteRef("statuspage", "i1"), State.CLOSED)
    assert writes() == []


# --- rate limits, correlation, read-back


@pytest.mark.parametrize("status", [420, 429])
@responses.activate
def test_420_and_429_wait_for_retry_after_then_the_create_goes_through(sp, status):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(f"{PAGE}/incidents/unresolved", json=[])
    responses.post(f"{PAGE}/incidents", status=status, headers={"Retry-After": "3"}, json={"error": "slow down"})
    responses.post(f"{PAGE}/incidents", json=page_incident(), status=201)
    fields, _ = sp.policy.to_fields(incident())
    assert sp.create(fields, "INC0001").ref.id == "i1"
    assert len(writes()) == 2 and any(s >= 3.0 for s in sp.sleeps)


def test_connectors_with_one_key_share_one_budget(monkeypatch):
    monkeypatch.setenv("SP_TEST_KEY", KEY)
    a = StatuspageConnector(page_config(rps=1.0))
    b = StatuspageConnector(page_config(rps=1.0))
    c = StatuspageConnector(page_config("https://other.example", rps=1.0))
    assert a.http.budget is b.http.budget and a.http.budget is not c.http.budget


@responses.activate
def test_find_reads_the_key_from_metadata(sp):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(f"{PAGE}/incidents/unresolved", json=[page_incident("i9", key="INC0009")])
    responses.get(f"{PAGE}/incidents", json=[page_incident("i1", status="resolved")])
    assert sp.find("INC0001").ref.id == "i1"
    assert sp.find("INC0009").correlation_key == "INC0009"
    assert sp.find("INC0404") is None


@responses.activate
def test_read_back_shows_page_state_for_drift_audits(sp):
    responses.get(f"{PAGE}/components", json=COMPONENTS)
    responses.get(
        f"{PAGE}/incidents/i1", json=page_incident(status="resolved", impact="critical", components=("c-email",))
    )
    record = sp.get(RemoteRef("statuspage", "i1"))
    assert record.fields["status"] == "resolved" and record.fields["components"] == {"Email": "major_outage"}
    page_view, findings = StatuspageMapper(sp.config).to_canonical(record)
    assert page_view.state is State.RESOLVED and page_view.service == "Email" and page_view.priority is Priority.P1
    assert page_view.key == "INC0001" and findings == []


@responses.activate
def test_comments_never_reach_the_page(sp):
    sp.add_comment(RemoteRef("statuspage", "i1"), Comment("ops", "internal note", datetime(2024, 1, 1, tzinfo=UTC)))
    assert len(responses.calls) == 0


# --- check


@responses.activate
def test_check_names_each_missing_component(sp):
    responses.get(PAGE, json={"id": "pg1", "name": "Acme status"})
    responses.get(f"{PAGE}/components", json=[COMPONENTS[0]])
    results = {r.check: r for r in sp.check()}
    assert results["credentials"].ok and results["page"].ok
    assert not results["components"].ok and results["components"].detail == "missing on the page: Payments API, VPN"


@responses.activate
def test_check_reports_a_refused_key_without_echoing_it(sp):
    responses.get(PAGE, status=401, json={"error": "Could not authenticate"})
    (result,) = sp.check()
    assert result.check == "credentials" and not result.ok and KEY not in result.detail


@responses.activate
def test_check_reports_a_missing_page(sp):
    responses.get(PAGE, status=404, json={"error": "not found"})
    assert [(r.check, r.ok) for r in sp.check()] == [("credentials", True), ("page", False)]


# --- ownership rules, as plain functions


def test_hold_and_release_plans():
    from itsm_bridge.connectors.statuspage.rules import PageIncident

    now = datetime(2024, 1, 1, tzinfo=UTC)
    a = PageIncident("a", "A", "identified", {"c1": "major_outage"}, now)
    b = PageIncident("b", "B", "investigating", {"c1": None, "c2": "partial_outage"}, now)
    done = PageIncident("d", "D", "resolved", {"c3": "major_outage"}, now)
    assert release_plan("a", ["c1"], [a, b, done]) == {"c1": "degraded_performance"}  # b holds it, status unknown
    assert release_plan("b", ["c1", "c2"], [a, b]) == {"c1": "major_outage", "c2": "operational"}
    assert release_plan("x", ["c3"], [done]) == {"c3": "operational"}  # a resolved incident holds nothing
    assert hold_plan(None, {"c2": "degraded_performance"}, [a, b]) == {"c2": "partial_outage"}


# --- Cachet request shapes


@pytest.fixture
def cachet(monkeypatch, clock):
    monkeypatch.setenv("SP_TEST_KEY", KEY)
    return status_page_connector(page_config(CACHET, provider="cachet"), sleep=lambda s: None, clock=clock)


def cachet_list(rows: list[dict]) -> dict:
    return {"meta": {"pagination": {"total": len(rows), "total_pages": 1, "current_page": 1}}, "data": rows}


def cachet_incident(iid: int = 7, status: int = 1, component: int = 2, meta: dict | None = None) -> dict:
    return {
        "id": iid,
        "name": "n",
        "status": status,
        "message": "m",
        "component_id": component,
        "visible": 1,
        "created_at": "2024-03-01 11:00:00",
        "updated_at": "2024-03-01 12:00:00",
        "meta": meta or {},
    }


def cachet_version(version: str = "2.4.1") -> None:
    responses.get(f"{CACHET}/api/v1/version", json={"meta": {"on_latest": True}, "data": version})


@responses.activate
def test_cachet_create_uses_numbers_token_header_and_one_component(cachet):
    assert isinstance(cachet, CachetConnector)
    cachet_version()
    responses.get(
        f"{CACHET}/api/v1/components",
        json=cachet_list([{"id": 1, "name": "VPN", "status": 1}, {"id": 2, "name": "Email", "status": 1}]),
    )
    responses.get(f"{CACHET}/api/v1/incidents", json=cachet_list([]))
    responses.post(f"{CACHET}/api/v1/incidents", json={"data": cachet_incident()})
    result = cachet.publish(incident(priority=Priority.P2, public_message="Mail is slow."))
    assert result.action == "created" and result.ref.id == "7"
    (post,) = writes()
    assert post.request.headers["X-Cachet-Token"] == KEY
    assert sent(post) == {
        "name": "Email delayed",
        "message": "Mail is slow.",
        "status": 1,
        "component_id": 2,
        "component_status": 3,
        "visible": 1,
        "notify": True,
        "meta": {"itsm_bridge_key": "INC0001"},
    }


@responses.activate
def test_cachet_resolve_keeps_a_component_another_open_incident_holds(cachet):
    cachet_version()
    responses.get(f"{CACHET}/api/v1/components", json=cachet_list([{"id": 2, "name": "Email", "status": 4}]))
    responses.get(f"{CACHET}/api/v1/incidents", json=cachet_list([cachet_incident(7), cachet_incident(8)]))
    responses.post(f"{CACHET}/api/v1/incidents/7/updates", json={"data": {"id": 1, "incident_id": 7, "status": 4}})
    responses.get(f"{CACHET}/api/v1/incidents/7", json={"data": cachet_incident(7, status=4)})
    cachet.transition(RemoteRef("statuspage", "7"), State.RESOLVED, {"body": "Fixed."})
    (update,) = writes()  # a status change with a message is one incident update, component included
    assert update.request.url.endswith("/incidents/7/updates")
    assert sent(update) == {"message": "Fixed.", "status": 4, "component_id": 2, "component_status": 2}


@responses.activate
def test_cachet_23_find_is_none_after_reading_only_the_version(cachet):
    cachet_version("2.3.18")
    assert cachet.find("INC0001") is None
    assert [c.request.url for c in responses.calls] == [f"{CACHET}/api/v1/version"]


@responses.activate
def test_cachet_24_finds_an_incident_by_the_key_in_its_meta(cachet):
    cachet_version()
    rows = [
        cachet_incident(7, meta={"itsm_bridge_key": "INC0002"}),
        cachet_incident(8, meta={"itsm_bridge_key": "INC0001"}),
    ]
    responses.get(f"{CACHET}/api/v1/incidents", json=cachet_list(rows))
    responses.get(f"{CACHET}/api/v1/components", json=cachet_list([{"id": 2, "name": "Email", "status": 1}]))
    found = cachet.find("INC0001")
    assert found is not None and found.ref.id == "8" and found.correlation_key == "INC0001"


@responses.activate
def test_cachet_23_changes_status_by_putting_the_incident(cachet):
    cachet_version("2.3.18")
    responses.get(f"{CACHET}/api/v1/components", json=cachet_list([{"id": 2, "name": "Email", "status": 3}]))
    responses.get(f"{CACHET}/api/v1/incidents", json=cachet_list([cachet_incident(7)]))
    responses.put(f"{CACHET}/api/v1/incidents/7", json={"data": cachet_incident(7, status=4)})
    responses.get(f"{CACHET}/api/v1/incidents/7", json={"data": cachet_incident(7, status=4)})
    cachet.transition(RemoteRef("statuspage", "7"), State.RESOLVED, {"body": "Fixed."})
    (put,) = writes()  # no /updates on 2.3: the incident itself carries status, message and component
    assert put.request.method == "PUT" and put.request.url.endswith("/incidents/7")
    assert sent(put) == {"message": "Fixed.", "status": 4, "component_id": 2, "component_status": 1}


@responses.activate
def test_cachet_of_an_unsupported_version_is_refused_naming_it(cachet):
    from itsm_bridge.connectors.statuspage.cachet import UnsupportedVersion

    cachet_version("2.2.4")
    with pytest.raises(
        UnsupportedVersion, match=r"Cachet 2\.2\.4 .* not supported \(supported: 2\.3 and 2\.4\)"
    ) as caught:
        cachet.find("INC0001")
    assert caught.value.exit_code == 4


# --- the mapper


def test_mapper_fields_for_a_new_p1():
    fields, findings = StatuspageMapper(page_config()).to_fields(incident(public_message="Mail is delayed."))
    assert fields == {
        "name": "Email delayed",
        "body": "Mail is delayed.",
        "status": "investigating",
        "impact": "critical",
        "component": "Email",
        "component_status": "major_outage",
    }
    assert findings == []


def test_mapper_sends_only_what_changed_fields_feed():
    mapper = StatuspageMapper(page_config())
    fields, _ = mapper.to_fields(incident(state=State.IN_PROGRESS), changed=["state"])
    assert set(fields) == {"status", "body"} and fields["status"] == "identified"
    fields, _ = mapper.to_fields(incident(priority=Priority.P2), changed=["priority"])
    assert fields == {"impact": "major", "component_status": "partial_outage"}
    assert mapper.to_fields(incident(), changed=["description", "assignee"])[0] == {}


def test_mapper_leaves_out_blocked_text_and_says_why():
    fields, findings = StatuspageMapper(page_config()).to_fields(incident(public_message="call ops@acme.example"))
    assert "body" not in fields and fields["name"] == "Email delayed"
    assert [(f.rule_id, f.field, f.blocking) for f in findings] == [("publish.guard.email", "body", True)]


def test_public_status_of_an_open_incident_can_be_set_but_never_to_resolved():
    from itsm_bridge.model import PublicStatus

    mapper = StatuspageMapper(page_config())
    assert mapper.public_status(incident(public_status=PublicStatus.MONITORING)) is PublicStatus.MONITORING
    assert mapper.public_status(incident(public_status=PublicStatus.RESOLVED)) is PublicStatus.INVESTIGATING
    assert (
        mapper.public_status(incident(state=State.RESOLVED, public_status=PublicStatus.MONITORING))
        is PublicStatus.RESOLVED
    )


def test_impact_map_is_configurable_and_names_are_capped():
    cfg = page_config(extra='[publish.impact]\nP1 = "major"\nP2 = "major"\nP3 = "minor"\nP4 = "none"\nP5 = "none"')
    fields, _ = StatuspageMapper(cfg).to_fields(incident(title="x" * 300))
    assert fields["impact"] == "major" and len(fields["name"]) == 255


def test_a_service_without_a_component_is_a_warning_and_carries_no_component():
    fields, findings = StatuspageMapper(page_config()).to_fields(incident(service="Printing"))
    assert "component" not in fields and [f.rule_id for f in findings] == ["publish.component.unmapped"]
    assert not findings[0].blocking


def test_a_template_naming_a_field_off_the_allow_list_is_refused_when_the_config_loads():
    from itsm_bridge.errors import ConfigError

    with pytest.raises(ConfigError, match=r"publish\.name_template: .*'assignee' is undefined"):
        page_config(extra='[publish]\nname_template = "{{ assignee }}"')


@responses.activate
def test_a_component_missing_from_the_page_is_looked_for_afresh_once_per_run_not_per_publish(sp):
    responses.get(f"{PAGE}/components", json=[c for c in COMPONENTS if c["id"] != "c-email"])
    responses.get(f"{PAGE}/incidents/unresolved", json=[])
    fields, _ = sp.policy.to_fields(incident())
    for key in ("INC0001", "INC0002"):
        with pytest.raises(RemoteValidation, match="not on the page"):
            sp.create(fields, key)
    assert len([c for c in responses.calls if "/components" in c.request.url]) == 2  # first read, one fresh look
