"""Watermarks for incremental reads: an overlap window plus a seen-set at the boundary.

Vendors order changes by a timestamp of limited precision (ServiceNow: seconds; Jira JQL:
minutes), and a page edge can fall between records sharing one instant. So a read starts
`overlap` before the watermark, and records already applied at their current version (the
seen-set) are skipped: nothing is lost, nothing is read twice into a write.

The watermark moves only past records that were fully applied, and never past the start of the
run, so a record changed while the run was going is read again next time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from itsm_bridge.model import ensure_utc
from itsm_bridge.store.base import Cursor


PRUNE_EVERY = 5000  # applied records between two prunings of a read's list


def seen_key(record_id: str, version: str) -> str:
    return f"{record_id}@{version}"


@dataclass(frozen=True)
class Watermark:
    value: datetime | None = None  # None: never read; read everything
    seen: dict[str, datetime] = field(default_factory=dict)  # "id@version" -> its updated time

    def read_from(self, overlap: timedelta) -> datetime | None:
        """Where the next read starts: the watermark minus the overlap window."""
        return None if self.value is None else self.value - overlap

    def already_applied(self, record_id: str, version: str) -> bool:
        return seen_key(record_id, version) in self.seen

    def advance(
        self,
        applied: Iterable[tuple[str, str, datetime]],
        unapplied: Iterable[datetime],
        run_started: datetime,
        overlap: timedelta,
        complete_to: datetime | None = None,
    ) -> Watermark:
        """The next watermark, from (id, version, updated) of records applied this run and the
        `updated` of records read but not applied (failed, quarantined, skipped by --limit);
        `complete_to`, when the read says it saw every change before that moment, lets the
        watermark move there (never past a record not applied) though no record is that new."""
        applied = [(i, v, ensure_utc(u)) for i, v, u in applied]
        unapplied = [ensure_utc(u) for u in unapplied]
        ceiling = min([ensure_utc(run_started), *unapplied])
        candidates = [u for _, _, u in applied if u <= ceiling]
        if complete_to is not None:  # the read saw everything before this (the platform's clock)
            candidates.append(min([ensure_utc(complete_to), *unapplied]))
        value = self.value
        if candidates:
            newest = max(candidates)
            value = newest if value is None else max(value, newest)
        if value is None:
            return self
        window_start = value - overlap
        seen = {k: u for k, u in self.seen.items() if u >= window_start}
        seen.update({seen_key(i, v): u for i, v, u in applied if u >= window_start})
        return Watermark(value, seen)

    # --- persistence in the state store
    def to_cursor(self, name: str) -> Cursor:
        seen = tuple(sorted(f"{k}|{u.isoformat()}" for k, u in self.seen.items()))
        return Cursor(name, self.value.isoformat() if self.value else "", seen)

    @classmethod
    def from_cursor(cls, cursor: Cursor | None) -> Watermark:
        if cursor is None or not cursor.value:
            return cls()
        seen = {}
        for entry in cursor.seen:
            key, _, when = entry.rpartition("|")
            seen[key] = datetime.fromisoformat(when)
        return cls(datetime.fromisoformat(cursor.value), seen)


@dataclass
class ReadProgress:
    """Per platform, during a run: what was read, and which records may move its cursor."""

    watermark: Watermark
    started: datetime | None = None  # the run's start: the cursor never moves past it
    overlap: timedelta = timedelta(0)
    applied: list[tuple[str, str, datetime]] = field(default_factory=list)
    unapplied: list[datetime] = field(default_factory=list)
    count: int = 0
    complete_to: datetime | None = None  # the platform's read saw every change before this
    last: datetime | None = None  # `updated` of the last record read (where a read cut short stopped)
    _unpruned: int = 0

    def took(self, record_id: str, version: str, updated: datetime) -> None:
        self.applied.append((record_id, version, updated))
        self._unpruned += 1
        if self._unpruned >= PRUNE_EVERY:
            self._prune()

    def _prune(self) -> None:
        """Forget applied records older than the overlap window before the newest one the
        cursor may already move to: records arrive oldest first, so the watermark can only land
        there or later and they would never be in its seen-set (memory stays flat)."""
        self._unpruned = 0
        ceiling = min([self.started, *self.unapplied]) if self.started else None
        candidates = [u for _, _, u in self.applied if ceiling is None or u <= ceiling]
        if candidates:
            keep_from = max(candidates) - self.overlap
            self.applied = [a for a in self.applied if a[2] >= keep_from]
