"""A fault schedule: one seed decides the faults, skews, zone, search lag and human edits of a run.

`Schedule.from_seed(seed)` is pure (the same seed gives the same schedule); `World` is the sandbox
plus a config pointing at it; `run_schedule` plays a schedule on a World and returns what the
invariant checks need. Syncs run in this process through `runner.sync` (the CLI's own path) with
the process time zone switched for the schedule and restored after, so 20 schedules fit in CI.
"""

from __future__ import annotations

import io
import logging
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from itsm_bridge import config as config_module
from itsm_bridge import http as http_module
from itsm_bridge import log as log_module
from itsm_bridge import runner
from itsm_bridge.errors import BridgeError
from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.config_writer import write_config
from itsm_bridge.sandbox.core import Platform
from itsm_bridge.sandbox.faults import FAULT_KINDS, FaultProfile
from itsm_bridge.store import open_from_config
from tests.reliability import edits as edits_module

ZONES = ("UTC", "America/Los_Angeles", "Australia/Lord_Howe")
PLATFORMS = ("servicenow", "jira", "statuspage")
READ_POSTS = ("/rest/api/3/search/jql", "/rest/api/3/search/approximate-count", "/rest/api/3/issue/bulkfetch")
CANARY_DESCRIPTION = "CANARY-internal-description-7f3a"  # internal text: never on a public page


@dataclass(frozen=True)
class Schedule:
    """Everything a seed decides. `faulty=False` gives the clean twin of the same schedule."""

    seed: int
    profiles: dict[str, FaultProfile]
    skew: dict[str, timedelta]
    zone: str
    search_lag_s: float
    throttle_420: bool
    incidents: int
    rounds: int
    faulty: bool = True

    @classmethod
    def from_seed(cls, seed: int) -> Schedule:
        rng = random.Random(seed)
        profiles = {p: _profile(rng) for p in PLATFORMS}
        skew = {p: timedelta(seconds=rng.randint(-600, 600)) for p in PLATFORMS}
        return cls(
            seed=seed,
            profiles=profiles,
            skew=skew,
            zone=rng.choice(ZONES),
            search_lag_s=round(rng.uniform(0.0, 0.6), 2),
            throttle_420=rng.random() < 0.5,
            incidents=rng.randint(3, 6),
            rounds=rng.randint(2, 3),
        )

    def clean(self) -> Schedule:
        """The same seed (same edits) with no faults."""
        return replace(self, faulty=False)

    def variant(self, zone: str, skew: dict[str, timedelta]) -> Schedule:
        """The same edits under another process zone and other platform clocks."""
        return replace(self, zone=zone, skew=skew)


def _profile(rng: random.Random) -> FaultProfile:
    """Low rates: every kind shows up across 20 schedules while one schedule stays a few seconds.
    A timeout either drops before the client gives up (0.3 s) or outlasts its 1 s timeout."""
    return FaultProfile(
        latency_ms=rng.choice([0.0, 0.0, 2.0, 10.0]),
        error_5xx=rng.choice([0.0, 0.02, 0.05]),
        rate_429=rng.choice([0.0, 0.0, 0.01, 0.02]),
        storm_length=rng.randint(1, 2),
        reset=rng.choice([0.0, 0.01, 0.03]),
        timeout=rng.choice([0.0, 0.0, 0.01]),
        drop_after_commit=rng.choice([0.0, 0.05, 0.15]),
        timeout_s=rng.choice([0.3, 1.3]),
        retry_after_s=1.0,
    )


@dataclass
class Result:
    """What a played schedule leaves for the checks (and the bench table)."""

    schedule: Schedule
    cycles: int = 0
    failed_cycles: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=lambda: {k: 0 for k in FAULT_KINDS})
    log_text: str = ""
    edits: list[edits_module.Edit] = field(default_factory=list)
    quiet_writes: int = -1  # writes of the cycle after convergence; must be 0
    quiet_cycles_needed: int = -1


