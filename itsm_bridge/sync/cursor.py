"""A run's bookkeeping of one platform's read: what was read, and which records may move its
cursor (the `Watermark`, in `itsm_bridge.watermark`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from itsm_bridge.watermark import Watermark

PRUNE_EVERY = 5000  # applied records between two prunings of a read's list


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
