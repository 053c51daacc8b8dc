"""Timing and ITIL metrics on hand-built timelines: acknowledgement, order, MTTD, first contact, reopens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from itsm_bridge.errors import ConfigError
from itsm_bridge.history import ASSIGNEE, GROUP, STATE, Change, History
from itsm_bridge.model import Comment, Incident, RemoteRef, State
from itsm_bridge.reports import metrics
from itsm_bridge.reports.collect import Copy, Snapshot, View
from itsm_bridge.reports.report import build
from itsm_bridge.reports.timeline import timeline
from tests.reports.test_checks import cfg

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=20)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def note(hours: float) -> Comment:
    return Comment("ana.lima", "looking", at(hours))


def inc(key: str = "INC1", state: State = State.RESOLVED, resolved: float | None = 2, **fields) -> Incident:
    base = dict(title="t", priority="P1", category="Software", service="Email", opened=T0)
    if state in (State.RESOLVED, State.CLOSED) and resolved is not None:
        base["resolved"] = at(resolved)
    return Incident(key=key, state=state, **{**base, **fields})


def history(*changes: Change, **counts) -> History:
    return History(changes=changes, read=True, **counts)


def test_a_note_written_after_the_resolve_does_not_make_mtta_exceed_mttr():
    # the demo's case: resolved 2 h after opening, first note 300 h later (seeded at seeding time)
    m = metrics.compute([inc(comments=(note(300),))], {}, 7, NOW)
    assert m["mtta"]["overall"]["mean_minutes"] == 120.0
    assert m["mtta"]["overall"]["mean_minutes"] <= m["mttr"]["overall"]["mean_minutes"]


def test_acknowledged_is_the_first_of_leaving_new_assignment_and_note():
    changes = (
        Change(STATE, "new", "in_progress", at(0.5)),
        Change(ASSIGNEE, "", "Beth Anglin", at(0.25)),
    )
    assert timeline(inc(comments=(note(1),)), history(*changes)).acknowledged == at(0.25)
    assert timeline(inc(comments=(note(0.1),)), history(*changes)).acknowledged == at(0.1)
    assert timeline(inc(), history(changes[0])).acknowledged == at(0.5)


def test_created_out_of_new_or_with_an_assignee_is_acknowledged_at_the_opening():
    # ServiceNow audits updates only (glide.sys.audit_inserts is off by default): a value with no
    # change behind it was set when the record was created
    assert timeline(inc(state=State.IN_PROGRESS), history()).acknowledged == T0
    assert timeline(inc(state=State.NEW, assignee="Beth Anglin"), history()).acknowledged == T0
    assert timeline(inc(state=State.NEW), history()).acknowledged is None
    assert timeline(inc(state=State.IN_PROGRESS), None).acknowledged is None  # no history read: not guessed


def test_an_open_incident_with_nothing_acknowledging_it_is_without_ack():
    m = metrics.compute([inc(state=State.NEW), inc("INC2", comments=(note(1),))], {}, 7, NOW)
    assert m["mtta"]["without_ack"] == 1 and m["mtta"]["overall"]["count"] == 1


def test_times_out_of_order_give_no_duration_and_are_counted():
    early_note = inc("A", comments=(Comment("x", "y", T0 - timedelta(hours=1)),))
    closed_first = inc("B", state=State.CLOSED, closed=at(1), resolved=3)
    fine = inc("C")
    assert [b.later for b in timeline(early_note).broken] == ["acknowledged"]
    assert [(b.earlier, b.later) for b in timeline(closed_first).broken] == [("resolved", "closed")]
    m = metrics.compute([early_note, closed_first, fine], {}, 7, NOW)
    assert m["timeline_inconsistent"] == 2
    assert m["mttr"]["overall"]["count"] == 1 and m["mtta"]["overall"]["count"] == 1


def test_an_inconsistent_timeline_is_a_finding_with_the_broken_pair():
    config = cfg()
    bad = inc(state=State.CLOSED, closed=at(1), resolved=3)
    view = View("INC1", {"servicenow": [Copy("servicenow", RemoteRef("servicenow", "s1", "INC1"), bad)]})
    report = build(Snapshot("servicenow", ["jira"], {"INC1": view}), config, NOW)
    found = [f for f in report.findings if f.kind == "timeline_inconsistent"]
    assert len(found) == 1 and found[0].field == "closed" and found[0].expected.startswith(">= resolved")
    assert found[0].severity == "warn" and report.metrics["mttr"]["overall"]["count"] == 0


def test_mttd_is_not_measured_without_a_detected_at_field():
    m = metrics.compute([inc()], {}, 7, NOW)
    assert m["mttd"]["measured"] is False and m["mttd"]["overall"]["count"] == 0


def test_mttd_from_the_detected_time_to_the_opening_with_breakdowns():
    field = "u_detected_at"
    lines = [
        (inc("A"), History(detected=T0 - timedelta(minutes=10), detected_field=field)),
        (inc("B", service="VPN"), History(detected=T0 - timedelta(minutes=30), detected_field=field)),
        (inc("C"), History(detected_field=field)),  # field empty on this record
        (inc("D"), History(detected=T0 + timedelta(minutes=5), detected_field=field)),  # after the opening
    ]
    m = metrics.compute(lines, {}, 7, NOW)["mttd"]
    assert m["measured"] is True
    assert m["overall"] == {"count": 2, "mean_minutes": 20.0, "median_minutes": 20.0}
    assert m["by_service"]["VPN"]["count"] == 1 and m["by_priority"]["P1"]["count"] == 2
    assert m["without_detected"] == 1 and m["detected_after_opened"] == 1


def test_first_contact_resolution_counts_resolved_incidents_never_reassigned():
    lines = [
        (inc("A"), History(reassignments=0)),
        (inc("B", category="Network"), History(reassignments=2)),
        (inc("C", state=State.IN_PROGRESS), History(reassignments=0)),  # not resolved: not judged
        (inc("D", state=State.CANCELED), History(reassignments=0)),  # canceled: not judged
    ]
    fcr = metrics.compute(lines, {}, 7, NOW)["first_contact_resolution"]
    assert fcr["measured"] is True
    assert fcr["overall"] == {
        "count": 2,
        "first_contact": 1,
        "rate_pct": 50.0,
        "mean_reassignments": 1.0,
        "median_reassignments": 1.0,
    }
    assert fcr["by_category"]["Network"]["first_contact"] == 0
    assert metrics.compute([inc()], {}, 7, NOW)["first_contact_resolution"]["measured"] is False


def test_reopen_rate_over_incidents_ever_resolved():
    lines = [
        (inc("A"), History(reopens=0)),
        (inc("B"), History(reopens=1)),
        (inc("C", state=State.IN_PROGRESS), History(reopens=2)),  # reopened and open again: counted
        (inc("D", state=State.NEW), History(reopens=0)),  # never resolved: not judged
    ]
    rr = metrics.compute(lines, {}, 7, NOW)["reopen_rate"]
    assert rr["overall"]["count"] == 3 and rr["overall"]["reopened"] == 2 and rr["overall"]["rate_pct"] == 66.7
    assert rr["overall"]["median_reopens"] == 1 and rr["by_priority"]["P1"]["count"] == 3
    assert metrics.compute([inc()], {}, 7, NOW)["reopen_rate"]["measured"] is False


def test_group_changes_do_not_acknowledge():
    h = history(Change(GROUP, "Network", "Database", at(0.1)))
    assert timeline(inc(state=State.NEW), h).acknowledged is None


def test_detected_at_names_a_field_per_two_way_platform():
    ok = cfg('\n[audit.detected_at]\nservicenow = "u_detected_at"\njira = "customfield_10060"\n')
    assert ok.settings.audit.detected_at == {"servicenow": "u_detected_at", "jira": "customfield_10060"}
    for bad, path in (('statuspage = "x"', "audit.detected_at"), ('servicenow = "u_x,sys_id"', "audit.detected_at")):
        with pytest.raises(ConfigError) as err:
            cfg(f"\n[audit.detected_at]\n{bad}\n")
        assert path in str(err.value)
