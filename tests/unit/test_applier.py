"""The one applier, over fake connectors in memory: a batch journals each write's intent before
its outcome, a failing write holds back only its key, and `sync`, `apply PLAN` and `retry` all
write through it (a saved plan's stale keys refused)."""

from __future__ import annotations

from itsm_bridge.errors import RemoteValidation, Transient
from itsm_bridge.sync.summary import RunSummary
from tests.unit.sync_world import World, make_world


def synced(world: World, *keys: str) -> None:
    """`keys` on the source, synced once (linked, shadowed)."""
    for key in keys:
        world.incident(key)
    summary, _ = world.engine().sync()
    assert summary.created == len(keys) and not summary.failed


def finished(world: World, summary: RunSummary) -> None:
    """Journal the run as the runner does (retry reads the last run's failures from it)."""
    world.store.append(summary.run_id, "run", summary.to_dict())


def test_a_batch_journals_each_writes_intent_before_its_outcome(tmp_path):
    world = make_world(tmp_path)
    world.incident("INC1", state="in_progress")

    summary, _ = world.engine().sync()

    assert summary.created == 1 and summary.transitioned == 1
    entries = [e for e in world.store.journal(key="INC1") if e.kind in ("intent", "outcome")]
    assert [(e.kind, e.action) for e in entries] == [
        ("intent", "create"),
        ("outcome", "create"),
        ("intent", "transition"),
        ("outcome", "transition"),
    ]
    assert [e.intent_seq for e in entries[1::2]] == [e.seq for e in entries[0::2]]
    shadow = world.store.shadow("INC1")
    assert shadow is not None and shadow.merged["state"] == "in_progress" and "jira" in shadow.versions
    assert world.jira.by_method["create_many"] == 1  # the batch's creates in one call


def test_a_failing_write_holds_back_only_its_key(tmp_path):
    world = make_world(tmp_path)
    for key in ("INC1", "INC2", "INC3"):
        world.incident(key)
    world.jira.fail("create", Transient("502 from the fake", platform="jira"), where="INC2")

    summary, _ = world.engine().sync()

    assert summary.created == 2 and summary.failed == 1
    assert [e["key"] for e in summary.errors] == ["INC2"]
    assert world.store.shadow("INC2") is None and [r.platform for r in world.store.links("INC2")] == ["servicenow"]
    assert world.store.shadow("INC1") is not None and world.store.shadow("INC3") is not None
    outcomes = [e.payload["result"] for e in world.store.journal(key="INC2") if e.kind == "outcome"]
    assert outcomes == ["failed"]
    cursor = world.store.cursor("servicenow")  # held before INC2: the next run reads it again
    assert cursor is not None and cursor.value < world.snow.updated[world.snow.find_id("INC2") or ""].isoformat()


def test_a_create_the_vendor_refuses_quarantines_only_that_key(tmp_path):
    world = make_world(tmp_path)
    world.incident("INC1")
    world.incident("INC2")
    world.jira.fail(
        "create", RemoteValidation("summary is too long", fields=["summary"], platform="jira"), where="INC2"
    )

    summary, _ = world.engine().sync()

    assert summary.created == 1 and summary.quarantined == 1 and summary.failed == 0
    assert [(q.key, q.platform) for q in world.store.quarantined()] == [("INC2", "jira")]
    assert world.store.shadow("INC1") is not None


def test_retry_writes_the_failed_key_through_the_same_applier(tmp_path):
    world = make_world(tmp_path)
    world.incident("INC1")
    world.incident("INC2")
    world.jira.fail("create", Transient("502 from the fake", platform="jira"), where="INC2")
    summary, _ = world.engine().sync()
    finished(world, summary)
    bulk = world.jira.by_method["create_many"]

    again = world.engine().retry()

    assert again.created == 1 and not again.failed and again.read == {"servicenow": 1}
    assert world.jira.by_method["create_many"] == bulk + 1  # the batch path: bulk create, then read back
    assert world.jira.by_method["create"] == 0
    assert world.store.shadow("INC2") is not None and world.jira.find_id("INC2") is not None


def test_apply_plan_refuses_a_key_whose_record_changed_since_the_plan(tmp_path):
    world = make_world(tmp_path)
    synced(world, "INC1", "INC2")
    for key in ("INC1", "INC2"):
        world.snow.edit(world.snow.find_id(key) or "", title=f"{key}: mail is down")
    _, plan = world.engine().sync(dry_run=True)
    assert sorted((a.kind, a.key) for a in plan.actions) == [("update", "INC1"), ("update", "INC2")]
    world.jira.edit(world.jira.find_id("INC1") or "", description="a person wrote here meanwhile")

    summary = world.engine().apply_plan(plan)

    assert summary.updated == 1 and summary.failed == 1
    assert [(e["key"], e["error"]) for e in summary.errors] == [("INC1", "Stale")]
    assert world.jira.records[world.jira.find_id("INC2") or ""]["title"] == "INC2: mail is down"
    assert world.jira.records[world.jira.find_id("INC1") or ""]["title"] == "INC1 is down"
    shadow = world.store.shadow("INC2")
    assert shadow is not None and shadow.merged["title"] == "INC2: mail is down"


def test_apply_plan_creates_in_bulk_like_sync(tmp_path):
    world = make_world(tmp_path)
    for key in ("INC1", "INC2", "INC3"):
        world.incident(key, state="in_progress")
    _, plan = world.engine().sync(dry_run=True)

    summary = world.engine().apply_plan(plan)

    assert summary.created == 3 and summary.transitioned == 3 and not summary.failed
    assert world.jira.by_method["create_many"] == 1 and world.jira.by_method["create"] == 0
    assert all(world.store.shadow(k) is not None for k in ("INC1", "INC2", "INC3"))
    again, _ = world.engine().sync()
    assert again.writes == 0  # the shadows the plan left say every side is aligned


def test_page_writes_run_on_their_own_pool_and_journal_like_the_others(tmp_path):
    world = make_world(tmp_path, page=True)
    world.incident("INC1", impact=1, urgency=1, service="Email")  # P1: published
    world.incident("INC2", service="Email")  # P5: not published
    assert world.page is not None

    summary, _ = world.engine().sync()

    assert summary.created == 2 and summary.published == 1 and not summary.failed
    assert [t.startswith("statuspage") for t in world.page.threads] == [True]
    entries = [
        (e.kind, e.platform, e.action) for e in world.store.journal(key="INC1") if e.kind in ("intent", "outcome")
    ]
    assert entries[-2:] == [("intent", "statuspage", "publish"), ("outcome", "statuspage", "publish")]
    assert world.page.find_id("INC1") is not None and world.page.find_id("INC2") is None
    assert world.store.shadow("INC1") is not None


def test_a_failing_page_write_holds_back_only_its_key_and_is_made_next_run(tmp_path):
    world = make_world(tmp_path, page=True)
    world.incident("INC1", impact=1, urgency=1, service="Email")
    world.incident("INC2", impact=1, urgency=1, service="Email")
    assert world.page is not None
    world.page.fail("publish", Transient("503 from the fake page", platform="statuspage"), where="INC1")

    summary, _ = world.engine().sync()

    assert summary.created == 2 and summary.published == 1 and summary.failed == 1
    assert [(e["key"], e["platform"]) for e in summary.errors] == [("INC1", "statuspage")]
    assert world.store.shadow("INC1") is None and world.store.shadow("INC2") is not None
    again, _ = world.engine().sync()
    assert again.published == 1 and again.created == 0 and not again.failed
    assert world.page.find_id("INC1") is not None and world.store.shadow("INC1") is not None
