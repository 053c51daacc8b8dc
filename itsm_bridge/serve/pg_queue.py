"""Serve's jobs on PostgreSQL: procrastinate's queue, in the store's own database, shared by every
serve process that uses the store.

procrastinate (https://procrastinate.readthedocs.io) gives what serve needs without a queue of
our own making: `lock` (jobs of one incident never run at once, on any process), `queueing_lock`
(while one job of an incident waits, another is not queued: a burst collapses), delayed jobs (a
retry is a new job, see `PgQueue._again`), LISTEN/NOTIFY so a job starts as soon as it is
queued, and workers' heartbeats. Each process runs `--workers` job slots (procrastinate's `concurrency`), so the jobs it has taken can
wait together for its next engine run (see `worker`). A serve process killed mid-job (kill -9, a
lost machine) stops beating; after `[serve] stalled_after_seconds` any other serve process puts
its jobs back in the queue and runs them. Running a job twice is safe: the write path
journals an intent before every write, and the rerun settles the open intents first (a create
that landed is found by its correlation key and linked) before it plans again from what the
platforms now show, so what landed is not written again.

procrastinate's own tables are created in that database at the first start (its schema, applied
once under an advisory lock); the store's tables are the store's.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

import procrastinate
import psycopg
from procrastinate import exceptions as pq_errors
from procrastinate.worker import Worker as PqWorker
from sqlalchemy import text
from sqlalchemy.engine import Connection

from itsm_bridge.config import Config
from itsm_bridge.errors import StoreError
from itsm_bridge.serve.queue import MAX_ATTEMPTS, Handler, Job, Retry

log = logging.getLogger("itsm_bridge.serve")
TASK = "itsm_bridge.serve.job"
SCHEMA_LOCK = 7403119  # advisory lock id held while procrastinate's schema is applied
T = TypeVar("T")
# procrastinate's unique index on queueing_lock WHERE status = 'todo' (its schema.sql) answers this
_WAITS = text("SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = :lock AND status = 'todo')")


def conninfo(config: Config) -> str:
    """libpq connection string of the store's database (the password from its variable)."""
    from sqlalchemy.engine import make_url

    url = make_url(config.state_url)
    state = config.settings.state
    password = config.secret("state", "password_env") if state.password_env else None
    parts: dict[str, Any] = {"host": url.host, "port": url.port, "dbname": url.database, "user": url.username}
    parts["password"] = password
    return str(psycopg.conninfo.make_conninfo("", **{k: v for k, v in parts.items() if v is not None}))


