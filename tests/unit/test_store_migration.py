"""Migration 3 (the typed store) on a store written by the version before it (tests/fixtures/store_v2),
on SQLite and PostgreSQL: once, idempotent, nothing lost."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from itsm_bridge.errors import Locked
from itsm_bridge.store import open_store, sql
from itsm_bridge.store.locks import WRITER_LOCK, advisory_lock, file_lock
from itsm_bridge.store.migrations import _typed_store
from tests.fixtures import store_v2
from tests.pg import needs_pg, pg_url  # noqa: F401 (pg_url: a fixture)


def assert_migrated_without_loss(store: Any, facts: dict[str, Any] | None = None) -> None:
    """Every old shadow's fields come back whole from the typed columns; the facts from the facts
    table; the journal, links and cursors as they were."""
    assert store.schema_versions() == [1, 2, 3, 4, 5]
    old = store_v2.old_shadows()
    assert old and any(f["_comments_seen"] for f in old.values()) and all(f["_sides"] for f in old.values())
    for key, fields in old.items():
        shadow = store.shadow(key)
        assert {**shadow.merged, "_sides": shadow.sides, "_comments_seen": sorted(shadow.comments_seen)} == fields
        assert not any(name.startswith("_") for name in shadow.merged)
    assert {s.key for s in store.all_shadows()} == set(old)
    facts = store_v2.old_facts() if facts is None else facts
    assert "servicenow" in facts
    for platform in ("servicenow", "jira"):
        assert (store.facts(platform).values if platform in facts else store.facts(platform)) == facts.get(platform)
    rows = store_v2.old_rows()
    for name in ("servicenow", "jira"):
        assert store.cursor(name).value == next(r["value"] for r in rows["cursors"] if r["name"] == name)
    assert store.cursor("jira.facts") is None and store.cursor("servicenow.facts") is None
    assert [e.hash for e in store.journal()] == [r["hash"] for r in sorted(rows["journal"], key=lambda r: r["seq"])]
    assert store.verify_journal().ok
    assert len(list(store.all_links())) == len(rows["links"])


def assert_last_run_found(store: Any) -> None:
    run = store.last_run()
    assert run is not None and run.run_id == store_v2.last_run_id()
    assert store.failed_in_last_run() == ["INC0010003"]  # Jira refused its update (make.py)
    assert store.relinked_since_last_run() == []


def test_a_version_2_sqlite_store_is_migrated_without_loss(tmp_path):
    store = open_store(f"sqlite:///{store_v2.copy_to(tmp_path / 'state.sqlite')}")
    try:
        assert set(store_v2.old_facts()) == {"jira", "servicenow"}
        assert_migrated_without_loss(store)
        assert_last_run_found(store)
    finally:
        store.close()


def _dump(path: Any) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(path)
    try:
        tables = [
            r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'schema_version'")
        ]
        return {t: sorted(db.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables}
    finally:
        db.close()


def test_migrating_a_migrated_store_again_changes_nothing(tmp_path):
    path = store_v2.copy_to(tmp_path / "state.sqlite")
    store = open_store(f"sqlite:///{path}")
    before = _dump(path)
    with store._write() as conn:  # the migration's own steps, run again
        _typed_store(conn)
    store.close()
    assert _dump(path) == before
    again = open_store(f"sqlite:///{path}")
    assert again.schema_versions() == [1, 2, 3, 4, 5]
    again.close()


def _open(url: str) -> None:
    open_store(url).close()


def _open_at_once(url: str) -> None:
    """Two processes open the store at `url` at the same time; both must succeed."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open, args=(url,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0


def test_two_processes_opening_a_version_2_store_at_once_migrate_it_once(tmp_path):
    url = f"sqlite:///{store_v2.copy_to(tmp_path / 'state.sqlite')}"
    _open_at_once(url)
    db = sqlite3.connect(url[len("sqlite:///") :])
    assert db.execute("SELECT version, count(*) FROM schema_version GROUP BY version").fetchall() == [
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 1),
        (5, 1),
    ]
    db.close()
    store = open_store(url)
    assert_migrated_without_loss(store)
    store.close()


def test_a_fresh_store_has_the_new_shape_with_nothing_to_move(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert store.schema_versions() == [1, 2, 3, 4, 5] and store.last_run() is None
    assert store.failed_in_last_run() == [] and store.relinked_since_last_run() == []
    store.close()


def test_damaged_facts_move_as_they_are_and_read_as_an_error(tmp_path):
    """A v2 facts row that is not JSON (damaged) is kept, not dropped: reading it raises
    ValueError, which the sync answers by learning the facts again."""
    path = store_v2.copy_to(tmp_path / "state.sqlite")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE cursors SET value = '{\"workflow\": ' WHERE name = 'jira.facts'")
        db.execute("UPDATE cursors SET value = '' WHERE name = 'servicenow.facts'")  # forgotten
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(ValueError):
        store.facts("jira")
    assert store.facts("servicenow") is None
    store.close()


@needs_pg
def test_a_version_2_postgresql_store_is_migrated_without_loss(pg_url):
    copied = store_v2.copy_to_postgres(pg_url)
    store = open_store(pg_url)
    try:
        assert_migrated_without_loss(store, store_v2.old_facts(copied))
        assert_last_run_found(store)
    finally:
        store.close()
    again = open_store(pg_url)  # reopening migrates nothing
    assert again.schema_versions() == [1, 2, 3, 4, 5]
    assert again.facts("servicenow").values == store_v2.old_facts()["servicenow"]
    again.close()


@needs_pg
def test_two_processes_opening_a_version_2_postgresql_store_at_once_migrate_it_once(pg_url):
    copied = store_v2.copy_to_postgres(pg_url)
    _open_at_once(pg_url)
    store = open_store(pg_url)
    assert_migrated_without_loss(store, store_v2.old_facts(copied))
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def v2_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A v2 store (as the earlier version left it), on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{store_v2.copy_to(tmp_path / 'state.sqlite')}"
    url: str = request.getfixturevalue("pg_url")
    store_v2.copy_to_postgres(url)
    return url


@contextmanager
def run_in_progress(url: str) -> Iterator[None]:
    """The one-writer lock as a run of the earlier version holds it (the same file or advisory lock)."""
    if url.startswith("sqlite"):
        with file_lock(Path(url[len("sqlite:///") :] + ".lock"), "sync"):
            yield
        return
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with advisory_lock(engine, WRITER_LOCK, "sync"):
            yield
    finally:
        engine.dispose()


def _versions(url: str) -> list[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = [r[0] for r in conn.execute(text("SELECT version FROM schema_version ORDER BY version"))]
    engine.dispose()
    return found


def test_an_upgrade_does_not_straddle_a_run_in_progress(v2_url, monkeypatch):
    monkeypatch.setattr(sql, "UPGRADE_WAIT_S", 0.3)
    with run_in_progress(v2_url):
        with pytest.raises(Locked, match="needs a schema upgrade, which waits for that run to finish"):
            open_store(v2_url)
        assert _versions(v2_url) == [1, 2]  # nothing moved under the run's feet
    store = open_store(v2_url)
    assert store.schema_versions() == [1, 2, 3, 4, 5]
    store.close()


def test_an_upgrade_waits_for_a_run_that_finishes(v2_url):
    held, release = threading.Event(), threading.Event()

    def run() -> None:
        with run_in_progress(v2_url):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=run)
    thread.start()
    held.wait(10)
    threading.Timer(0.5, release.set).start()
    store = open_store(v2_url)  # waits for the run, then upgrades
    thread.join()
    assert release.is_set() and store.schema_versions() == [1, 2, 3, 4, 5]
    store.close()
