"""Cachet over loopback HTTP against the sandbox: leaks, guard, ownership, one component per call."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from itsm_bridge.connectors.statuspage import CachetConnector, status_page_connector
from itsm_bridge.model import Priority, State
from itsm_bridge.sandbox.rendering import cachet_view
from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.sandbox.statuspage.cachet import CachetPlatform
from tests.connectors.statuspage.test_statuspage import CANARIES, canary_incident
from tests.connectors.statuspage.test_statuspage_responses import page_config

SEED = 0
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.fixture
def platform(monkeypatch):
    platform = CachetPlatform(seed=SEED)
    served = serve(platform)
    monkeypatch.setenv("SP_TEST_KEY", f"cachet-sandbox-{SEED}")
    yield platform
    stop([served])


def connector(platform, *, interval: float = 0.0, extra: str = "", zone: str = "UTC") -> CachetConnector:
    cfg = page_config(
        platform.base_url,
        provider="cachet",
        rps=50.0,
        interval=interval,
        extra=extra,
        page_extra=f'timezone = "{zone}"',
    )
    conn = status_page_connector(cfg)
    assert isinstance(conn, CachetConnector)
    return conn


def component_status(platform, name: str) -> int:
    return next(c["status"] for c in platform.components() if c["name"] == name)


def writes(platform) -> list:
    return [c for c in platform.call_log.calls() if c.method in WRITES]


def test_no_canary_reaches_cachet_through_create_update_and_resolve(platform):
    conn = connector(platform)
    inc = canary_incident()
    ref = conn.publish(inc).ref
    assert conn.publish(inc.replace(state=State.IN_PROGRESS, public_message="Cause found."), ref).action == "updated"
    conn.add_comment(ref, inc.comments[0])
    assert conn.publish(inc.replace(state=State.RESOLVED), ref).action == "resolved"
    bodies = [c.body for c in platform.call_log.calls()]
    assert len(writes(platform)) == 3
    assert not [c for c in CANARIES if any(c in b for b in bodies)]


def test_script_and_javascript_urls_never_reach_cachet_as_markup(platform):
    conn = connector(platform)
    conn.publish(canary_incident(title="<script>x</script>", public_message="[a](JavaScript:alert(1))"))
    (post,) = writes(platform)
    sent = json.loads(post.body)
    assert sent["name"] == "<script>x</script>"  # Cachet prints the name escaped: a reader sees this text
    assert "<script" not in sent["message"].lower() and "javascript:" not in sent["message"].lower()
    (stored,) = platform.incidents()
    assert cachet_view(stored)["bodies"] == ["[a](JavaScript:alert(1))"]  # read as written, no link


def test_a_blocked_publish_writes_nothing_to_cachet(platform):
    result = connector(platform).publish(canary_incident(title="token Bearer abcdefghijklmnopqrstuvwxyz"))
    assert result.action == "blocked" and [f.rule_id for f in result.findings] == ["publish.guard.token.bearer"]
    assert result.findings[0].value is None
    assert writes(platform) == []


def test_resolving_the_first_of_two_overlapping_incidents_leaves_the_component_degraded(platform):
    conn = connector(platform)
    first = conn.publish(canary_incident(key="INC0001", priority=Priority.P1))
    second = conn.publish(canary_incident(key="INC0002", priority=Priority.P2))
    assert component_status(platform, "Email") == 4  # major outage: the worst hold
    conn.publish(canary_incident(key="INC0001", state=State.RESOLVED), first.ref)
    assert component_status(platform, "Email") == 3  # INC0002 still holds partial outage
    conn.publish(canary_incident(key="INC0002", priority=Priority.P2, state=State.RESOLVED), second.ref)
    assert component_status(platform, "Email") == 1


def test_a_fresh_process_still_keeps_a_component_another_incident_holds(platform):
    first = connector(platform).publish(canary_incident(key="INC0001", priority=Priority.P1))
    connector(platform).publish(canary_incident(key="INC0002", priority=Priority.P1))
    connector(platform).publish(canary_incident(key="INC0001", state=State.RESOLVED), first.ref)
    assert component_status(platform, "Email") != 1  # held by INC0002, status not stored by Cachet: at least degraded


def test_cachet_24_finds_an_incident_by_the_key_its_meta_carries(platform):
    connector(platform).publish(canary_incident(key="INC0001"))
    (made,) = platform.incidents()
    assert made["meta"] == {"itsm_bridge_key": "INC0001"}
    found = connector(platform).find("INC0001")  # a fresh process: nothing remembered
    assert found is not None and found.ref.id == str(made["id"]) and connector(platform).find("INC0009") is None


def test_cachet_23_keeps_no_meta_so_find_is_none_and_links_are_the_correlation(platform):
    platform.version = "2.3.18"
    connector(platform).publish(canary_incident(key="INC0001"))
    assert "meta" not in platform.incidents()[0]
    assert connector(platform).find("INC0001") is None


def test_cachet_23_status_changes_put_the_incident_and_send_no_update(platform):
    platform.version = "2.3.18"
    conn = connector(platform)
    ref = conn.publish(canary_incident(public_message="Mail is delayed.")).ref
    conn.publish(canary_incident(state=State.IN_PROGRESS, public_message="Cause found."), ref)
    inc = platform.incident(ref.id)
    assert (inc["status"], inc["message"]) == (2, "Cause found.")
    assert not [c for c in platform.call_log.calls() if "/updates" in c.path]
    conn.publish(canary_incident(state=State.RESOLVED), ref)
    assert platform.incident(ref.id)["status"] == 4 and component_status(platform, "Email") == 1


@pytest.mark.parametrize("zone", ["Australia/Lord_Howe", "America/Los_Angeles"])
def test_cachet_times_in_the_app_zone_are_read_as_utc(platform, zone):
    platform.app_timezone = zone
    ref = connector(platform, zone=zone).publish(canary_incident()).ref
    shown = platform.incident(ref.id)["updated_at"]  # naive, in the zone: hours off UTC
    assert abs((datetime.fromisoformat(shown).replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) > 3600
    record = connector(platform, zone=zone).get(ref)
    assert abs((record.updated - datetime.now(UTC)).total_seconds()) < 5, (shown, record.updated)
    assert record.fields["created_at"] == record.updated


def test_check_on_cachet(platform, monkeypatch):
    assert all(r.ok for r in connector(platform).check())
    extra = '[taxonomy.services."Mobile App"]\nstatuspage = "Mobile App"'
    results = {r.check: r for r in connector(platform, extra=extra).check()}
    assert not results["components"].ok and "Mobile App" in results["components"].detail


def test_check_on_cachet_proves_the_token_although_reads_are_public(platform, monkeypatch):
    monkeypatch.setenv("SP_TEST_KEY", "wrong-token")
    results = {r.check: r for r in connector(platform).check()}
    assert results["page"].ok and not results["credentials"].ok and "wrong-token" not in results["credentials"].detail


def test_status_changes_are_cachet_updates_and_keep_the_timeline(platform):
    conn = connector(platform)
    ref = conn.publish(canary_incident(public_message="Mail is delayed.")).ref
    conn.publish(canary_incident(state=State.IN_PROGRESS, public_message="Cause found."), ref)
    assert [u["message"] for u in platform.updates(ref.id)] == ["Cause found."]
    assert platform.incident(ref.id)["status"] == 2
    # Nothing changed since: the latest public message is read back, so no repeat update is sent.
    assert (
        conn.publish(canary_incident(state=State.IN_PROGRESS, public_message="Cause found."), ref).action == "unchanged"
    )


def test_a_429_from_cachet_is_waited_out(platform):
    platform.faults.inject("rate_429", count=1, method="POST", retry_after="1")
    assert connector(platform).publish(canary_incident()).action == "created"
    assert [c.status for c in writes(platform)] == [429, 200] and len(platform.incidents()) == 1


def test_thirty_status_changes_in_a_burst_keep_to_the_rate_with_no_errors(platform):
    from tests.connectors.statuspage.test_statuspage import assert_kept_to_the_page_limit

    platform.rate_limit = (20, 1.0)  # a per-second limit, and the client paced under it
    cfg = page_config(platform.base_url, provider="cachet", rps=19.0, interval=0.0)
    conn = status_page_connector(cfg)
    ref = conn.publish(canary_incident()).ref
    for n in range(30):
        conn.update(ref, {"status": ("identified", "monitoring", "investigating")[n % 3], "body": f"Update {n + 1}."})
    assert len(platform.updates(ref.id)) == 30
    assert_kept_to_the_page_limit(platform, 20, 1.0)


def test_a_create_whose_answer_is_lost_is_recognised_on_the_page_not_made_twice(platform):
    platform.faults.inject("drop_after_commit", count=1, method="POST", path=r"/api/v1/incidents$")
    conn = connector(platform)
    result = conn.publish(canary_incident())
    assert result.action == "created" and len(platform.incidents()) == 1
    assert result.ref is not None and result.ref.id == str(platform.incidents()[0]["id"])
    again = conn.publish(canary_incident(), result.ref)  # linked now: kept up to date, never re-created
    assert again.action == "unchanged" and len(platform.incidents()) == 1