class PgQueue:
    """The shared queue: jobs deferred from any thread, run by a procrastinate worker on an event
    loop of its own thread."""

    def __init__(self, config: Config) -> None:
        self.dsn = conninfo(config)
        self.stalled_s = config.settings.serve.stalled_after_seconds  # silent this long: dead, its jobs rerun
        self.heartbeat_s = self.stalled_s / 5  # how often this process tells the others it is alive
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=self.dsn))
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._worker: PqWorker | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._task: Any = None
        self._probe: psycopg.Connection[Any] | None = None  # for the depth reads (see `_waiting`)
        self._probe_lock = threading.Lock()

    # --- the queue protocol
    def defer(self, job: Job, delay: float = 0.0) -> bool:
        return self._call(self._defer(job, delay))

    def waits(self, conn: Connection, lock: str) -> bool:
        """Asked on the store's connection, in the delivery's own transaction: a delivery whose
        incident's job already waits costs no defer (an insert refused by the queueing lock's
        unique index, on this process's event loop: the largest part of receiving a webhook)."""
        return bool(conn.execute(_WAITS, {"lock": lock}).scalar())

    def depth(self) -> int:
        return int(self._waiting()[0])

    def oldest_age(self) -> float:
        count, oldest = self._waiting()
        return max(0.0, time.time() - oldest) if count and oldest else 0.0

    def ping(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the queue's worker is not running")
        with psycopg.connect(self.dsn, connect_timeout=5) as conn:
            conn.execute("SELECT 1")

    def start(self, handler: Handler, workers: int, on_outcome: Callable[[str], None]) -> None:
        self._register(handler, on_outcome)
        self._thread = threading.Thread(target=self._main, args=(workers,), name="serve-queue", daemon=True)
        self._thread.start()
        self._started.wait(60)
        if self._failure is not None:
            raise StoreError(f"the job queue could not start: {self._failure}") from None

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()  # type: ignore[no-untyped-call]
        if self._thread is not None:
            self._thread.join()
        with self._probe_lock:
            self._close_probe()

    # --- inside
    def _register(self, handler: Handler, on_outcome: Callable[[str], None]) -> None:
        @self.app.task(name=TASK)
        def run_job(**args: Any) -> None:
            job = Job(**args)
            try:
                outcome = handler(job)
            except Retry as exc:
                outcome = "retried" if job.attempts + 1 < MAX_ATTEMPTS else "failed"
                if outcome == "retried":
                    self._again(job, exc.delay)
            on_outcome(outcome)

        self._task = run_job

    def _again(self, job: Job, delay: float) -> None:
        """A job to retry is queued anew, as a job of its own that collapses into one of its
        incident already waiting (a change that came during the run): that one reads the record
        afresh. Not procrastinate's own retry: it puts this job back to `todo` in place, which the
        waiting job's queueing lock refuses, and the job would stay `doing` for good, its
        incident's lock held, every later job of the incident blocked behind it."""
        self.defer(replace(job, attempts=job.attempts + 1), delay)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if not self._started.is_set() or self._failure is not None:
            coro.close()
            raise RuntimeError("the job queue is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    async def _defer(self, job: Job, delay: float) -> bool:
        args: dict[str, Any] = {"kind": job.kind, "platform": job.platform, "remote_id": job.remote_id}
        args |= {"lock": job.lock, "enqueued_at": job.enqueued_at, "attempts": 0}
        options: dict[str, Any] = {"lock": job.lock, "queueing_lock": job.lock}
        if delay > 0:
            options["schedule_in"] = {"seconds": delay}
        try:
            await self._task.configure(**options).defer_async(**args)
        except pq_errors.AlreadyEnqueued:
            return False
        return True

    def _waiting(self) -> tuple[int, float | None]:
        """Jobs due and not started, and when the oldest was first queued: on one connection kept
        for these reads (a scrape of /metrics every few seconds would otherwise start a server
        process each time), opened again after a failure."""
        with self._probe_lock:
            try:
                if self._probe is None or self._probe.closed:
                    self._probe = psycopg.connect(self.dsn, connect_timeout=5, autocommit=True)
                row = self._probe.execute(
                    "SELECT count(*), min((args->>'enqueued_at')::float) FROM procrastinate_jobs "
                    "WHERE status = 'todo' AND task_name = %s AND (scheduled_at IS NULL OR scheduled_at <= now())",
                    (TASK,),
                ).fetchone()
            except psycopg.Error:
                self._close_probe()
                raise
        return (int(row[0]), row[1]) if row else (0, None)

    def _close_probe(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None

    def _main(self, workers: int) -> None:
        asyncio.set_event_loop(self._loop)
        # procrastinate runs a sync task on the loop's default executor, a handful of threads
        # unless told: one thread per job slot, so every job taken can wait to join a batch.
        self._loop.set_default_executor(ThreadPoolExecutor(max_workers=workers + 2, thread_name_prefix="serve-job"))
        try:
            self._loop.run_until_complete(self._serve(workers))
        except BaseException as exc:  # noqa: BLE001 - told to start(), which raises it as a StoreError
            self._failure = exc
            self._started.set()
        finally:
            self._loop.close()

    async def _serve(self, workers: int) -> None:
        await asyncio.to_thread(self._schema)
        async with self.app.open_async():
            self._worker = PqWorker(
                self.app,
                concurrency=workers,
                install_signal_handlers=False,
                update_heartbeat_interval=self.heartbeat_s,
                stalled_worker_timeout=self.stalled_s,
                delete_jobs="successful",
                shutdown_graceful_timeout=None,
            )
            requeue = asyncio.create_task(self._requeue_stalled())
            self._started.set()
            try:
                await self._worker.run()  # type: ignore[no-untyped-call]
            finally:
                requeue.cancel()

    def _schema(self) -> None:
        """procrastinate's tables, created once (two processes starting at once: one applies)."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                exists = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
                if not exists or exists[0] is None:
                    conn.execute(self.app.schema_manager.get_schema())
                    log.info("created the job queue's tables (procrastinate)")
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    async def _requeue_stalled(self) -> None:
        """Put back in the queue the jobs of serve processes that stopped beating."""
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(self.heartbeat_s)
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self.stalled_s):
                try:
                    await manager.retry_job(job)
                    log.warning("job %s of a stalled serve process queued again", job.id)
                except pq_errors.ConnectorException:
                    # Another process took it first, or a newer job of the same record waits:
                    # that one reads the record afresh, so this one is dropped.
                    if job.id is not None:
                        await self._drop(job.id)

    async def _drop(self, job_id: int) -> None:
        try:
            await self.app.job_manager.finish_job_by_id_async(job_id, procrastinate.jobs.Status.FAILED, False)
        except pq_errors.ConnectorException:
            pass  # already back in the queue, by another process
