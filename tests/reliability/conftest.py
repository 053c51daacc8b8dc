"""A World (sandbox + config) with no faults, for the targeted reliability tests."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.reliability import edits
from tests.reliability.schedule import Schedule, World, compressed_backoff, environment


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    schedule = Schedule.from_seed(7).clean()
    schedule = schedule.variant("UTC", {p: timedelta(0) for p in schedule.skew})
    w = World(tmp_path, schedule)
    try:
        with environment(w.env), compressed_backoff():
            w.incidents = edits.seed_incidents(w.sandbox, random.Random(7), 3)
            yield w
    finally:
        w.close()
