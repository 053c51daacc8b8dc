"""One sync at a time per store.

SQLite: an exclusive `flock` on a file beside the database. The kernel drops it when the holder
dies, however it dies (kill -9 included), so a dead run's lock is taken over without any
staleness guess. The file also records who holds it, for the "another run holds the lock" message.

PostgreSQL: a session-level advisory lock, which the server drops when the holder's connection
goes away.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from itsm_bridge.errors import Locked

WRITER_LOCK = 7403118  # PostgreSQL advisory lock id of the one writer (every version uses this one)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock wait past lock_timeout


@contextmanager
def file_lock(path: Path, owner: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            raise Locked(f"another run holds the lock on {path.name}{holder}") from None
        os.ftruncate(fd, 0)
        info = {
            "owner": owner,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(),
        }
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        info: dict[str, Any] = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return ""
    if not info:
        return ""
    return f" (pid {info.get('pid')} on {info.get('host')}, {info.get('owner')}, since {info.get('since')})"


@contextmanager
def waiting(take: Callable[[], AbstractContextManager[None]], wait_s: float, why: str) -> Iterator[None]:
    """Hold the lock `take` makes, waiting up to `wait_s` seconds for its holder to let it go;
    then Locked, saying `why` the lock was wanted."""
    deadline = time.monotonic() + wait_s
    while True:
        lock = take()
        try:
            lock.__enter__()
            break
        except Locked as exc:
            if time.monotonic() >= deadline:
                raise Locked(f"{exc}; {why}") from None
            time.sleep(0.1)
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


@contextmanager
def advisory_lock(engine: Any, lock_id: int, owner: str, wait_s: float = 0.0) -> Iterator[None]:
    """The session-level advisory lock `lock_id`, on a connection of its own. `wait_s` > 0: wait
    for it up to that long in the server's queue of waiters, which grants it in the order asked,
    instead of answering Locked at once."""
    conn = engine.connect()
    try:
        if not _take(conn, lock_id, wait_s):
            raise Locked("another run holds the store's advisory lock")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
            conn.commit()
    finally:
        conn.close()


def _take(conn: Any, lock_id: int, wait_s: float) -> bool:
    """Take the advisory lock; False when it stayed held (at once, or after `wait_s` seconds)."""
    if wait_s <= 0:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": lock_id}).scalar()
        conn.commit()
        return bool(got)
    # lock_timeout bounds the wait (SQLSTATE 55P03 past it); set for this transaction only, and
    # the session-level lock outlives the transaction
    conn.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{max(1, round(wait_s * 1000))}ms"})
    try:
        conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
    except OperationalError as exc:
        conn.rollback()
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return False
        raise
    conn.commit()
    return True
