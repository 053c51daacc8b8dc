"""SIGINT and SIGTERM during a run: no new record or request after the signal, the requests in
flight finish and are journaled, the run is recorded as interrupted, the lock is released once
every worker (the status page's too) has stopped, and the exit code is 130 or 143. A rerun
converges with nothing doubled. Through the CLI, against the sandbox with latency."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from itsm_bridge.config_view import render_toml
from itsm_bridge.correlation import label_for
from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.config_writer import sandbox_config
from itsm_bridge.sandbox.faults import FaultProfile
from tests.cli.conftest import ROOT, in_process

N = 24
TIMEOUT_S = 3.0  # every request's timeout: the exit may wait for one in flight
READ_POSTS = ("/rest/api/3/search/jql", "/rest/api/3/issue/bulkfetch")
# The signal counts from when the run says it has it (its notice on stderr, read here as it comes):
# a loaded machine may run the handler long after the kill, and the run may send requests until
# then. A request sent just before the notice may reach the sandbox's handler just after it, both
# woken in this process in that order: a few milliseconds apart, not the time the run took.
SLACK = timedelta(seconds=0.5)
# After the signal a run waits for its requests in flight (TIMEOUT_S at most), then journals their
# outcomes and the run, closes the store and exits: CPU work, which took 9 s of wall time when the
# two cores ran 30 processes (the former bound, 5 s past TIMEOUT_S, then failed). That the run
# stopped is shown by what reached the sandbox (no write began after the signal, pages left
# unpublished), which no load blurs; this bound only catches a hang.
STOPS_WITHIN_S = TIMEOUT_S + 20


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Sandbox, Path, dict[str, str]]]:
    """A sandbox answering every request 40 ms late, N incidents that all go to the status page
    (P1/P2), and a config whose page takes 5 requests a second: its workers have a queue."""
    sb = Sandbox(seed=21)
    sb.jira.search_lag_s = 0.2
    with sb:
        for platform in sb.platforms.values():
            platform.faults.set_profile(FaultProfile(latency_ms=40))
        ci = sb.servicenow.add_reference("cmdb_ci", "Email")
        for i in range(N):
            sb.servicenow.insert_incident(
                {
                    "short_description": f"Mail relay {i} down",
                    "category": "software",
                    "cmdb_ci": ci,
                    "impact": "1",
                    "urgency": str(1 + i % 2),
                    "state": "2",
                }
            )
        info = sb.info()
        data = sandbox_config(info, tmp_path / "state.sqlite")
        for section, rate in (("servicenow", 200.0), ("jira", 200.0), ("statuspage", 5.0)):
            data[section].update(timeout_s=TIMEOUT_S, requests_per_second=rate)
        data["jira"]["search_lag_s"] = 0.3
        config = tmp_path / "bridge.toml"
        config.write_text(render_toml(data), encoding="utf-8")
        yield sb, config, {**os.environ, **info["env"]}


class Run:
    """One CLI process whose output is read as it comes: `stopping` is set (and `stopped_at`
    stamped) when it says it has the signal."""

    def __init__(self, config: Path, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(config), *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stopping = threading.Event()
        self.stopped_at = datetime.max.replace(tzinfo=UTC)
        self._out: list[str] = []
        self._err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self._out, False), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self._err, True), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, into: list[str], notices: bool) -> None:
        for line in stream:
            if notices and ": stopping: " in line and not self.stopping.is_set():
                self.stopped_at = datetime.now(UTC)
                self.stopping.set()
            into.append(line)

    def running(self) -> bool:
        return self.proc.poll() is None

    def finish(self, timeout: float) -> tuple[str, str]:
        """Its stdout and stderr once it has exited (a hang fails after `timeout` s)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return "".join(self._out), "".join(self._err)

    def signal(self, signum: int) -> None:
        """Send `signum` and wait until the run says it has it."""
        self.proc.send_signal(signum)
        assert self.stopping.wait(60), f"the run never said it had the signal: {''.join(self._err)}"


def start(config: Path, env: dict[str, str], *args: str) -> Run:
    return Run(config, env, *args)


def writes(sb: Sandbox) -> list[Any]:
    return [c for c in sb.calls() if c.method in ("POST", "PUT", "PATCH", "DELETE") and c.path not in READ_POSTS]


def page_writes(sb: Sandbox) -> list[Any]:
    return [c for c in writes(sb) if c.platform == "statuspage"]


def began(call: Any) -> datetime:
    return datetime.fromisoformat(call.at) - timedelta(milliseconds=call.duration_ms)


def signal_once_pages_are_being_written(run: Run, sb: Sandbox, signum: int) -> datetime:
    """The time the run said it had the signal."""
    deadline = time.monotonic() + 60
    while len(page_writes(sb)) < 3:
        assert run.running(), run.finish(10)
        assert time.monotonic() < deadline, "the run never published"
        time.sleep(0.02)
    run.signal(signum)
    return run.stopped_at


def unhurried(config: Path) -> Path:
    """The same config with the page's budget raised: the rerun need not take seconds to publish."""
    faster = config.with_name("rerun.toml")
    faster.write_text(config.read_text().replace("requests_per_second = 5.0", "requests_per_second = 200.0"))
    return faster


def patient_page(config: Path) -> Path:
    """The same config with a page request timeout past any wait here: a write the sandbox holds
    stays in flight until it is let go."""
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    data["statuspage"]["timeout_s"] = 120.0
    patient = config.with_name("patient.toml")
    patient.write_text(render_toml(data), encoding="utf-8")
    return patient


