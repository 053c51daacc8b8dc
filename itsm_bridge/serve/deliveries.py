"""Webhook delivery ids kept in the state store, so a replayed or retried delivery is taken once.

The row is written in the store every serve process shares (the `deliveries` table, store
migration 5), so a replay sent to another process is dropped too. Ids older than `KEEP` are
pruned by the sweep: the vendors retry for hours, not days, and ServiceNow's signed timestamp
refuses anything older than five minutes anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.exc import IntegrityError

from itsm_bridge.serve.queue import Job
from itsm_bridge.store.schema import deliveries
from itsm_bridge.store.sql import KEY_FOR

KEEP = timedelta(days=7)
# Built once: every delivery runs them, and building a statement costs about what running it does.
_RECORD = insert(deliveries).values(
    platform=bindparam("platform"), delivery_id=bindparam("delivery_id"), received_at=bindparam("received_at")
)


def _engine(store: Any) -> Any:
    return store.engine.execution_options(immediate=True)  # SQLite: take the write lock at BEGIN


def first_time(
    store: Any,
    platform: str,
    delivery_id: str,
    record: tuple[str, str] | None = None,
    waits: Callable[[Any, str], bool] | None = None,
) -> tuple[bool, str | None, bool]:
    """Record the delivery and, in the same transaction, read the key linked to `record` (its
    platform and remote id, when given) and ask `waits` (the queue's) whether that record's job
    already waits: one round of the store per delivery. (first time, key, job waiting); (False,
    None, False) when the delivery was recorded before (a replay or a vendor's retry)."""
    try:
        with _engine(store).begin() as conn:
            now = datetime.now(UTC).isoformat()
            conn.execute(_RECORD, {"platform": platform, "delivery_id": delivery_id[:200], "received_at": now})
            if record is None:
                return True, None, False
            key = conn.execute(KEY_FOR, {"platform": record[0], "remote_id": record[1]}).scalar()
            lock = Job.record(record[0], record[1], key).lock
            return True, key, waits is not None and waits(conn, lock)
    except IntegrityError:
        return False, None, False


def forget(store: Any, platform: str, delivery_id: str) -> None:
    """Drop a delivery's record (its job could not be queued: the vendor's retry must be taken)."""
    with _engine(store).begin() as conn:
        conn.execute(
            delete(deliveries).where(deliveries.c.platform == platform, deliveries.c.delivery_id == delivery_id[:200])
        )


def prune(store: Any, now: datetime | None = None) -> int:
    """Drop delivery ids older than KEEP; return how many."""
    before = ((now or datetime.now(UTC)) - KEEP).isoformat()
    with _engine(store).begin() as conn:
        return int(conn.execute(delete(deliveries).where(deliveries.c.received_at < before)).rowcount or 0)
