"""A store shared by threads: one call at a time, and journal appends committed in groups.

The sync applies keys side by side; every store call (journal appends above all: each entry's
hash chains to the one before) goes through one lock, so the chain and each transaction stay whole.

Group commit: each write is journaled twice (its intent before it, its outcome after), and each
append was a transaction of its own, so the apply workers queued behind one another for the
store while the platforms' budgets sat idle. An append now waits for the lock as before, but the
thread that gets it writes every append waiting at that moment in one transaction
(`append_many`), and each caller returns once its own entry is committed: the journal stays
write-ahead, with one commit for many entries. A group that fails is written again one entry at a
time, so one bad entry never fails another's.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any


class _Asked:
    """One caller's append, waiting for the group that writes it."""

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self.entry = entry
        self.done = False
        self.written: Any = None
        self.error: BaseException | None = None

    def settle(self, written: Any = None, error: BaseException | None = None) -> None:
        self.written, self.error, self.done = written, error, True


class _Appends:
    """The appends waiting, shared by every view of one store."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: list[_Asked] = []

    def add(self, asked: _Asked) -> None:
        with self._guard:
            self._waiting.append(asked)

    def take(self) -> list[_Asked]:
        with self._guard:
            taken, self._waiting = self._waiting, []
        return taken


class Serialized:
    def __init__(self, store: Any) -> None:
        shared = isinstance(store, Serialized)
        self._store: Any = store._store if shared else store
        self._lock: threading.RLock = store._lock if shared else threading.RLock()
        self._appends: _Appends = store._appends if shared else _Appends()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return locked

    def append(self, run_id: str, kind: str, payload: dict[str, Any], **where: Any) -> Any:
        """`append`, committed with the other threads' appends waiting at the same time."""
        mine = _Asked({"run_id": run_id, "kind": kind, "payload": payload, **where})
        self._appends.add(mine)
        with self._lock:
            if not mine.done:  # no group took it while this thread waited: this one writes the group
                self._write(self._appends.take())
        if mine.error is not None:
            raise mine.error
        return mine.written

    def _write(self, group: list[_Asked]) -> None:
        try:
            written = self._store.append_many([asked.entry for asked in group])
        except Exception as exc:
            if len(group) == 1:
                group[0].settle(error=exc)
                return
            for asked in group:  # each alone: one bad entry never fails the others
                self._write([asked])
            return
        except BaseException as exc:  # interrupted: no caller of the group may wait for it
            for asked in group:
                asked.settle(error=exc)
            raise
        for asked, entry in zip(group, written, strict=True):
            asked.settle(entry)
