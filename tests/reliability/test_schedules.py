"""Seeded fault schedules over the sandbox; after each, invariants 1, 2, 5 and the leak canaries
(see invariants.py), and for some seeds 6 (zone and skew invariance) and 9 (faulty == clean)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.reliability.invariants import problems
from tests.reliability.schedule import ZONES, Schedule, final_state, run_schedule

# 18 here and 3 in test_status_pages.py (one on Statuspage, two on Cachet) make the fast subset's
# "about 20 schedules"; the rest run with --run-slow and in bench/reliability.py.
FAST = range(18)
SLOW = range(18, 60)


def played(schedule: Schedule, workdir: Path) -> tuple[dict[str, list[str]], dict]:
    world, result = run_schedule(schedule, workdir)
    try:
        return problems(world, result), final_state(world)
    finally:
        world.close()


def assert_holds(found: dict[str, list[str]], schedule: Schedule) -> None:
    broken = {name: p for name, p in found.items() if p}
    assert not broken, f"seed {schedule.seed} ({schedule.zone}, faults={schedule.faulty}): {broken}"


@pytest.mark.parametrize("seed", list(FAST))
def test_a_fault_schedule_duplicates_loses_echoes_and_leaks_nothing(seed: int, tmp_path: Path) -> None:
    schedule = Schedule.from_seed(seed)
    found, _ = played(schedule, tmp_path)
    assert_holds(found, schedule)


@pytest.mark.slow
@pytest.mark.parametrize("seed", list(SLOW))
def test_more_fault_schedules_keep_every_invariant(seed: int, tmp_path: Path) -> None:
    schedule = Schedule.from_seed(seed)
    found, _ = played(schedule, tmp_path)
    assert_holds(found, schedule)


@pytest.mark.parametrize("seed", [102, pytest.param(101, marks=pytest.mark.slow)])
def test_a_faulty_run_ends_as_the_clean_run_of_the_same_seed(seed: int, tmp_path: Path) -> None:
    schedule = Schedule.from_seed(seed)
    faulty, faulty_state = played(schedule, tmp_path / "faulty")
    clean, clean_state = played(schedule.clean(), tmp_path / "clean")
    assert_holds(faulty, schedule)
    assert_holds(clean, schedule.clean())
    assert faulty_state == clean_state


def test_outcomes_are_identical_across_zones_and_platform_clock_skews(tmp_path: Path) -> None:
    base = Schedule.from_seed(104).clean()
    states = []
    for n, zone in enumerate(ZONES):
        sign = (-1) ** n
        skew = {p: timedelta(minutes=sign * 10 * (1 if i % 2 else -1)) for i, p in enumerate(base.skew)}
        found, state = played(base.variant(zone, skew), tmp_path / zone.replace("/", "_"))
        assert_holds(found, base)
        states.append(state)
    assert states[0] == states[1] == states[2]
