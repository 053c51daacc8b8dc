"""Reading and planning, over fake connectors in memory: they write nothing, and a dry run is
plan only (decided once, at the seam between planner and applier)."""

from __future__ import annotations

import json

import pytest

from itsm_bridge.sync.cursor import ReadProgress
from itsm_bridge.sync.identity import KEY_CONFLICT, Identity
from itsm_bridge.sync.plan import Plan
from itsm_bridge.sync.planner import Planner
from itsm_bridge.sync.reader import Reader
from itsm_bridge.sync.summary import RunSummary
from itsm_bridge.testing import FakeMapper
from itsm_bridge.watermark import Watermark
from tests.unit.sync_world import ReadOnly, make_world


def test_reading_and_planning_write_nothing(tmp_path):
    world = make_world(tmp_path)
    world.incident("INC1")
    world.engine().sync()
    world.snow.edit(world.snow.find_id("INC1") or "", title="INC1: mail is down")
    world.incident("INC2", state="in_progress")
    writes = world.jira.writes
    store = ReadOnly(world.store)  # any write raises
    reads = {p: ReadProgress(Watermark.from_cursor(world.store.cursor(p))) for p in world.connectors}
    mappers = {p: FakeMapper(p) for p in world.connectors}
    reader = Reader(world.config, store, world.connectors, mappers, Identity(store, "r1"), reads)
    summary = RunSummary("r1")
    pending = reader.targets(summary, None)
    planner = Planner(world.config, store, world.connectors)
    plans = {
        key: planner.plan_key(key, {"servicenow": side, **pending.pop(key, {})}, findings)
        for key, _, side, findings in reader.source_records(summary, None)
    }

    assert [(a.kind, a.changes) for a in plans["INC1"].actions] == [
        ("update", {"title": ["INC1 is down", "INC1: mail is down"]})
    ]
    assert [a.kind for a in plans["INC2"].actions] == ["create", "transition"]
    assert plans["INC2"].merged is not None and plans["INC2"].merged.title == "INC2 is down"
    assert world.jira.writes == writes


def test_dry_run_writes_nothing_and_shows_every_action_and_refusal(tmp_path):
    world = make_world(tmp_path)
    world.incident("INC1")
    world.incident("INC2")
    world.snow.add({"title": "a copy carrying INC2's key"}, key="INC2")  # refused: INC2's key is taken
    before = world.state()

    summary, plan = world.engine(ReadOnly(world.store)).sync(dry_run=True)

    assert world.state() == before and world.jira.writes == 0 and world.snow.writes == 0
    assert summary.dry_run and summary.quarantined == 1 and summary.created == 0
    assert sorted((a.kind, a.key) for a in plan.actions) == [("create", "INC1"), ("create", "INC2")]
    assert [f["rule_id"] for b in plan.blocked for f in b["findings"]] == [KEY_CONFLICT]


def test_a_real_run_records_what_the_dry_run_only_showed(tmp_path):
    world = make_world(tmp_path)
    world.incident("INC2")
    world.snow.add({"title": "a copy carrying INC2's key"}, key="INC2")

    summary, _ = world.engine().sync()

    assert summary.created == 1 and summary.quarantined == 1
    assert [q.key for q in world.store.quarantined()] == ["INC2"]
    assert KEY_CONFLICT in world.store.quarantined()[0].findings[0]["rule_id"]


def test_a_plan_keeps_one_merged_incident_per_key(tmp_path):
    world = make_world(tmp_path)
    world.incident("INC1", state="in_progress")

    _, plan = world.engine().sync(dry_run=True)

    assert [a.kind for a in plan.actions] == ["create", "transition"]
    assert list(plan.incidents) == ["INC1"] and plan.incident("INC1").state.value == "in_progress"
    assert all(not hasattr(a, "incident") for a in plan.actions)


def test_a_saved_plan_keeps_its_file_format_and_loads_either_shape(tmp_path):
    world = make_world(tmp_path)
    world.incident("INC1", state="in_progress")
    _, plan = world.engine().sync(dry_run=True)
    path = tmp_path / "plan.json"

    plan.save(path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    loaded = Plan.load(path)

    assert all(a["incident"]["key"] == "INC1" for a in saved["actions"])  # as files of earlier versions hold
    assert loaded.actions == plan.actions and loaded.incident("INC1") == plan.incident("INC1")
    first = dict(saved["actions"][0])
    first["incident"] = {**first["incident"], "title": "as the first action had it"}
    saved["actions"][0] = first  # an older file: the key's incident is read from its actions
    path.write_text(json.dumps(saved), encoding="utf-8")
    assert Plan.load(path).incident("INC1").title == "INC1 is down"  # the last action's, as the shadow took


def test_a_saved_plan_whose_actions_carry_no_incident_is_refused_naming_the_key(tmp_path):
    world = make_world(tmp_path)
    world.incident("INC1")
    _, plan = world.engine().sync(dry_run=True)
    path = tmp_path / "plan.json"
    saved = plan.to_dict()
    for action in saved["actions"]:
        del action["incident"]
    path.write_text(json.dumps(saved), encoding="utf-8")

    with pytest.raises(ValueError, match="INC1 carry no incident"):
        Plan.load(path)
