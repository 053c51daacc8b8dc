"""A read keeps in memory only the applied records its cursor may still need (flat memory at 100k),
and the cursor it yields is exactly the one the whole list would have given."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from itsm_bridge.sync.cursor import PRUNE_EVERY, ReadProgress
from itsm_bridge.watermark import Watermark


def test_pruning_keeps_the_list_short_and_the_next_cursor_the_same():
    rng = random.Random(5)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    started = start + timedelta(hours=10)
    overlap = timedelta(seconds=60)
    pruned = ReadProgress(Watermark(), started, overlap)
    everything: list[tuple[str, str, datetime]] = []
    unapplied: list[datetime] = []
    at = start
    for i in range(3 * PRUNE_EVERY):
        at += timedelta(seconds=rng.choice([0, 0, 1, 2]))  # oldest first, many sharing a second
        if i == 2 * PRUNE_EVERY + 17:  # one failure late in the read holds the cursor back
            pruned.unapplied.append(at)
            unapplied.append(at)
            continue
        pruned.took(f"id{i}", "1", at)
        everything.append((f"id{i}", "1", at))
    assert len(pruned.applied) < PRUNE_EVERY + 200  # not 15,000
    whole = Watermark().advance(everything, unapplied, started, overlap)
    assert Watermark().advance(pruned.applied, pruned.unapplied, started, overlap) == whole
    assert whole.value is not None and whole.seen  # a real window, not an empty one
