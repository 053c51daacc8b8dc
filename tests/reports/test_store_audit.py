"""The store-side audit (`collect.store_snapshot`): each shadow read as the Incident constructor
reads it, and the same report as an audit of those incidents built by hand."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from typing import Any

import pytest

from itsm_bridge.model import Incident, RemoteRef, State
from itsm_bridge.reports.collect import Copy, Snapshot, View, iter_shadows, store_snapshot
from itsm_bridge.reports.report import build
from itsm_bridge.store.base import Cursor, Shadow
from itsm_bridge.store.sql import SqlStore
from tests.reports.test_checks import NOW, cfg

HOUR = timedelta(hours=1)


def iso(hours_ago: float, zone: str = "+00:00") -> str:
    """NOW less `hours_ago` on a UTC clock, written as if that clock read in `zone`."""
    return (NOW - hours_ago * HOUR).isoformat().replace("+00:00", zone)


SNOW = {"title": "Mail down", "state": "resolved", "impact": 1, "urgency": 2, "priority": "P2", "category": "Software"}
SNOW |= {"service": "Email", "assignment_group": "Messaging", "opened": iso(30), "resolved": iso(20)}
SNOW |= {"resolution_code": "Solved Permanently", "resolution_notes": "fixed", "updated": iso(20)}

SHADOWS: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {
    # key: (merged fields, per-platform values as last synced)
    "K-plain": (SNOW, {"servicenow": SNOW, "jira": {"title": "Mail down", "state": "resolved", "priority": "P2"}}),
    # no times at all, and a side without a title (the merged one stands in)
    "K-no-dates": (
        {**SNOW, "state": "new", "opened": None, "resolved": None, "updated": None},
        {"servicenow": {"state": "new"}, "jira": {"state": "new", "category": "Software"}},
    ),
    # reopened: open again with its earlier resolve time kept; times in other zones
    "K-reopened": (
        {**SNOW, "state": "in_progress", "opened": iso(50, "+02:00"), "resolved": iso(40, "-07:30")},
        {"servicenow": {"state": "in_progress", "updated": iso(1, "+05:45")}, "jira": {"state": "resolved"}},
    ),
    # the priority off the matrix on Jira (impact 1 x urgency 2 gives P2), a category mismatch
    "K-priority": (SNOW, {"servicenow": SNOW, "jira": {**SNOW, "priority": "P4", "category": "Network"}}),
    # resolved before it was opened; no resolution code; a key that is no Incident field
    "K-order": (
        {**SNOW, "opened": iso(10), "resolved": iso(12), "resolution_code": None},
        {"servicenow": {"state": "resolved", "legacy_field": "x"}, "jira": {"state": "resolved"}},
    ),
    # published, open, with a public status on the page
    "K-page": (
        {**SNOW, "state": "in_progress", "priority": "P1", "impact": 1, "urgency": 1, "resolved": None},
        {"servicenow": {"state": "in_progress"}, "statuspage": {"state": "in_progress", "public_status": "identified"}},
    ),
}


@pytest.fixture
def store(tmp_path):
    s = SqlStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    for key, (merged, sides) in SHADOWS.items():
        s.put_shadow(Shadow(key, merged, sides))
        for platform in sides:
            if key != "K-priority" or platform != "jira":  # one target the sync read past but never linked
                s.link(key, RemoteRef(platform, f"{platform}-{key}", f"{platform[:4].upper()}-{key}"))
    s.put_cursor(Cursor("servicenow", iso(0)))
    yield s
    s.close()


def by_constructor(key: str, merged: dict[str, Any], values: dict[str, Any], source: bool) -> Incident:
    """The shadow's side as `Incident.from_dict` reads it (the merged fields under the source's)."""
    plain = {**(merged if source else {}), **values}
    plain["title"] = plain.get("title") or merged.get("title") or ""
    known = {f.name for f in fields(Incident)}
    return Incident.from_dict({**{k: v for k, v in plain.items() if k in known}, "key": key})


def by_hand(store: SqlStore) -> Snapshot:
    """The store's views, each copy made by the Incident constructor."""
    snap = Snapshot("servicenow", ["jira", "statuspage"], {}, origin="store")
    links = {(k, r.platform): r for k, r in store.all_links()}
    for key, (merged, sides) in SHADOWS.items():
        view = snap.views[key] = View(key, links={p: links[(k, p)] for k, p in links if k == key})
        for platform, values in sides.items():
            incident = by_constructor(key, merged, values, platform == "servicenow")
            ref = view.links.get(platform) or RemoteRef(platform, key)
            view.copies[platform] = [Copy(platform, ref, incident, (), incident.updated)]
    snap.quarantined = store.quarantined()
    snap.source_cursor = NOW
    snap.read = {p: sum(1 for v in snap.views.values() if p in v.copies) for p in ("servicenow", *snap.targets)}
    return snap


