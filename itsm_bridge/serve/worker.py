"""Running serve's jobs through the one write path, many record jobs to one engine run.

A record job's incident is read again through the API and planned and applied exactly as `sync`
does (`Engine.sync_records`: source and linked target records read by id, the three-way merge
against the shadow, the journaled intents and outcomes, open intents settled first). A sweep job
is a full `sync` with the usual cursor rules. Either runs under the store's one-writer lock,
waiting for it (a cron `sync`, another serve process) up to `LOCK_WAIT_S`: on PostgreSQL in the
server's queue of the lock's waiters, so serve processes take their turns in the order they asked
(polling let one process take it again and again while another's turns came late).

Group commit: a process runs one engine at a time, and the record jobs it has taken meanwhile
wait for the next run. The thread that gets the turn takes every record job waiting in this
process (up to `BATCH_MAX`) and runs ONE `sync_records` for all of their records, so the run's
fixed costs (the lock, preflight, the facts restored, the run's journal entry) are paid once per
batch instead of once per job; each job is then told the outcome of its own incident. One
incident is never in two runs at once: the queue does not hand out a job while another of its
incident runs (its per-key lock), and within a run the records of one incident are one plan.
A sweep runs alone. A process killed mid-batch leaves every job of the batch to the others,
which rerun them; that is safe, as each run settles the open intents first.

A job whose incident's write failed for now (a timeout, a 5xx or a 429 past the client's own
retries) goes back to the queue for a later run of its own, instead of waiting for the next sweep;
a run that fails as a whole (not one record of it) is run again job by job, so one record that
breaks a run never holds back the others of its batch.

That lock is also how the platforms' rate limits hold across serve processes: every API call is
made by whoever holds it, within each platform's `requests_per_second`, so the fleet as a whole
keeps to the configured budget instead of each process spending its own.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from itsm_bridge import stopping
from itsm_bridge.config import Config
from itsm_bridge.connectors import build_all
from itsm_bridge.connectors.base import Connector
from itsm_bridge.errors import BridgeError, Locked
from itsm_bridge.model import RemoteRef
from itsm_bridge.run_log import recorded
from itsm_bridge.runner import record_run
from itsm_bridge.serve import deliveries, outcomes
from itsm_bridge.serve.metrics import Metrics
from itsm_bridge.serve.queue import SWEEP, Job, Retry
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.engine import Engine
from itsm_bridge.sync.summary import RunSummary

log = logging.getLogger("itsm_bridge.serve")
LOCK_WAIT_S = 60.0
LOCK_SLICE_S = 5.0  # PostgreSQL: one wait in the lock's queue, after which a stop is looked for
POLL_S = 0.05  # SQLite: a turn of polling the lock
BATCH_MAX = 100  # record jobs one engine run takes at most
RETRY_DELAY_S = 2.0  # a job whose incident's write failed for now (a timeout, a 5xx) runs again after this


@dataclass(eq=False)
class _Taken:
    """A record job taken from the queue, waiting for the engine run that serves it."""

    job: Job
    settled: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""
    failure: BaseException | None = None  # Retry, or what broke the run (raised in the job's thread)

    def settle(self, outcome: str = "", failure: BaseException | None = None) -> None:
        self.outcome, self.failure = outcome, failure
        self.settled.set()


class Worker:
    """Runs jobs (callable with a Job, from many threads at once, returning its outcome) over one
    store and one set of connectors kept for the life of the process, so each platform's request
    spacing carries from one run to the next."""

    def __init__(self, config: Config, store: StateStore, metrics: Metrics) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        self._turn = threading.Lock()  # one engine run at a time in this process
        self._taken_lock = threading.Lock()
        self._taken: list[_Taken] = []  # record jobs waiting for the next run, in order of arrival
        self._connectors: dict[str, Connector] | None = None
        self.running = 0  # jobs taken and not finished: waiting for a run or in one

    def calls(self) -> dict[str, int]:
        """API calls made so far, per platform."""
        return {p: c.calls for p, c in (self._connectors or {}).items()}

    def __call__(self, job: Job) -> str:
        with self._taken_lock:
            self.running += 1
        try:
            return self._sweep_alone(job) if job.kind == SWEEP else self._in_a_batch(job)
        finally:
            with self._taken_lock:
                self.running -= 1

    def _sweep_alone(self, job: Job) -> str:
        with self._turn:
            try:
                with self._locked(job.describe()):
                    summary = self._sweep()
            except BridgeError as exc:
                if _later(exc):
                    log.warning("job %s: %s; retried later", job.describe(), exc)
                    raise Retry(str(exc), 10.0) from None
                log.error("job %s failed: %s", job.describe(), exc)
                return "error"
        if summary.interrupted:
            raise Retry(f"stopped by {summary.interrupted}", 0.0)
        return _outcome(summary)

    def _in_a_batch(self, job: Job) -> str:
        """Wait for the turn; whoever gets it runs every record job waiting, this one's included
        unless an earlier run already served it."""
        mine = _Taken(job)
        with self._taken_lock:
            self._taken.append(mine)
        while not mine.settled.is_set():
            with self._turn:
                if not mine.settled.is_set():
                    self._run_batch()
        if mine.failure is not None:
            raise mine.failure
        return mine.outcome

    def _run_batch(self) -> None:
        """One engine run for the record jobs waiting (the store's lock taken first, so the jobs
        that arrive while it is awaited join this run); each job is settled, whatever happens.
        What fails before the batch is taken (the lock stayed taken) settles every job waiting."""
        batch: list[_Taken] = []
        try:
            with self._locked(f"{len(self._taken)} record job(s)"):
                batch = self._take(BATCH_MAX)
                self._sync_or_split(batch)
        except Retry as exc:
            waiting = batch or self._take(None)
            log.warning("%d record job(s): %s; queued again in %g s", len(waiting), exc, exc.delay)
            for taken in waiting:
                taken.settle(failure=exc)
        except BridgeError as exc:
            _settle_failed(batch or self._take(None), exc)
        except BaseException as exc:
            for taken in batch or self._take(None):
                taken.settle(failure=exc)
            raise
        finally:
            for taken in batch:
                if not taken.settled.is_set():  # stopped between the run and the outcomes
                    taken.settle(failure=Retry("stopped", 0.0))

    def _sync_or_split(self, batch: list[_Taken]) -> None:
        """One run for the batch; when the run itself fails (an error no record of it kept to
        itself), each job alone, so one record that breaks a run never stops the others."""
        try:
            self._sync(batch)
        except BridgeError as exc:
            if len(batch) == 1 or _later(exc):
                raise
            log.warning("a run for %d records failed (%s): each one alone", len(batch), exc)
            for taken in batch:
                try:
                    self._sync([taken])
                except BridgeError as alone:
                    if _later(alone):
                        raise
                    _settle_failed([taken], alone)

    def _take(self, most: int | None) -> list[_Taken]:
        """The first `most` jobs waiting (all when None), taken off the list."""
        with self._taken_lock:
            taken = self._taken[:most]
            del self._taken[: len(taken)]
        return taken

    def _sync(self, batch: list[_Taken]) -> None:
        """One `sync_records` for the batch's records; each job gets its incident's outcome (a
        write that failed for now, such as a timeout, sends the job back to the queue)."""
        self.metrics.count("engine_runs_total", kind="record")
        engine = Engine(self.config, self.store, self._connectors_now())
        since = outcomes.mark(self.store)
        refs = [RemoteRef(t.job.platform, t.job.remote_id) for t in batch]
        summary = engine.sync_records(refs)
        described = batch[0].job.describe() if len(batch) == 1 else f"{len(batch)} records"
        record_run(self.config, self.store, summary, serve=described, jobs=len(batch))
        self._count_writes(summary.run_id, since.seq)
        log.info("run for %s: %s", described, _outcome(summary), extra={"fields": summary.to_dict()})
        if summary.interrupted:
            for taken in batch:
                taken.settle(failure=Retry(f"stopped by {summary.interrupted}", 0.0))
            return
        found = outcomes.of_run(self.store, summary, since)
        for taken in batch:
            outcome = found.of_job(self.store, taken.job)
            if outcome == outcomes.RETRY:
                taken.settle(failure=Retry("a write failed for now", RETRY_DELAY_S))
            else:
                taken.settle(outcome)

    @contextmanager
    def _locked(self, what: str) -> Iterator[None]:
        """The store's one-writer lock, waited for (a stop ends the wait: the job runs later)."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            # PostgreSQL: waited for in the server's queue, a slice at a time so a stop is seen;
            # SQLite answers at once and is polled
            asked = time.monotonic()
            lock = self.store.lock(f"serve {what}", wait_s=min(LOCK_SLICE_S, max(0.0, deadline - asked)))
            try:
                lock.__enter__()
                break
            except Locked as exc:
                if stopping.requested() or time.monotonic() >= deadline:
                    raise Retry(str(exc), 2.0) from None
                if time.monotonic() - asked < POLL_S:
                    stopping.sleep(POLL_S + random.random() * POLL_S)  # jitter: two pollers do not poll in step
        try:
            with recorded(self.store, "serve"):
                yield
        finally:
            lock.__exit__(None, None, None)

    def connector(self, platform: str) -> Connector | None:
        """The connector of `platform` this process's runs use, None before the first run."""
        return (self._connectors or {}).get(platform)

    def _connectors_now(self) -> dict[str, Connector]:
        if self._connectors is None:
            self._connectors = build_all(self.config)
        return self._connectors

    def _sweep(self) -> RunSummary:
        self.metrics.count("engine_runs_total", kind=SWEEP)
        engine = Engine(self.config, self.store, self._connectors_now())
        since = outcomes.mark(self.store)
        summary, _ = engine.sync()
        record_run(self.config, self.store, summary, serve=SWEEP)
        self._count_writes(summary.run_id, since.seq)
        deliveries.prune(self.store)
        log.info("sweep: %s", _outcome(summary), extra={"fields": summary.to_dict()})
        return summary

    def _count_writes(self, run_id: str, after: int | None) -> None:
        """Writes per platform, from the journal's outcomes of the run."""
        for entry in self.store.journal(kinds=("outcome",), after=after):
            if entry.run_id == run_id and entry.platform and entry.payload.get("result") in outcomes.WRITTEN:
                self.metrics.count("writes_total", platform=entry.platform)


def _settle_failed(batch: list[_Taken], exc: BridgeError) -> None:
    """Jobs whose run failed: back to the queue when worth another try, else outcome `error`."""
    if _later(exc) or exc.disposition == "retry":
        log.warning("%d job(s): %s; retried later", len(batch), exc)
        for taken in batch:
            taken.settle(failure=Retry(str(exc), 10.0 if _later(exc) else RETRY_DELAY_S))
        return
    log.error("%d job(s) failed: %s", len(batch), exc)
    for taken in batch:
        taken.settle("error")


def _later(exc: BridgeError) -> bool:
    """Locked, unreachable, refused credentials or stopped: the job runs again later."""
    return exc.exit_code in (3, 4, 130, 143)


def _outcome(summary: RunSummary) -> str:
    if summary.failed:
        return "failed"
    if summary.quarantined:
        return "quarantined"
    if summary.paused or summary.deferred:
        return "deferred"
    return "synced" if summary.writes else "unchanged"
