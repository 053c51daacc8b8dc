"""Invariant 6 across a DST change: the same edits, synced while the clocks cross a daylight-saving
transition of the process time zone (America/Los_Angeles: an hour; Australia/Lord_Howe: half an
hour), end exactly as the same edits synced in UTC, with every invariant holding on the way.

Every clock is shifted to the transition (minus 35 minutes) and then jumps 20 minutes forward
between rounds of edits, so records, cursors and JQL bounds fall on both sides of it, in the
repeated (or skipped) local hour: the platforms' clocks (their skew) and the engine's own (its
`now`, which caps the cursors). The transitions are found with zoneinfo, not written down.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from itsm_bridge import runner
from itsm_bridge.store import open_from_config
from itsm_bridge.sync.engine import Engine
from tests.reliability import edits
from tests.reliability.invariants import divergence, duplicates, lost_updates
from tests.reliability.schedule import (
    Result,
    Schedule,
    World,
    compressed_backoff,
    environment,
    final_state,
    process_zone,
    sync_once,
    sync_until_clean,
)

SEED = 104
STEP = timedelta(minutes=20)


def transitions(zone: str, year: int) -> Iterator[tuple[datetime, str]]:
    """(UTC instant, "spring forward" | "fall back") of each offset change of `zone` in `year`."""
    tz = ZoneInfo(zone)
    at = datetime(year, 1, 1, tzinfo=UTC)
    before = at.astimezone(tz).utcoffset()
    while at.year == year:
        at += timedelta(minutes=30)
        after = at.astimezone(tz).utcoffset()
        if after != before:
            assert after is not None and before is not None
            yield at, "spring forward" if after > before else "fall back"
        before = after


def transition(zone: str, kind: str) -> datetime:
    year = datetime.now(UTC).year - 1  # a whole past year: every shifted clock stays behind real time
    return next(at for at, k in transitions(zone, year) if k == kind)


class Shift:
    """Every clock of the world moved by `offset`: the platforms' (skew) and the engine's (now)."""

    def __init__(self, world: World, at: datetime) -> None:
        self.world = world
        self.offset = timedelta(0)
        self.move_to(at)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move_to(self, at: datetime) -> None:
        self.offset = at - datetime.now(UTC)
        for platform in self.world.sandbox.platforms.values():
            platform.clock.skew = self.offset


def play_across(
    at: datetime, zone: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Seed, sync, then four rounds of edits each 20 minutes later, across `at`; quiet cycles."""
    schedule = Schedule.from_seed(SEED).clean()
    schedule = replace(schedule.variant(zone, {p: timedelta(0) for p in schedule.skew}), search_lag_s=0.1)
    workdir.mkdir(parents=True)
    world = World(workdir, schedule)
    result = Result(schedule)
    rng = random.Random(SEED)
    try:
        shift = Shift(world, at - timedelta(minutes=35))
        monkeypatch.setattr(runner, "Engine", functools.partial(Engine, now=shift.now))
        with process_zone(zone), environment(world.env), compressed_backoff():
            world.incidents = edits.seed_incidents(world.sandbox, rng, 5)
            sync_until_clean(world, result)
            for round_no in range(4):
                shift.move_to(shift.now() + STEP)
                world.wait_search_lag()
                result.edits += edits.human_round(world.sandbox, world.incidents, rng, round_no)
                world.wait_search_lag()
                sync_until_clean(world, result)
            for _ in range(2):
                world.wait_search_lag()
                assert sync_once(world, result), result.failed_cycles[-1:]
            world.wait_search_lag()
            before = world.writes()
            assert sync_once(world, result), result.failed_cycles[-1:]
            found = {
                "duplicates": duplicates(world),
                "divergence": divergence(world),
                "lost_updates": lost_updates(world, result),
                "echo_writes": [f"{world.writes() - before} write(s) in a quiet cycle"]
                if world.writes() != before
                else [],
                "cursor": cursor_behind_newest(world),
            }
            return final_state(world), found
    finally:
        world.close()


def cursor_behind_newest(world: World) -> list[str]:
    """Once quiet, the ServiceNow cursor is the newest change's `sys_updated_on`, read as UTC: in
    any process zone, on either side of the transition (not hours off, not stuck before it)."""
    # Parsed here, not with the connector's parser: that is what is under test.
    newest = max(
        datetime.strptime(i["sys_updated_on"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        for i in world.sandbox.servicenow.incidents()
    )
    store = open_from_config(world.config)
    try:
        cursor = store.cursor("servicenow")
    finally:
        store.close()
    value = datetime.fromisoformat(cursor.value) if cursor and cursor.value else None
    return [] if value == newest else [f"ServiceNow cursor {value}, newest change {newest}"]


def assert_same_outcome_as_utc(zone: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = transition(zone, kind)
    states = {}
    for played_in in ("UTC", zone):
        state, found = play_across(at, played_in, tmp_path / played_in.replace("/", "_"), monkeypatch)
        assert not any(found.values()), f"{played_in} across {zone}'s {kind} at {at}: {found}"
        states[played_in] = state
    assert states[zone] == states["UTC"]


@pytest.mark.parametrize(("zone", "kind"), [("America/Los_Angeles", "fall back"), ("Australia/Lord_Howe", "fall back")])
def test_syncing_across_a_dst_change_of_the_process_zone_ends_as_in_utc(
    zone: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same_outcome_as_utc(zone, kind, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("zone", "kind"), [("America/Los_Angeles", "spring forward"), ("Australia/Lord_Howe", "spring forward")]
)
def test_syncing_across_a_spring_forward_of_the_process_zone_ends_as_in_utc(
    zone: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same_outcome_as_utc(zone, kind, tmp_path, monkeypatch)


def test_the_transitions_played_are_the_ones_meant() -> None:
    la_back, lh_back = transition("America/Los_Angeles", "fall back"), transition("Australia/Lord_Howe", "fall back")
    after, before = (
        la_back.astimezone(ZoneInfo("America/Los_Angeles")),
        (la_back - timedelta(minutes=1)).astimezone(ZoneInfo("America/Los_Angeles")),
    )
    assert (before.utcoffset() or timedelta(0)) - (after.utcoffset() or timedelta(0)) == timedelta(hours=1)
    lh = ZoneInfo("Australia/Lord_Howe")
    assert ((lh_back - timedelta(minutes=1)).astimezone(lh).utcoffset() or timedelta(0)) - (
        lh_back.astimezone(lh).utcoffset() or timedelta(0)
    ) == timedelta(minutes=30)
