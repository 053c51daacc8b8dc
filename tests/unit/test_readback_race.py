"""A person's edit landing between our write and the read-back that follows it is theirs, not
ours: it is carried on the next sync, and our own writes still never echo back."""

from __future__ import annotations

from typing import Any

from itsm_bridge.model import Comment, RemoteRef, State
from itsm_bridge.records import Written
from itsm_bridge.sync.readback import ours
from tests.unit.sync_world import World, make_world


def synced(world: World, key: str) -> str:
    """`key` created on the source and synced once; returns its Jira record id."""
    world.incident(key, state="in_progress")
    summary, _ = world.engine().sync()
    assert summary.created == 1 and not summary.failed
    return world.jira.find_id(key) or ""


def test_a_jira_edit_between_our_transition_and_its_read_back_reaches_servicenow(tmp_path, monkeypatch):
    world = make_world(tmp_path)
    issue = synced(world, "INC1")
    move = world.jira.transition

    def transition_then_a_person_edits(ref: RemoteRef, state: State, fields: Any = None) -> Written:
        move(ref, state, fields)
        world.jira.edit(ref.id, title="INC1: edited by a person")  # before our read-back
        return ref  # as Jira answers a transition: 204, the record is read back in bulk

    monkeypatch.setattr(world.jira, "transition", transition_then_a_person_edits)
    world.snow.edit(world.snow.find_id("INC1") or "", state="on_hold")

    first, _ = world.engine().sync()
    assert first.transitioned == 1 and world.jira.by_method["fetch_many"] >= 1
    monkeypatch.undo()
    second, _ = world.engine().sync()

    assert world.snow.records[world.snow.find_id("INC1") or ""]["title"] == "INC1: edited by a person"
    assert world.jira.records[issue]["state"] == "on_hold"
    assert second.writes >= 1
    third, _ = world.engine().sync()
    assert third.writes == 0  # neither our writes nor the person's edit come back


def test_a_servicenow_edit_shown_in_our_writes_answer_reaches_jira(tmp_path, monkeypatch):
    world = make_world(tmp_path)
    issue = synced(world, "INC1")
    record = world.snow.find_id("INC1") or ""
    write = world.snow.update

    def a_person_assigns_then_update(ref: RemoteRef, fields: dict[str, Any]) -> Written:
        world.snow.edit(ref.id, assignee="ana@acme.example")  # after our read, before our write
        return write(ref, fields)  # ServiceNow's answer is the record: it shows both

    monkeypatch.setattr(world.snow, "update", a_person_assigns_then_update)
    world.jira.edit(issue, title="INC1: edited on Jira")

    first, _ = world.engine().sync()
    assert first.updated == 1
    monkeypatch.undo()
    world.engine().sync()

    assert world.jira.records[issue]["assignee"] == "ana@acme.example"
    assert world.snow.records[record]["title"] == "INC1: edited on Jira"
    third, _ = world.engine().sync()
    assert third.writes == 0


def test_a_read_back_is_ours_only_for_the_fields_we_wrote():
    before = {"title": "old", "state": "in_progress", "category": "network"}
    read_back = {"title": "new", "state": "resolved", "category": "network"}

    assert ours(read_back, before, frozenset({"title"})) == (
        {"title": "new", "state": "in_progress", "category": "network"},
        True,
    )
    assert ours(read_back, before, frozenset({"title", "state"})) == (read_back, False)
    assert ours(read_back, before, None) == (read_back, False)  # we created it: all of it is ours
    assert ours(read_back, {}, frozenset({"title"})) == (read_back, False)  # nothing known before


def test_a_jira_note_between_our_transition_and_its_read_back_reaches_servicenow(tmp_path, monkeypatch):
    world = make_world(tmp_path)
    issue = synced(world, "INC1")
    record = world.snow.find_id("INC1") or ""
    move = world.jira.transition
    note = Comment("ana@acme.example", "Rolled back the load balancer config", world.clock(), origin="jira", id="c-7")

    def transition_then_a_person_notes(ref: RemoteRef, state: State, fields: Any = None) -> Written:
        move(ref, state, fields)
        world.jira.note(ref.id, note)  # before our read-back: its version shows the note
        return ref  # as Jira answers a transition: 204, the record is read back in bulk

    monkeypatch.setattr(world.jira, "transition", transition_then_a_person_notes)
    world.snow.edit(record, state="on_hold")

    first, _ = world.engine().sync()
    assert first.transitioned == 1 and world.jira.by_method["fetch_many"] >= 1
    monkeypatch.undo()
    world.engine().sync()

    assert [c.body for c in world.snow.copies.get(record, [])] == [note.body]
    assert world.jira.records[issue]["state"] == "on_hold"
    third, _ = world.engine().sync()
    assert third.writes == 0  # the note is copied once, and nothing echoes
