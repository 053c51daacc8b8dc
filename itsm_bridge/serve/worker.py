"""Running serve's jobs through the one write path.

A record job reads the record it names again through the API and plans and applies its
incident exactly as `sync` does (`Engine.sync_records`: source and linked target records read
by id, the three-way merge against the shadow, the journaled intents and outcomes, open intents
settled first). A sweep job is a full `sync` with the usual cursor rules. Either runs under the
store's one-writer lock, waiting for it (a cron `sync`, another serve process) up to
`LOCK_WAIT_S`; in one process one engine runs at a time.

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

from itsm_bridge import stopping
from itsm_bridge.config import Config
from itsm_bridge.connectors import build_all
from itsm_bridge.connectors.base import Connector
from itsm_bridge.errors import BridgeError, Locked
from itsm_bridge.model import RemoteRef
from itsm_bridge.run_log import recorded
from itsm_bridge.runner import record_run
from itsm_bridge.serve import deliveries
from itsm_bridge.serve.metrics import Metrics
from itsm_bridge.serve.queue import SWEEP, Job, Retry
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.engine import Engine
from itsm_bridge.sync.summary import RunSummary

log = logging.getLogger("itsm_bridge.serve")
LOCK_WAIT_S = 60.0
WRITTEN = frozenset({"ok", "created", "updated", "resolved"})  # an outcome entry's result after a write


class Worker:
    """Runs jobs (callable with a Job, returning its outcome) over one store and one set of
    connectors kept for the life of the process, so each platform's request spacing carries
    from one job to the next."""

    def __init__(self, config: Config, store: StateStore, metrics: Metrics) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        self._one_at_a_time = threading.Lock()
        self._connectors: dict[str, Connector] | None = None
        self.running = 0  # jobs inside the engine now (0 or 1)

    def calls(self) -> dict[str, int]:
        """API calls made so far, per platform."""
        return {p: c.calls for p, c in (self._connectors or {}).items()}

    def __call__(self, job: Job) -> str:
        with self._one_at_a_time:
            try:
                with self._locked(job):
                    self.running = 1
                    try:
                        summary = self._sweep() if job.kind == SWEEP else self._record(job)
                    finally:
                        self.running = 0
            except BridgeError as exc:
                if exc.exit_code in (3, 4, 130, 143):  # locked, unreachable, refused credentials, stopped: later
                    log.warning("job %s: %s; retried later", job.describe(), exc)
                    raise Retry(str(exc), 10.0) from None
                log.error("job %s failed: %s", job.describe(), exc)
                return "error"
        if summary.interrupted:
            raise Retry(f"stopped by {summary.interrupted}", 0.0)
        return _outcome(summary)

    @contextmanager
    def _locked(self, job: Job) -> Iterator[None]:
        """The store's one-writer lock, waited for (a stop ends the wait: the job runs later)."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            lock = self.store.lock(f"serve {job.describe()}")
            try:
                lock.__enter__()
                break
            except Locked as exc:
                if stopping.requested() or time.monotonic() >= deadline:
                    raise Retry(str(exc), 2.0) from None
                stopping.sleep(0.05 + random.random() * 0.05)  # jitter: two waiting processes do not poll in step
        try:
            with recorded(self.store, "serve"):
                yield
        finally:
            lock.__exit__(None, None, None)

    def _connectors_now(self) -> dict[str, Connector]:
        if self._connectors is None:
            self._connectors = build_all(self.config)
        return self._connectors

    def _record(self, job: Job) -> RunSummary:
        engine = Engine(self.config, self.store, self._connectors_now())
        before = _last_seq(self.store)
        summary = engine.sync_records([RemoteRef(job.platform, job.remote_id)])
        record_run(self.config, self.store, summary, serve=job.describe())
        self._count_writes(summary.run_id, before)
        log.info("job %s: %s", job.describe(), _outcome(summary), extra={"fields": summary.to_dict()})
        return summary

    def _sweep(self) -> RunSummary:
        engine = Engine(self.config, self.store, self._connectors_now())
        before = _last_seq(self.store)
        summary, _ = engine.sync()
        record_run(self.config, self.store, summary, serve=SWEEP)
        self._count_writes(summary.run_id, before)
        deliveries.prune(self.store)
        log.info("sweep: %s", _outcome(summary), extra={"fields": summary.to_dict()})
        return summary

    def _count_writes(self, run_id: str, after: int | None) -> None:
        """Writes per platform, from the journal's outcomes of the run."""
        for entry in self.store.journal(kinds=("outcome",), after=after):
            if entry.run_id == run_id and entry.platform and entry.payload.get("result") in WRITTEN:
                self.metrics.count("writes_total", platform=entry.platform)


def _last_seq(store: StateStore) -> int | None:
    last = next(iter(store.journal(last=1)), None)
    return last.seq if last else None


def _outcome(summary: RunSummary) -> str:
    if summary.failed:
        return "failed"
    if summary.quarantined:
        return "quarantined"
    if summary.paused or summary.deferred:
        return "deferred"
    return "synced" if summary.writes else "unchanged"
