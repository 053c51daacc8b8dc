"""Serve's jobs and the in-process queue of the embedded default (SQLite, one process).

A job names a record (platform and remote id) or the sweep; never the state a webhook claimed.
Both queues keep the same two rules, taken from procrastinate's:
- **lock**: jobs sharing a lock (the incident's key, else the record) never run at once;
- **queueing lock**: while a job with a given queueing lock waits, another with the same one is
  not queued (`defer` answers False): a burst of events for one incident collapses into one job.
  A job already running does not block a new one: a change made during a run gets its own.
A job whose handler raises `Retry` runs again later (`attempts` grows); past `MAX_ATTEMPTS` its
outcome is `failed`. The in-process queue lives in memory: jobs still waiting when serve stops
are not kept, and none is needed: the cursor has not moved past their changes, so the sweep that
serve starts with finds them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

MAX_ATTEMPTS = 5
SWEEP = "sweep"


@dataclass(frozen=True)
class Job:
    """One unit of work: sync the incident of `platform`/`remote_id`, or (kind sweep) a full sync."""

    kind: str  # "record" or "sweep"
    platform: str = ""
    remote_id: str = ""
    lock: str = SWEEP  # the incident's key when known, else "platform:remote_id"
    enqueued_at: float = field(default_factory=time.time)
    attempts: int = 0

    @classmethod
    def record(cls, platform: str, remote_id: str, key: str | None) -> Job:
        return cls("record", platform, remote_id, key or f"{platform}:{remote_id}")

    @classmethod
    def sweep(cls) -> Job:
        return cls(SWEEP)

    def describe(self) -> str:
        return SWEEP if self.kind == SWEEP else f"{self.platform} {self.remote_id}"


class Retry(Exception):
    """The job could not run now (the store's lock stayed taken, a platform was unreachable):
    run it again after `delay` seconds."""

    def __init__(self, reason: str, delay: float = 5.0) -> None:
        super().__init__(reason)
        self.delay = delay


Handler = Callable[[Job], str]
"""Runs one job; returns its outcome (counted in /metrics) or raises Retry."""


class Queue(Protocol):
    """What serve needs of a job queue."""

    def defer(self, job: Job, delay: float = 0.0) -> bool:
        """Queue `job` (to start no sooner than `delay` seconds from now); False when a job with
        its queueing lock already waits."""
        ...

    def waits(self, conn: Connection, lock: str) -> bool:
        """Whether a job with queueing lock `lock` waits now (so `defer` would answer False),
        asked within the caller's transaction `conn` on the store's database."""
        ...

    def depth(self) -> int: ...
    def oldest_age(self) -> float: ...
    def ping(self) -> None:
        """Raise when the queue cannot be reached."""
        ...

    def start(self, handler: Handler, workers: int, on_outcome: Callable[[str], None]) -> None: ...
    def stop(self) -> None:
        """Take no new job; return once the jobs running have finished."""
        ...


class LocalQueue:
    """The in-process queue: same locks and collapse as the PostgreSQL one, for one process."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[tuple[float, Job]] = []  # (not before, job), in order of arrival
        self._running: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def defer(self, job: Job, delay: float = 0.0) -> bool:
        with self._cond:
            if any(j.lock == job.lock for _, j in self._waiting):
                return False
            self._waiting.append((time.monotonic() + delay, job))
            self._cond.notify()
            return True

    def waits(self, conn: Connection, lock: str) -> bool:
        with self._cond:
            return any(j.lock == lock for _, j in self._waiting)

    def depth(self) -> int:
        return len(self._due())

    def oldest_age(self) -> float:
        due = self._due()
        return max(0.0, time.time() - min(j.enqueued_at for j in due)) if due else 0.0

    def _due(self) -> list[Job]:
        """Waiting jobs whose time has come (a sweep scheduled for later is not waiting yet)."""
        now = time.monotonic()
        with self._cond:
            return [j for at, j in self._waiting if at <= now]

    def ping(self) -> None:
        if self._threads and not any(t.is_alive() for t in self._threads):
            raise RuntimeError("no queue worker is running")

    def start(self, handler: Handler, workers: int, on_outcome: Callable[[str], None]) -> None:
        for n in range(workers):
            thread = threading.Thread(
                target=self._work, args=(handler, on_outcome), name=f"serve-worker-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()

    def _take(self) -> Job | None:
        """The first waiting job that is due and whose lock is free; None once stopping."""
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                due = [(at, j) for at, j in self._waiting if at <= now and j.lock not in self._running]
                if due:
                    entry = due[0]
                    self._waiting.remove(entry)
                    self._running.add(entry[1].lock)
                    return entry[1]
                later = [at for at, _ in self._waiting if at > now]
                self._cond.wait(min(later) - now if later else None)
            return None

    def _done(self, job: Job) -> None:
        with self._cond:
            self._running.discard(job.lock)
            self._cond.notify_all()

    def _work(self, handler: Handler, on_outcome: Callable[[str], None]) -> None:
        while (job := self._take()) is not None:
            retry: Retry | None = None
            try:
                outcome = handler(job)
            except Retry as exc:
                retry, outcome = exc, ("retried" if job.attempts + 1 < MAX_ATTEMPTS else "failed")
            finally:
                self._done(job)
            if retry is not None and outcome == "retried":
                self.defer(replace(job, attempts=job.attempts + 1), retry.delay)
            on_outcome(outcome)
