"""What bench/serve.py runs its scenarios on: the sandbox in this process, sending webhooks, and
`itsm-bridge serve` processes on a fresh store (PostgreSQL or SQLite), plus the probes that tell
when a change has reached the other side.

Changes are made through the sandbox's Python API (as a person editing the record); arrival is
read from the sandbox's data, so the figures include the webhook, the queue, the worker's
re-read, plan and apply, and nothing of the measuring.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from itsm_bridge import Sandbox  # noqa: E402
from itsm_bridge.config_view import render_toml  # noqa: E402
from itsm_bridge.sandbox.config_writer import sandbox_config, with_serve  # noqa: E402
from itsm_bridge.sandbox.jira.store import adf_text  # noqa: E402

SECRET_ENV = "ITSM_BENCH_WEBHOOK_SECRET"
BUDGET_SHARE = 0.9  # the bridge is configured a little under the sandbox's limit, as bench/run.py does


def _sample(text: str, name: str) -> float | None:
    """One sample of a /metrics text (labels included in `name`), None when absent."""
    found = re.search(r"^itsm_bridge_serve_" + re.escape(name) + r" (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Worker:
    """One `itsm-bridge serve` process."""

    process: subprocess.Popen[str]
    url: str
    log: Path

    def sample(self, *names: str) -> list[float | None]:
        """Samples of this worker's /metrics (None each when it does not answer)."""
        try:
            text = requests.get(self.url + "/metrics", timeout=5).text
        except requests.RequestException:
            return [None] * len(names)
        return [_sample(text, n) for n in names]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Harness:
    """A seeded sandbox, its bridge config on a fresh store, and the serve workers started on it."""

    workdir: Path
    incidents: int = 40
    pg_url: str | None = None
    sweep_s: int = 300
    limit_rps: float | None = None  # the sandbox's Jira and ServiceNow limits (requests a second); None: none
    sandbox: Sandbox = field(init=False)
    config: Path = field(init=False)
    workers: list[Worker] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (incident sys_id, Jira key), linked
    _database: str | None = None
    _comment_tokens: dict[tuple[str, str, Any], set[str]] = field(default_factory=dict)

    def __enter__(self) -> Harness:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sandbox = Sandbox(seed=5).start()
        self.sandbox.seed(self.incidents)
        self.sandbox.jira.search_lag_s = 0.5
        if self.limit_rps:
            self.sandbox.jira.rate_limit = (int(self.limit_rps), 1.0)
            self.sandbox.servicenow.rate_limit = (int(self.limit_rps), 1.0)
        os.environ[SECRET_ENV] = uuid.uuid4().hex
        os.environ.update(self.sandbox.info()["env"])
        self.config = self._write_config()
        # Link everything first (the scenarios measure changes), in a process of its own: this one
        # keeps no store open that could hold the lock serve's sweep takes.
        self.cli("sync")
        self._link_pairs()
        print(f"  setup: {len(self.pairs)} linked incidents", flush=True)
        return self

    def cli(self, *args: str) -> Any:
        """`itsm-bridge --config CONFIG --json ARGS...`: its JSON output (exit 0 or 1 expected)."""
        done = subprocess.run(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(self.config), "--json", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=600,
        )
        if done.returncode not in (0, 1):
            raise RuntimeError(f"itsm-bridge {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return json.loads(done.stdout)

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.stop()
        self.sandbox.stop()
        if self._database and self.pg_url:
            _pg_admin(self.pg_url, f'DROP DATABASE IF EXISTS "{self._database}" WITH (FORCE)')

    # --- setup
    def _write_config(self) -> Path:
        path = self.workdir / "bridge.toml"
        info = {**self.sandbox.info(), "webhooks": {"secret_env": SECRET_ENV}}
        data = with_serve(info, sandbox_config(info, self.workdir / "bridge.sqlite"))
        data["sync"]["targets"] = ["jira"]  # the page's one request a second would be the whole story
        data.pop("statuspage", None)
        data["serve"]["sweep_interval_seconds"] = self.sweep_s
        if self.limit_rps:  # else the config's default budget (10 a second per platform)
            for platform in ("servicenow", "jira"):
                data[platform].update(requests_per_second=self.limit_rps * BUDGET_SHARE, workers=8)
        if self.pg_url:
            self._database = f"bench_serve_{uuid.uuid4().hex[:8]}"
            _pg_admin(self.pg_url, f'CREATE DATABASE "{self._database}"')
            data["state"]["url"] = self.pg_url.rsplit("/", 1)[0] + "/" + self._database
        path.write_text(render_toml(data), encoding="utf-8")
        return path

    def _link_pairs(self) -> None:
        by_key: dict[str, dict[str, str]] = {}
        for link in self.cli("links", "list"):
            by_key.setdefault(link["key"], {})[link["platform"]] = link["id"]
        keys = {str(i.id): i.key for i in self.sandbox.jira.store}
        self.pairs = [(p["servicenow"], keys[p["jira"]]) for p in by_key.values() if {"servicenow", "jira"} <= p.keys()]

    def start_workers(self, count: int, threads: int = 2) -> list[Worker]:
        started = [self._start_worker(threads, len(self.workers) + n) for n in range(count)]
        self.workers += started
        return started

    def _start_worker(self, threads: int, number: int) -> Worker:
        log = self.workdir / f"serve-{number}-{uuid.uuid4().hex[:4]}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(self.config), "--json", "-v"]
            + ["serve", "--port", "0", "--workers", str(threads)],
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"},
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"serve did not start: {log.read_text()[-2000:]}")
        return Worker(process, json.loads(line)["url"], log)

    def send_webhooks(self, to: Worker | Spreader, faults: str = "none") -> None:
        self.sandbox.send_webhooks(to.url, os.environ[SECRET_ENV], faults=faults, secret_env=SECRET_ENV)

    # --- changes and their arrival
    def snow_title(self, sys_id: str, text: str) -> None:
        self.sandbox.servicenow.update_incident(sys_id, {"short_description": text})

    def jira_title(self, key: str, text: str) -> None:
        self.sandbox.jira.edit_issue(key, {"summary": text})

    def snow_note(self, sys_id: str, text: str) -> None:
        self.sandbox.servicenow.update_incident(sys_id, {"work_notes": text})

    def jira_has_title(self, key: str, text: str) -> bool:
        with self.sandbox.jira.lock:
            issue = self.sandbox.jira.store.get(key)
            return issue is not None and issue.fields.get("summary") == text

    def snow_has_title(self, sys_id: str, text: str) -> bool:
        return self.sandbox.servicenow.incident(sys_id)["short_description"] == text

    def jira_note_counts(self, prefix: str) -> dict[str, int]:
        """How many Jira comments carry each token starting with `prefix`. Each comment's text is
        read once (by its id and `updated`), so polling this holds Jira's lock for a moment only,
        not for a parse of every comment: the probe must not slow the vendor it measures."""
        counts: dict[str, int] = {}
        pattern = re.compile(re.escape(prefix) + r"\d+\b")
        with self.sandbox.jira.lock:
            comments = [(c["id"], c.get("updated"), c["body"]) for i in self.sandbox.jira.store for c in i.comments]
        for cid, updated, body in comments:
            tokens = self._comment_tokens.get((prefix, cid, updated))
            if tokens is None:
                tokens = self._comment_tokens[(prefix, cid, updated)] = set(pattern.findall(adf_text(body)))
            for token in tokens:
                counts[token] = counts.get(token, 0) + 1
        return counts

    def backlog(self) -> int | None:
        """Jobs not finished, fleet-wide: waiting in the queue (the shared queue's depth once, or
        each process's own) plus those the live workers have taken; None when none answers."""
        samples = [w.sample("queue_depth", "jobs_running") for w in self.workers if w.process.poll() is None]
        known = [(d or 0.0, r or 0.0) for d, r in samples if d is not None]
        if not known:
            return None
        waiting = max(d for d, _ in known) if self.pg_url else sum(d for d, _ in known)
        return int(waiting + sum(r for _, r in known))

    def dump_stacks(self) -> None:
        """SIGUSR1 to every live worker: each writes its threads' stacks to its log."""
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGUSR1)

    def engine_runs(self) -> int:
        """Record runs made by the live workers so far (each serves every job waiting in its process)."""
        runs = [w.sample('engine_runs_total{kind="record"}')[0] for w in self.workers if w.process.poll() is None]
        return int(sum(r or 0.0 for r in runs))


