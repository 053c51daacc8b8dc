from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from itsm_bridge.model import Comment, Incident, Level, Priority, RemoteRef, State, Visibility


def make(**kw):
    return Incident(key="INC-1", title="Mail down", **kw)


def test_incident_is_immutable_and_compared_by_value():
    a, b = make(), make()
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.title = "x"  # type: ignore[misc]


def test_replace_returns_a_changed_copy():
    a = make()
    b = a.replace(state=State.RESOLVED)
    assert a.state is State.NEW and b.state is State.RESOLVED


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="opened must be timezone-aware"):
        make(opened=datetime(2024, 1, 1, 12, 0))


def test_aware_times_are_normalised_to_utc():
    plus2 = timezone(timedelta(hours=2))
    inc = make(opened=datetime(2024, 1, 1, 14, 0, tzinfo=plus2))
    assert inc.opened == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert inc.opened.utcoffset() == timedelta(0)


def test_enums_are_coerced_from_plain_values():
    inc = make(state="on_hold", impact=1, urgency=2, priority="P2", public_status="monitoring")
    assert inc.state is State.ON_HOLD and inc.impact is Level.HIGH and inc.priority is Priority.P2


def test_round_trip_through_plain_data():
    inc = make(
        impact=1,
        urgency=1,
        priority="P1",
        opened=datetime(2024, 5, 1, tzinfo=UTC),
        comments=(Comment("ana", "Restarted the pool", datetime(2024, 5, 1, 1, tzinfo=UTC), Visibility.INTERNAL),),
        links=(RemoteRef("jira", "10001", "OPS-1"),),
    )
    assert Incident.from_dict(inc.to_dict()) == inc


def test_from_dict_refuses_unknown_fields():
    with pytest.raises(ValueError, match="unknown Incident field"):
        Incident.from_dict({"key": "K", "title": "t", "colour": "red"})


def test_links_by_platform():
    inc = make().with_link(RemoteRef("jira", "1", "OPS-1")).with_link(RemoteRef("jira", "2", "OPS-2"))
    assert inc.link("jira") == RemoteRef("jira", "2", "OPS-2") and len(inc.links) == 1
    assert inc.link("servicenow") is None