def test_each_shadow_is_read_as_the_incident_constructor_reads_it(store):
    snap = store_snapshot(cfg(), store, iter_shadows(store))
    assert sorted(snap.views) == sorted(SHADOWS)
    for key, (merged, sides) in SHADOWS.items():
        for platform, values in sides.items():
            copy = snap.views[key].copies[platform][0]
            got = copy.incident
            want = by_constructor(key, merged, values, platform == "servicenow")
            assert got == want and repr(got) == repr(want) and got.replace(title="x") == want.replace(title="x")
            for f in fields(Incident):  # members, not their values; datetimes in UTC
                assert type(getattr(got, f.name)) is type(getattr(want, f.name)), (key, platform, f.name)
            # a copy made without its default fields reads them as the constructor sets them
            assert copy == Copy(platform, copy.ref, want, (), want.updated)
    reopened = snap.views["K-reopened"].copies["servicenow"][0].incident
    assert reopened.state is State.IN_PROGRESS and reopened.resolved == NOW - 32.5 * HOUR  # 40 h ago at -07:30
    assert reopened.resolved.utcoffset() == timedelta(0) and reopened.title == "Mail down"
    assert snap.views["K-no-dates"].copies["jira"][0].incident.opened is None


def test_the_store_audit_reports_what_an_audit_of_the_same_incidents_built_by_hand_reports(store):
    config = cfg()
    got = build(store_snapshot(config, store, iter_shadows(store)), config, NOW).to_dict()
    want = build(by_hand(store), config, NOW).to_dict()
    assert got == want
    found = {(f["kind"], f["key"]) for f in got["findings"]}
    assert {
        ("priority_off_matrix", "K-priority"),
        ("category_mismatch", "K-priority"),
        ("unlinked", "K-priority"),
        ("status_disagree", "K-reopened"),
        ("timeline_inconsistent", "K-order"),
        ("required_missing", "K-order"),
    } <= found
    assert got["summary"]["records"] == {"servicenow": 6, "jira": 5, "statuspage": 1}
    assert got["metrics"]["timeline_inconsistent"] == 1


@pytest.mark.parametrize(
    "values, error",
    [
        ({"opened": "2026-03-01T10:00:00"}, "must be timezone-aware"),
        ({"state": "bogus"}, "'bogus' is not a valid State"),
        ({"impact": None}, "None is not a valid Level"),
    ],
)
def test_the_store_audit_refuses_what_the_incident_constructor_refuses(store, values, error):
    store.put_shadow(Shadow("K-bad", SNOW, {"servicenow": values}))
    with pytest.raises(ValueError, match=error):
        by_constructor("K-bad", SNOW, values, True)
    with pytest.raises(ValueError, match=error):
        store_snapshot(cfg(), store, iter_shadows(store))


def test_the_store_audit_reads_a_shadow_holding_what_only_python_json_writes(store):
    # json.dumps writes NaN and integers beyond 64 bits, which orjson refuses to parse
    values = {"state": "new", "legacy_score": float("nan"), "legacy_id": 2**70}
    store.put_shadow(Shadow("K-nan", SNOW, {"servicenow": values}))
    snap = store_snapshot(cfg(), store, iter_shadows(store))
    assert snap.views["K-nan"].copies["servicenow"][0].incident.state is State.NEW