class Spreader:
    """The load balancer in front of the workers, as deploy/compose/nginx.conf sets it: each
    delivery to the next worker in turn, passed on to the one after when a worker refuses the
    connection, times out or answers 503 (nginx `proxy_next_upstream error timeout http_503`)."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self._turn = itertools.count()
        self._local = threading.local()
        spreader = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as nginx's tcp_nodelay (on by default)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                status = spreader.forward(self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def forward(self, path: str, headers: dict[str, str], body: bytes) -> int:
        start = next(self._turn)
        session = self._session()
        for n in range(len(self.workers)):
            worker = self.workers[(start + n) % len(self.workers)]
            try:
                answer = session.post(worker.url + path, data=body, headers=headers, timeout=10)
            except requests.RequestException:
                continue
            if answer.status_code != 503:
                return answer.status_code
        return 502

    def _session(self) -> requests.Session:
        """This thread's connections to the workers, kept alive as nginx's `keepalive 16` keeps
        them (a new connection per delivery would cost the balancer and each worker a connect and
        a thread)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(done: Any, timeout: float, step: float = 0.01) -> float | None:
    """Seconds until `done()` held, or None when `timeout` passed first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if done():
            return time.monotonic() - started
        time.sleep(step)
    return None


class Arrivals:
    """Watches changes in the background: when each one was made and when it arrived."""

    def __init__(self) -> None:
        self.made: dict[str, float] = {}
        self.arrived: dict[str, float] = {}
        self._checks: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def expect(self, token: str, check: Any) -> None:
        with self._lock:
            self.made[token] = time.monotonic()
            self._checks[token] = check

    def pending(self) -> int:
        with self._lock:
            return len(self._checks)

    def latencies(self) -> list[float]:
        return [self.arrived[t] - self.made[t] for t in self.arrived]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                checks = list(self._checks.items())
            for token, check in checks:
                if check():
                    now = time.monotonic()
                    with self._lock:
                        self.arrived[token] = now
                        self._checks.pop(token, None)
            time.sleep(0.01)


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(statement)