def assert_converged(sb: Sandbox) -> None:
    """One Jira issue and one page incident per incident: nothing doubled, nothing lost."""
    issues, pages = sb.jira.issues(), sb.statuspage.incidents()
    for incident in sb.servicenow.incidents():
        number = incident["number"]
        assert len([i for i in issues if label_for(number) in i["fields"].get("labels", [])]) == 1, number
        assert len([p for p in pages if (p.get("metadata") or {}).get("itsm_bridge", {}).get("key") == number]) == 1, (
            number
        )
    assert len(issues) == len(pages) == N


def test_sigterm_mid_sync_stops_cleanly_records_the_run_and_a_rerun_converges(
    world: tuple[Sandbox, Path, dict[str, str]],
) -> None:
    sb, config, env = world
    run = start(config, env, "sync")
    sent = signal_once_pages_are_being_written(run, sb, signal.SIGTERM)
    out, err = run.finish(timeout=60)
    took = (datetime.now(UTC) - sent).total_seconds()

    assert run.proc.returncode == 143, err
    assert took < STOPS_WITHIN_S, took
    late = [(c.method, c.path, began(c)) for c in writes(sb) if began(c) > sent + SLACK]
    assert late == [], f"writes began after the signal at {sent}: {late}"
    assert "INTERRUPTED by SIGTERM" in out and "Traceback" not in err
    assert len(pages := sb.statuspage.incidents()) < N, "the run was not cut short: signal it earlier"

    status = json.loads(in_process(config, env, "--json", "status").stdout)
    last = status["last_run"]
    assert last["interrupted"] == "SIGTERM" and last["published"] == len(pages) and last["created"] == N
    assert last["unfinished"] > 0 and status["open_intents"] == 0  # every request in flight was journaled
    shown = in_process(config, env, "status").stdout
    assert "Last run INTERRUPTED by SIGTERM" in shown
    journal = in_process(config, env, "journal", "show", "--last", "1").stdout
    assert f"interrupted by SIGTERM: created {N}" in journal

    rerun = start(config, env.copy(), "sync", "--config", str(unhurried(config)))
    _, err = rerun.finish(timeout=120)
    assert rerun.proc.returncode == 0, err  # the lock was released; nothing held
    assert_converged(sb)


def test_a_second_sigint_stops_at_once_and_the_rerun_settles_what_was_in_flight(
    world: tuple[Sandbox, Path, dict[str, str]],
) -> None:
    sb, config, env = world
    run = start(patient_page(config), env, "sync")
    deadline = time.monotonic() + 60
    while not page_writes(sb):
        assert run.running() and time.monotonic() < deadline, run.finish(10)
        time.sleep(0.02)
    held = sb.statuspage.faults.injected["latency"]
    for method in ("POST", "PATCH"):  # counts the next page write as it reaches the sandbox
        sb.statuspage.faults.inject("latency", method=method, path="/incidents")
    before = len(page_writes(sb))
    sb.statuspage.lock.acquire()  # the page's writes wait in the sandbox, unanswered, until released
    try:
        while sb.statuspage.faults.injected["latency"] == held:  # a page write is in flight now
            assert run.running() and time.monotonic() < deadline, run.finish(10)
            time.sleep(0.02)
        run.signal(signal.SIGINT)  # a graceful stop would wait for it (for as long as the sandbox holds it)
        run.proc.send_signal(signal.SIGINT)
        _, err = run.finish(timeout=60)
    finally:
        sb.statuspage.lock.release()
    assert run.proc.returncode == 130, err
    assert "interrupted again" in err and "Traceback" not in err

    while len(page_writes(sb)) == before:  # the write in flight lands at the sandbox after all
        assert time.monotonic() < deadline + 60
        time.sleep(0.05)
    status = json.loads(in_process(config, env, "--json", "status").stdout)
    # Its outcome never journaled: the run did not wait for the write (a graceful stop journals the
    # outcome of every request in flight); the rerun looks it up before anything else.
    assert status["open_intents"] >= 1
    rerun = start(config, env.copy(), "sync", "--config", str(unhurried(config)))
    _, err = rerun.finish(timeout=120)
    assert rerun.proc.returncode == 0, err
    assert_converged(sb)


def test_sigterm_mid_apply_stops_after_the_writes_in_flight_and_records_the_run(
    world: tuple[Sandbox, Path, dict[str, str]], tmp_path: Path
) -> None:
    sb, config, env = world
    plan = tmp_path / "plan.json"
    planned = start(config, env, "plan", "--out", str(plan))
    planned.finish(timeout=60)
    assert planned.proc.returncode == 0
    run = start(config, env, "apply", str(plan))
    sent = signal_once_pages_are_being_written(run, sb, signal.SIGTERM)
    _, err = run.finish(timeout=60)
    assert run.proc.returncode == 143, err
    assert (datetime.now(UTC) - sent).total_seconds() < STOPS_WITHIN_S
    assert [c.path for c in writes(sb) if began(c) > sent + SLACK] == []
    last = json.loads(in_process(config, env, "--json", "status").stdout)["last_run"]
    assert last["interrupted"] == "SIGTERM" and last["plan"] and 0 < last["published"] < N


def test_sigint_mid_demo_exits_130_after_the_sync_in_flight(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "itsm_bridge.cli", "demo", "--incidents", "60", "--workdir", str(workdir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _journaled(workdir / "itsm-bridge.sqlite"):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert time.monotonic() - sent < 5 + 30  # the demo's requests keep the default 30 s timeout
    assert "interrupted" in err and "Demo OK" not in out and "Traceback" not in err


def _journaled(state: Path) -> bool:
    """Whether the demo's first sync has begun writing (its journal has entries)."""
    if not state.exists():
        return False
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=1) as db:
            return bool(db.execute("SELECT count(*) FROM journal WHERE kind = 'intent'").fetchone()[0])
    except sqlite3.Error:
        return False
