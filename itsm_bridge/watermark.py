"""Watermarks for incremental reads: an overlap window plus a seen-set at the boundary.

Vendors order changes by a timestamp of limited precision (ServiceNow: seconds; Jira JQL:
minutes), and a page edge can fall between records sharing one instant. So a read starts
`overlap` before the watermark, and records already applied at their current version (the
seen-set) are skipped: nothing is lost, nothing is read twice into a write.

The watermark moves only past records that were fully applied, and never past the start of the
run, so a record changed while the run was going is read again next time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from itsm_bridge.model import ensure_utc
from itsm_bridge.store.base import Cursor


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