class World:
    """A started sandbox and a config for it (speed settings as in tests/integration/conftest.py)."""

    def __init__(self, workdir: Path, schedule: Schedule, provider: str = "statuspage") -> None:
        self.schedule = schedule
        self.provider = provider
        self.sandbox = Sandbox(seed=schedule.seed % 1000)
        self.sandbox.jira.search_lag_s = schedule.search_lag_s
        self.sandbox.statuspage.rate_limit = (60000, 60.0)
        if schedule.throttle_420:
            self.sandbox.statuspage.throttle_status = 420
        self.sandbox.start()
        for name, skew in schedule.skew.items():
            self.platform(name).clock.skew = skew
        info = self.sandbox.info()
        self.env = dict(info["env"])
        path = write_config(info, workdir / "bridge.toml", provider)
        text = path.read_text().replace("requests_per_second = 1.0", "requests_per_second = 500.0")
        lag = f"search_lag_s = {schedule.search_lag_s + 1.0}\ntimeout_s = 1.0\nrequests_per_second = 500.0"
        text = text.replace("search_lag_s = 10.0", lag)
        text = text.replace("page_size = 1000", "page_size = 1000\ntimeout_s = 1.0\nrequests_per_second = 500.0")
        path.write_text(text)
        self.config_path = path
        self.incidents: list[str] = []  # ServiceNow sys_ids
        self.delayed = 0  # calls answered with the schedule's latency added
        self._calls_at: dict[str, int] = {}

    @property
    def config(self) -> config_module.Config:
        return config_module.load(self.config_path)

    def platform(self, name: str) -> Platform:
        """The sandbox platform playing `name` of the schedule ("statuspage" is the page provider)."""
        return self.sandbox.platforms[self.provider if name == "statuspage" else name]

    def page_links(self) -> dict[str, str] | None:
        """Cachet keeps no metadata: which page incident is whose is known only to the store."""
        if self.provider != "cachet":
            return None
        store = open_from_config(self.config)
        try:
            return {key: ref.id for key, ref in store.all_links() if ref.platform == "statuspage"}
        finally:
            store.close()

    def faults_on(self, on: bool) -> None:
        for offset, name in enumerate(PLATFORMS):
            platform = self.platform(name)
            slow = platform.faults.profile.latency_ms > 0  # latency delays every call: count them
            if slow and name in self._calls_at:
                self.delayed += len(platform.call_log.calls()) - self._calls_at.pop(name)
            if on and self.schedule.faulty:
                platform.faults.set_profile(self.schedule.profiles[name], seed=self.schedule.seed * 7 + offset)
                self._calls_at[name] = len(platform.call_log.calls())
            else:
                platform.faults.set_profile(FaultProfile())

    def injected(self) -> dict[str, int]:
        total = {k: 0 for k in FAULT_KINDS}
        for p in self.sandbox.platforms.values():
            for kind, n in p.faults.injected.items():
                total[kind] += n
        total["latency"] += self.delayed  # the sandbox applies latency without counting it
        return total

    def writes(self) -> int:
        return sum(
            1
            for c in self.sandbox.calls()
            if c.method in ("POST", "PUT", "PATCH", "DELETE") and c.path not in READ_POSTS
        )

    def wait_search_lag(self) -> None:
        """Let Jira's index catch up with the last writes: the lag is time passing, not an event."""
        time.sleep(self.sandbox.jira.search_lag_s + 0.05)

    def close(self) -> None:
        self.sandbox.stop()


@contextmanager
def process_zone(zone: str) -> Iterator[None]:
    """Run with the process time zone set to `zone`, restored after."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def compressed_backoff(factor: float = 0.05) -> Iterator[None]:
    """Shorten the backoff used when a vendor gives no Retry-After (5xx, resets, search polling).
    A Retry-After is still honoured in full: that is what the storm checks look at."""
    original = http_module.Backoff.delay

    def delay(self: http_module.Backoff, attempt: int) -> float:
        return original(self, attempt) * factor

    http_module.Backoff.delay = delay  # type: ignore[method-assign]
    try:
        yield
    finally:
        http_module.Backoff.delay = original  # type: ignore[method-assign]


@contextmanager
def uncompressed_backoff() -> Iterator[None]:
    """The product's real backoff, inside a `compressed_backoff` block (for timing checks)."""
    compressed = http_module.Backoff.delay
    http_module.Backoff.delay = _REAL_DELAY  # type: ignore[method-assign]
    try:
        yield
    finally:
        http_module.Backoff.delay = compressed  # type: ignore[method-assign]


