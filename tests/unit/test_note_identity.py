"""A note is known by its id on the platform it was written on, not by its text: a person who
writes the same words twice (an "escalated to the vendor" on two days) gets both copied."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

from itsm_bridge.model import Comment
from tests.unit.sync_world import make_world


def test_the_same_words_written_twice_are_copied_twice(tmp_path):
    world = make_world(tmp_path)
    record = world.incident("INC1", state="in_progress")
    first, _ = world.engine().sync()
    assert first.created == 1
    issue = world.jira.find_id("INC1") or ""
    said = "Escalated to the mail vendor"
    world.snow.note(record, Comment("ana@acme.example", said, world.clock(), origin="servicenow", id="n-1"))
    second, _ = world.engine().sync()
    world.snow.note(
        record, Comment("ana@acme.example", said, world.clock() + timedelta(days=1), origin="servicenow", id="n-2")
    )
    third, _ = world.engine().sync()

    assert (second.commented, third.commented) == (1, 1)
    assert [c.body for c in world.jira.copies[issue]] == [said, said]
    fourth, _ = world.engine().sync()
    assert fourth.writes == 0


def test_a_note_without_an_id_is_still_copied_once(tmp_path):
    world = make_world(tmp_path)
    record = world.incident("INC1", state="in_progress")
    world.engine().sync()
    issue = world.jira.find_id("INC1") or ""
    world.snow.note(record, Comment("ana@acme.example", "Mail queue drained", world.clock()))
    world.engine().sync()
    world.snow.edit(record, title="INC1: mail delayed")
    world.engine().sync()

    assert [c.body for c in world.jira.copies[issue]] == ["Mail queue drained"]


def test_a_store_that_knows_notes_by_their_words_copies_none_again(tmp_path):
    world = make_world(tmp_path)
    record = world.incident("INC1", state="in_progress")
    world.snow.note(
        record, Comment("ana@acme.example", "Mail queue drained", world.clock(), origin="servicenow", id="n-1")
    )
    world.engine().sync()
    issue = world.jira.find_id("INC1") or ""
    shadow = world.store.shadow("INC1")
    assert shadow is not None and len(shadow.comments_seen) == 1
    words = hashlib.sha256(b"internal|Mail queue drained").hexdigest()[:16]  # as stores kept notes before
    world.store.put_shadow(replace(shadow, comments_seen=frozenset({words})))
    world.snow.edit(record, title="INC1: mail delayed")
    again, _ = world.engine().sync()

    assert again.commented == 0 and [c.body for c in world.jira.copies[issue]] == ["Mail queue drained"]
