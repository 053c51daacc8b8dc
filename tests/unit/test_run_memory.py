"""What a run keeps in memory does not grow with the records it reads: what the store holds is
asked of the store, not kept beside it."""

from __future__ import annotations

from itsm_bridge.sync import engine as engine_module
from tests.unit.sync_world import make_world


def test_a_sync_keeps_no_record_the_store_has_linked(tmp_path):
    world = make_world(tmp_path)
    for i in range(12):
        world.incident(f"INC{i:04d}")
    world.incident("bad key!")  # held: a key that cannot link records is never linked
    engine = world.engine()
    summary, _ = engine.sync()
    assert summary.created == 12 and summary.quarantined == 1
    assert len(list(world.store.all_links())) == 24  # each incident on both platforms
    assert engine.identity.unlinked() == [("servicenow", "bad key!")]  # not the 12 records linked


def test_a_copy_read_after_its_keys_record_was_linked_in_an_earlier_batch_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "BATCH", 2)
    world = make_world(tmp_path)
    for key in ("INC0001", "INC0002", "INC0003", "INC0001"):  # the last one carries a key already taken
        world.incident(key)
    engine = world.engine()
    summary, _ = engine.sync()
    assert summary.created == 3 and summary.quarantined == 1
    (entry,) = world.store.quarantined()
    assert entry.key == "INC0001" and entry.ref != world.store.links("INC0001")[0].id
    assert engine.identity.unlinked() == []