_REAL_DELAY = http_module.Backoff.delay


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """The product's own log pipeline at debug level, JSON lines, into a buffer."""
    buffer = io.StringIO()
    root = logging.getLogger("itsm_bridge")
    saved = (root.handlers[:], root.level, root.propagate)
    handler = logging.StreamHandler(buffer)
    handler.addFilter(log_module.RedactingFilter())
    handler.setFormatter(log_module.JsonFormatter())
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    root.propagate = False
    try:
        yield buffer
    finally:
        root.handlers[:], level, root.propagate = saved[0], saved[1], saved[2]
        root.setLevel(level)


def sync_once(world: World, result: Result) -> bool:
    """One cycle through the CLI's code path; True when it applied everything it planned."""
    result.cycles += 1
    try:
        summary, _ = runner.sync(world.config)
    except BridgeError as exc:
        result.failed_cycles.append(f"{type(exc).__name__}: {exc}")
        return False
    if summary.failed or summary.quarantined:
        result.failed_cycles.append(f"{summary.failed} failed, {summary.quarantined} quarantined: {summary.errors[:2]}")
        return False
    return True


def sync_until_clean(world: World, result: Result, attempts: int = 6) -> None:
    """Under faults a cycle may fail part of its writes; the next one picks them up."""
    for _ in range(attempts):
        if sync_once(world, result):
            return
        world.wait_search_lag()
    raise AssertionError(f"seed {world.schedule.seed}: no clean cycle in {attempts}: {result.failed_cycles[-3:]}")


def run_schedule(schedule: Schedule, workdir: Path, provider: str = "statuspage") -> tuple[World, Result]:
    """Play `schedule`: seed incidents, sync, then rounds of human edits each followed by syncs
    under faults, then quiet cycles without faults until converged (at most 2), then one more
    quiet cycle whose writes are counted. The World is returned still running; close it."""
    workdir.mkdir(parents=True, exist_ok=True)
    world = World(workdir, schedule, provider)
    result = Result(schedule)
    rng = random.Random(schedule.seed * 31 + 1)
    try:
        with process_zone(schedule.zone), environment(world.env), compressed_backoff(), captured_logs() as logs:
            world.incidents = edits_module.seed_incidents(world.sandbox, rng, schedule.incidents)
            world.faults_on(True)
            sync_until_clean(world, result)
            for round_no in range(schedule.rounds):
                world.wait_search_lag()
                result.edits += edits_module.human_round(world.sandbox, world.incidents, rng, round_no)
                world.wait_search_lag()
                sync_until_clean(world, result)
            world.faults_on(False)
            result.quiet_cycles_needed = _quiet_until_converged(world, result)
            world.wait_search_lag()
            before = world.writes()
            assert sync_once(world, result), result.failed_cycles[-1:]
            result.quiet_writes = world.writes() - before
            result.log_text = logs.getvalue()
    except BaseException:
        world.close()
        raise
    result.faults = world.injected()
    return world, result


def _quiet_until_converged(world: World, result: Result) -> int:
    from tests.reliability.invariants import divergence

    for n in range(1, 3):
        world.wait_search_lag()
        assert sync_once(world, result), result.failed_cycles[-1:]
        if not divergence(world):
            return n
    return 3  # not converged within 2 quiet cycles: the convergence check reports what differs


def final_state(world: World) -> dict[str, Any]:
    """Every side's final values per incident, without ids or times: runs of one seed compare equal."""
    return edits_module.normalized(world.sandbox, world.incidents, world.page_links())
