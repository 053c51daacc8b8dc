"""Jira search lagging 120 s behind writes (Jira Cloud's worst case, and the config default), without
waiting 120 s: time is a `FakeTime` that the sandbox's index, the Jira connector's waits and every
clock (platforms' and the engine's) share; a wait advances it instantly.

While the lag hides the issues just created (and a human's edit), cycles create nothing twice and
lose nothing; a create whose answer is lost is looked up until the lag has passed (found when the
index shows it), not created again.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from itsm_bridge import runner
from itsm_bridge.connectors import build
from itsm_bridge.sandbox.jira import store as jira_store
from itsm_bridge.sync.engine import Engine
from tests.reliability import edits
from tests.reliability.edits import jira_key
from tests.reliability.invariants import divergence, duplicates
from tests.reliability.schedule import Result, Schedule, World, compressed_backoff, environment, sync_once

LAG_S = 120.0


class FakeTime:
    """Real time plus `extra` seconds; sleeping adds to `extra` at once. Every platform clock is
    skewed by `extra`, so timestamps, the index's lag and the engine's now move together."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.extra = 0.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.extra

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.extra)

    def sleep(self, seconds: float) -> None:
        self.slept += max(seconds, 0.0)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.extra += max(seconds, 0.0)
        for platform in self.world.sandbox.platforms.values():
            platform.clock.skew = timedelta(seconds=self.extra)


@pytest.fixture
def lagging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, FakeTime]]:
    schedule = Schedule.from_seed(7).clean()
    schedule = replace(schedule.variant("UTC", {p: timedelta(0) for p in schedule.skew}), search_lag_s=LAG_S)
    world = World(tmp_path, schedule)
    text = world.config_path.read_text()
    world.config_path.write_text(text.replace(f"search_lag_s = {LAG_S + 1.0}", f"search_lag_s = {LAG_S}"))
    assert f"search_lag_s = {LAG_S}\n" in world.config_path.read_text()
    fake = FakeTime(world)
    monkeypatch.setattr(jira_store, "time", SimpleNamespace(monotonic=fake.monotonic))

    def connectors(config: Any) -> dict[str, Any]:
        sync = config.settings.sync
        return {
            p: build(p, config, sleep=fake.sleep, clock=fake.monotonic) if p == "jira" else build(p, config)
            for p in dict.fromkeys([sync.source, *sync.targets])
        }

    monkeypatch.setattr(runner, "build_all", connectors)
    monkeypatch.setattr(runner, "Engine", functools.partial(Engine, now=fake.now))
    try:
        with environment(world.env), compressed_backoff():
            world.incidents = edits.seed_incidents(world.sandbox, random.Random(7), 3)
            yield world, fake
    finally:
        world.close()


def jira_creates(world: World) -> int:
    """Issues asked for: one per `POST issue`, one per element of a `POST issue/bulk`."""
    asked = 0
    for c in world.sandbox.calls("jira"):
        if c.method == "POST" and c.path.endswith("/issue"):
            asked += 1
        elif c.method == "POST" and c.path.endswith("/issue/bulk"):
            asked += len(json.loads(c.body).get("issueUpdates") or [])
    return asked


def test_while_a_120_s_lag_hides_new_issues_and_an_edit_no_cycle_creates_twice_or_loses_the_edit(lagging) -> None:
    world, fake = lagging
    sb, result = world.sandbox, Result(world.schedule)
    started = time.monotonic()
    assert sync_once(world, result)
    assert jira_creates(world) == 3
    assert sb.jira.issues() and not _searchable(world), "the lag should hide the new issues from search"
    for _ in range(3):  # cycles inside the lag window: the store's links stand in for the index
        fake.advance(20)
        assert sync_once(world, result)
    assert jira_creates(world) == 3
    number = sb.servicenow.incident(world.incidents[0])["number"]
    key = jira_key(sb, number)
    assert key is not None
    sb.jira.edit_issue(key, {"summary": "Renamed in Jira while search lags"})
    fake.advance(30)
    assert sync_once(world, result)
    assert sb.servicenow.incident(world.incidents[0])["short_description"] != "Renamed in Jira while search lags", (
        "the edit should still be hidden by the lag"
    )
    fake.advance(LAG_S)
    assert sync_once(world, result)
    assert sb.servicenow.incident(world.incidents[0])["short_description"] == "Renamed in Jira while search lags"
    fake.advance(LAG_S)
    assert sync_once(world, result)
    assert duplicates(world) == [] and divergence(world) == []
    assert jira_creates(world) == 3
    assert time.monotonic() - started < 60, "the 120 s lag was waited for in real time"


@pytest.mark.parametrize("create", [r"/issue$", r"/issue/bulk$"], ids=["single", "bulk"])
def test_a_create_whose_answer_is_lost_under_a_120_s_lag_is_found_not_created_again(lagging, create: str) -> None:
    world, fake = lagging
    world.sandbox.jira.faults.inject("drop_after_commit", count=1, method="POST", path=create)
    started = time.monotonic()
    assert sync_once(world, Result(world.schedule))
    assert world.sandbox.jira.faults.injected["drop_after_commit"] == 1
    assert jira_creates(world) == 3
    assert LAG_S * 0.9 <= fake.slept, f"looked up for {fake.slept:.0f} s only: the lag was not waited out"
    fake.advance(LAG_S)
    assert sync_once(world, Result(world.schedule))
    assert duplicates(world) == [] and divergence(world) == []
    assert time.monotonic() - started < 60


def _searchable(world: World) -> list[str]:
    """Issue keys Jira search shows now (as the index sees them)."""
    from itsm_bridge.sandbox.jira import jql

    with world.sandbox.jira.lock:
        return [r.get("key", "") for r in world.sandbox.jira.store.search(jql.parse("project = OPS"), set())]
