"""Named, numbered schema migrations, each recorded in `schema_version` when applied.

`migrate` runs them all in one write transaction under a lock (SQLite: BEGIN IMMEDIATE, the
database's write lock; PostgreSQL: a transaction-level advisory lock), so two processes opening
one store at once never both migrate: the second waits, then finds the versions recorded. Each
migration is also idempotent on its own (it checks before it adds or moves), so a store that
already has the new shape (a fresh one, made by `initial` from today's tables) comes through it
unchanged. A migration that fails rolls back whole, its version unrecorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, inspect, select, text, update

from itsm_bridge.store.chain import dumps
from itsm_bridge.store.schema import (
    JOURNAL_INDEXES,
    cursors,
    deliveries,
    facts,
    journal,
    links,
    people,
    quarantine,
    schema_version,
    shadows,
)

MIGRATE_LOCK = 7403117  # PostgreSQL advisory lock id held while migrating
OLD_SIDES, OLD_COMMENTS = "_sides", "_comments_seen"  # entries of a shadow's fields up to version 2
OLD_FACTS = ".facts"  # suffix of the cursor rows that kept learned facts up to version 2
PAGE = 1000  # shadows moved per statement: memory stays flat on a large store


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _initial(conn: Any) -> None:
    schema_version.metadata.create_all(conn, tables=[links, shadows, cursors, journal, quarantine])


def _journal_chain(conn: Any) -> None:
    # Entries written before this keep a NULL chain: they stay verified as plain SHA-256.
    if "chain" not in _columns(conn, "journal"):
        conn.execute(text("ALTER TABLE journal ADD COLUMN chain VARCHAR(16)"))


def _typed_shadows(conn: Any) -> None:
    """A shadow's sides and comments seen get columns of their own, out of its fields."""
    have = _columns(conn, "shadows")
    for name, empty in (("sides", "{}"), ("comments_seen", "[]")):
        if name not in have:
            conn.execute(text(f"ALTER TABLE shadows ADD COLUMN {name} TEXT NOT NULL DEFAULT '{empty}'"))
    move = (
        update(shadows)
        .where(shadows.c.key == bindparam("k"))
        .values(fields=bindparam("f"), sides=bindparam("s"), comments_seen=bindparam("c"))
    )
    after: str | None = None
    while True:
        query = select(shadows.c.key, shadows.c.fields, shadows.c.sides, shadows.c.comments_seen)
        if after is not None:
            query = query.where(shadows.c.key > after)
        rows = conn.execute(query.order_by(shadows.c.key).limit(PAGE)).all()
        if not rows:
            return
        moved = [m for m in (_moved(r) for r in rows) if m is not None]
        if moved:
            conn.execute(move, moved)
        after = rows[-1].key


def _moved(row: Any) -> dict[str, str] | None:
    """A shadow row in the new shape, or None when it has nothing to move."""
    fields = json.loads(row.fields)
    if OLD_SIDES not in fields and OLD_COMMENTS not in fields:
        return None
    sides = fields.pop(OLD_SIDES, None)
    seen = fields.pop(OLD_COMMENTS, None)
    return {
        "k": row.key,
        "f": dumps(fields),
        "s": dumps(sides) if sides is not None else row.sides,
        "c": dumps(sorted(set(seen) | set(json.loads(row.comments_seen)))) if seen is not None else row.comments_seen,
    }


def _facts_table(conn: Any) -> None:
    """Learned facts get a table of their own, out of the cursor rows named `PLATFORM.facts`.
    The values move as they are (a damaged one is dropped and learned again when read, as
    before); an empty value (facts forgotten) moves as no row."""
    facts.create(conn, checkfirst=True)
    kept = {r.platform for r in conn.execute(select(facts.c.platform))}
    old = conn.execute(
        select(cursors.c.name, cursors.c.value, cursors.c.updated_at).where(cursors.c.name.like(f"%{OLD_FACTS}"))
    ).all()
    for row in old:
        platform = row.name[: -len(OLD_FACTS)]
        if row.value and platform not in kept:
            conn.execute(insert(facts).values(platform=platform, facts=row.value, learned_at=row.updated_at))
    if old:
        conn.execute(delete(cursors).where(cursors.c.name.in_([r.name for r in old])))


def _run_indexes(conn: Any) -> None:
    for index in JOURNAL_INDEXES:
        index.create(conn, checkfirst=True)


def _typed_store(conn: Any) -> None:
    _typed_shadows(conn)
    _facts_table(conn)
    _run_indexes(conn)


def _people_cache(conn: Any) -> None:
    people.create(conn, checkfirst=True)


def _deliveries(conn: Any) -> None:
    deliveries.create(conn, checkfirst=True)


def _columns(conn: Any, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


MIGRATIONS: list[tuple[int, str, Callable[[Any], None]]] = [
    (1, "initial: links, shadows, cursors, journal, quarantine", _initial),
    (2, "journal.chain: entries HMAC-keyed from the environment", _journal_chain),
    (3, "typed store: shadow sides and comments seen in columns, a facts table, journal run indexes", _typed_store),
    (4, "people: user lookups by e-mail address, kept for their time to live", _people_cache),
    (5, "deliveries: webhook delivery ids serve has taken, to drop a replay", _deliveries),
]


def upgrading(conn: Any) -> bool:
    """Whether the store exists, made by an earlier version, and has migrations to apply: such a
    store may be in use by a run of that version, whose writes must not straddle the upgrade."""
    if not inspect(conn).has_table("schema_version"):
        return False  # a new store: nothing can be using it yet
    done = {row.version for row in conn.execute(select(schema_version.c.version))}
    return any(version not in done for version, _, _ in MIGRATIONS)


def migrate(conn: Any, is_sqlite: bool) -> list[int]:
    """Apply every migration not yet recorded, inside the caller's write transaction; return the
    versions applied now."""
    if not is_sqlite:
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATE_LOCK})
    schema_version.create(conn, checkfirst=True)
    done = {row.version for row in conn.execute(select(schema_version.c.version))}
    applied = []
    for version, name, apply in MIGRATIONS:
        if version not in done:
            apply(conn)
            conn.execute(insert(schema_version).values(version=version, name=name, applied_at=_now()))
            applied.append(version)
    return applied
