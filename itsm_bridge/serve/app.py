"""`itsm-bridge serve`: the receiver, the queue, the workers and the sweep, started and stopped
together.

On the embedded default (a SQLite store) the queue is in-process (`LocalQueue`) and serve runs as
one process; on PostgreSQL the queue is procrastinate's, in the store's database, shared by every
serve process (`PgQueue`). Either way a sweep (a full sync) runs first and then every
`[serve] sweep_interval_seconds`, catching what a lost webhook missed.

SIGINT or SIGTERM: /readyz answers 503 and webhooks are refused with 503 (the vendor retries), the
jobs running finish their writes in flight (the engine takes no new record), the store's lock is
released, and the process exits 130 or 143.

SIGUSR1 writes every thread's stack to stderr (`stacks`) and serve carries on: what an operator
asks of a process that seems stuck, before restarting it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer

from itsm_bridge import http, stopping
from itsm_bridge.config import Config
from itsm_bridge.serve import stacks
from itsm_bridge.serve.echoes import OwnNotes
from itsm_bridge.serve.metrics import Metrics
from itsm_bridge.serve.queue import MAX_ATTEMPTS, SWEEP, Job, LocalQueue, Queue, Retry
from itsm_bridge.serve.receiver import handler_for
from itsm_bridge.serve.worker import Worker
from itsm_bridge.store import open_from_config

log = logging.getLogger("itsm_bridge.serve")


class Server:
    """One serve process: bind, then `start`, then `stop`."""

    def __init__(self, config: Config, host: str = "127.0.0.1", port: int = 0, workers: int = 1) -> None:
        self.config = config
        self.settings = config.settings.serve
        self.workers = workers
        self.metrics = Metrics()
        self.store = open_from_config(config)
        self.queue: Queue = _queue(config)
        self.worker = Worker(config, self.store, self.metrics)
        self.own_notes = OwnNotes(self.store, self.worker.connector)
        self.httpd = ThreadingHTTPServer((host, port), handler_for(self))
        self.httpd.daemon_threads = True
        self.ready = False
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Start the workers and the receiver, and queue the first sweep."""
        self.queue.start(self._run, self.workers, lambda outcome: self.metrics.count("jobs_total", outcome=outcome))
        if self.settings.sweep_interval_seconds:
            self.queue.defer(Job.sweep())
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="serve-http", daemon=True)
        self._thread.start()
        self.ready = True

    def stop(self) -> None:
        """Refuse new webhooks, let the running jobs finish, release everything."""
        self.ready = False
        self.queue.stop()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.store.close()

    def metrics_text(self) -> str:
        gauges = {
            "queue_depth": float(self.queue.depth()),
            "queue_oldest_job_age_seconds": self.queue.oldest_age(),
            "jobs_running": float(self.worker.running),
        }
        return self.metrics.render(
            gauges, lambda: {"api_calls_total": self.worker.calls(), "rate_limited_total": dict(http.THROTTLED)}
        )

    def _run(self, job: Job) -> str:
        """A job, and after a sweep (one that will not be tried again) the next sweep."""
        if job.kind != SWEEP:
            return self.worker(job)
        try:
            outcome = self.worker(job)
        except Retry:
            if job.attempts + 1 >= MAX_ATTEMPTS:
                self._next_sweep()
            raise
        self._next_sweep()
        return outcome

    def _next_sweep(self) -> None:
        if not stopping.requested():
            self.queue.defer(Job.sweep(), float(self.settings.sweep_interval_seconds))


def _queue(config: Config) -> Queue:
    """procrastinate's queue in the store's database on PostgreSQL; in-process on SQLite."""
    if config.state_url.startswith("postgresql"):
        from itsm_bridge.serve.pg_queue import PgQueue

        return PgQueue(config)
    return LocalQueue()


def serve_until_stopped(
    config: Config, *, host: str, port: int, workers: int, as_json: bool, echo: Callable[[str], None]
) -> int:
    """Serve until SIGINT or SIGTERM; return the exit code (130 or 143)."""
    stacks.install()
    with stopping.handling():
        server = Server(config, host, port, workers)
        try:
            server.start()
            info = {
                "event": "ready",
                "url": server.url,
                "pid": os.getpid(),
                "workers": workers,
                "queue": type(server.queue).__name__,
                "sweep_interval_seconds": server.settings.sweep_interval_seconds,
            }
            echo(json.dumps(info) if as_json else f"serving on {server.url} ({info['queue']}); Ctrl-C stops")
            while not stopping.requested():
                stopping.sleep(3600)
            log.info("serve stopping: %s", stopping.reason())
        finally:
            server.stop()
    return stopping.exit_code()
