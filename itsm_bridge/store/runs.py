"""The journal's runs as queries: the last run, the writes that failed in it, the links changed by
hand since. One SQL statement each, answered by index (see `schema.JOURNAL_INDEXES`) on SQLite
and PostgreSQL alike, instead of a read of the whole journal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, cast, func, select

from itsm_bridge.store.schema import journal

RUN = "run"  # the entry a finished run (sync, apply, retry) ends with
REPAIRS = ("unlink", "relink")  # link entries a person made by hand


def payload_text(field: str, is_sqlite: bool) -> Any:
    """A payload's top-level `field` as text, in SQL."""
    if is_sqlite:
        return func.json_extract(journal.c.payload, f"$.{field}")
    from sqlalchemy.dialects.postgresql import JSONB  # only on PostgreSQL: a SQLite run never loads its dialect

    return cast(journal.c.payload, JSONB)[field].astext


def last_run() -> Select[Any]:
    return select(journal).where(journal.c.kind == RUN).order_by(journal.c.seq.desc()).limit(1)


def failed_in_last_run(is_sqlite: bool) -> Select[Any]:
    """Keys whose write failed in the last run, in journal order (a key may repeat)."""
    run_id = select(journal.c.run_id).where(journal.c.kind == RUN).order_by(journal.c.seq.desc()).limit(1)
    return (
        select(journal.c.key)
        .where(
            journal.c.kind == "outcome",
            journal.c.run_id == run_id.scalar_subquery(),
            journal.c.key.is_not(None),
            payload_text("result", is_sqlite) == "failed",
        )
        .order_by(journal.c.seq)
    )


def relinked_since_last_run() -> Select[Any]:
    """Keys unlinked or relinked by hand after the last run, in journal order (a key may repeat)."""
    since = select(func.coalesce(func.max(journal.c.seq), 0)).where(journal.c.kind == RUN)
    return (
        select(journal.c.key)
        .where(
            journal.c.kind == "link",
            journal.c.action.in_(REPAIRS),
            journal.c.key.is_not(None),
            journal.c.seq > since.scalar_subquery(),
        )
        .order_by(journal.c.seq)
    )


def entries(key: str | None, kinds: Sequence[str], after: int | None, last: int | None) -> Select[Any]:
    """Journal entries, oldest first unless `last` (then newest first, `last` of them)."""
    query = select(journal)
    kind: Any = journal.c.kind
    if key is not None:
        query = query.where(journal.c.key == key)
        # One key's entries are few: found by the key's index. `kind || ''` keeps SQLite (whose
        # planner has no statistics) off the (kind, seq) index, which would visit every entry
        # of those kinds in the journal, of all keys, for each key asked.
        kind = kind.concat("")
    if kinds:
        query = query.where(kind.in_(list(kinds)))
    if after is not None:
        query = query.where(journal.c.seq > after)
    if last is not None:
        return query.order_by(journal.c.seq.desc()).limit(last)
    return query.order_by(journal.c.seq)
