"""Both status-page providers under faults: internal text and live markup never reach the public
page (the public-leak canaries), and a page incident whose create answer is lost is not published
twice. The schedules of test_schedules.py publish to Statuspage; these play them on Cachet too.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.reliability import edits
from tests.reliability.invariants import duplicates, problems, public_texts
from tests.reliability.schedule import (
    Result,
    Schedule,
    World,
    compressed_backoff,
    environment,
    run_schedule,
    sync_until_clean,
)


@pytest.mark.parametrize("provider", ["statuspage", "cachet"])
def test_a_page_incident_whose_create_answer_is_lost_is_published_once(provider: str, tmp_path: Path) -> None:
    schedule = Schedule.from_seed(7).clean()
    schedule = replace(schedule.variant("UTC", {p: timedelta(0) for p in schedule.skew}), search_lag_s=0.1)
    tmp_path.mkdir(exist_ok=True)
    world = World(tmp_path, schedule, provider)
    try:
        with environment(world.env), compressed_backoff():
            world.incidents = edits.seed_incidents(world.sandbox, random.Random(7), 3)
            world.sandbox.servicenow.update_incident(
                world.incidents[0], {"impact": "1", "urgency": "1"}
            )  # P1: published
            world.platform("statuspage").faults.inject("drop_after_commit", count=1, method="POST", path=r"incidents$")
            result = Result(schedule)
            sync_until_clean(world, result)
            world.wait_search_lag()
            sync_until_clean(world, result)
        assert world.platform("statuspage").faults.injected["drop_after_commit"] == 1
        assert duplicates(world) == []
    finally:
        world.close()


# Seed 3 loses answers on the page too (Cachet's lost create is recognised by content); seed 7
# publishes the markup title. bench/reliability.py --provider both plays every seed on one or other.
SCHEDULES = [("statuspage", 3), ("cachet", 3), ("cachet", 7)]
SLOW_SCHEDULES = [("cachet", seed) for seed in (11, 17, 21, 23, 25, 33, 41, 57, 63, 67)]


def assert_schedule_holds(provider: str, seed: int, workdir: Path, published_at_least: int = 0) -> None:
    world, result = run_schedule(Schedule.from_seed(seed), workdir, provider)
    try:
        published = public_texts(world)
        found = problems(world, result)
    finally:
        world.close()
    assert len(published) >= published_at_least, "too little was published for the public-leak canaries to prove much"
    assert not any(found.values()), f"seed {seed} on {provider}: { {k: v for k, v in found.items() if v} }"


@pytest.mark.parametrize(("provider", "seed"), SCHEDULES)
def test_a_fault_schedule_on_either_page_provider_leaks_nothing_public_and_keeps_every_invariant(
    provider: str, seed: int, tmp_path: Path
) -> None:
    # Seed 3: 5xx, resets and lost answers on every platform, Statuspage's included.
    assert_schedule_holds(provider, seed, tmp_path, published_at_least=2)


@pytest.mark.slow
@pytest.mark.parametrize(("provider", "seed"), SLOW_SCHEDULES)
def test_more_fault_schedules_on_cachet_keep_every_invariant(provider: str, seed: int, tmp_path: Path) -> None:
    assert_schedule_holds(provider, seed, tmp_path)
