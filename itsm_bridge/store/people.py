"""The people cache's rows: what user lookups found, per platform and e-mail address."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from itsm_bridge.people import PersonEntry
from itsm_bridge.store.schema import people


def read(conn: Any, platform: str) -> list[PersonEntry]:
    rows = conn.execute(select(people).where(people.c.platform == platform)).all()
    return [PersonEntry(r.platform, r.email, r.remote_id, datetime.fromisoformat(r.looked_up_at)) for r in rows]


def write(conn: Any, entries: Iterable[PersonEntry]) -> None:
    """Keep `entries`, each replacing what was kept for its platform and address."""
    for e in entries:
        conn.execute(delete(people).where(people.c.platform == e.platform, people.c.email == e.email))
        conn.execute(
            insert(people).values(
                platform=e.platform, email=e.email, remote_id=e.remote_id, looked_up_at=e.looked_up_at.isoformat()
            )
        )
