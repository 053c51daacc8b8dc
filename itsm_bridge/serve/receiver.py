"""The HTTP side of serve: the two webhook endpoints and the probes.

POST /webhooks/jira, POST /webhooks/servicenow: 202 when the record's job is queued (or
collapsed into one already waiting) or when all it says is that the bridge added its own
note (`echoes`: no job), 200 for a delivery id already taken (a replay or a vendor's
retry: nothing more is done), 401 with no detail for a missing or bad signature (the reason is
logged and counted), 413 past `[serve] max_body_bytes` (the body is not read), 503 while serve
stops or the queue cannot take the job (the vendor retries).
GET /healthz (the store and the queue answer), /readyz (taking webhooks), /metrics (Prometheus).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from itsm_bridge.serve import deliveries
from itsm_bridge.serve.queue import Job
from itsm_bridge.serve.webhooks import Rejected, verified

if TYPE_CHECKING:
    from itsm_bridge.serve.app import Server

log = logging.getLogger("itsm_bridge.serve")
PATHS = {"/webhooks/jira": "jira", "/webhooks/servicenow": "servicenow"}


def handler_for(server: Server) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one running serve."""

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "itsm-bridge"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # what matters is logged by name below, never a request's headers

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            route: dict[str, Callable[[], tuple[int, str, bytes]]] = {
                "/healthz": lambda: _health(server),
                "/readyz": lambda: _ready(server),
                "/metrics": lambda: (200, "text/plain; version=0.0.4; charset=utf-8", server.metrics_text().encode()),
            }
            answer = route.get(self.path.split("?", 1)[0])
            self._send(*(answer() if answer else _json(404, {"error": "not found"})))

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            platform = PATHS.get(self.path.split("?", 1)[0])
            if platform is None:
                self.close_connection = True
                self._send(*_json(404, {"error": "not found"}))
                return
            try:
                body = self._body(server.settings.max_body_bytes)
                self._send(*_accept(server, platform, {k.lower(): v for k, v in self.headers.items()}, body))
            except Rejected as exc:
                server.metrics.count("webhook_rejects_total", reason=exc.reason)
                log.warning("webhook to /webhooks/%s refused: %s", platform, exc.reason)
                self._send(*_json(exc.status, {"error": _STATUS_WORD.get(exc.status, "refused")}))

        def _body(self, limit: int) -> bytes:
            raw = self.headers.get("Content-Length")
            if raw is None or not raw.strip().isdigit():
                self.close_connection = True
                raise Rejected(411, "length_missing")
            length = int(raw)
            if length > limit:
                self.close_connection = True  # the body stays unread
                raise Rejected(413, "body_too_large")
            return self.rfile.read(length)

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

    return _Handler


_STATUS_WORD = {400: "bad request", 401: "unauthorized", 411: "length required", 413: "too large"}


def _json(status: int, data: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(data).encode()


def _accept(server: Server, platform: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
    """Verify, drop a replay, queue the record's job."""
    if not server.ready:
        return _json(503, {"error": "stopping"})
    env = getattr(server.settings, f"{platform}_webhook_secret_env")
    delivery = verified(platform, headers, body, os.environ.get(env) if env else None)
    hint = delivery.hint
    if hint is not None and server.own_notes.echo(hint):
        server.metrics.count("webhooks_total", platform=platform, result="echo")
        log.debug("webhook %s %s (%s): the bridge's own note: no job", platform, hint.remote_id, hint.event)
        return _json(202, {"status": "echo"})
    first, key, waiting = deliveries.first_time(
        server.store,
        platform,
        delivery.delivery_id,
        (hint.platform, hint.remote_id) if hint else None,
        server.queue.waits,
    )
    if not first:
        server.metrics.count("webhook_rejects_total", reason="delivery_replayed")
        log.info("webhook to /webhooks/%s: delivery %s taken before: dropped", platform, delivery.delivery_id)
        return _json(200, {"status": "duplicate"})
    if hint is None:
        server.metrics.count("webhooks_total", platform=platform, result="ignored")
        return _json(202, {"status": "ignored"})
    job = Job.record(hint.platform, hint.remote_id, key)
    try:
        # a job of the incident waiting will read it afresh when it starts: queueing one more
        # would only collapse into it (the queueing lock), so it is not asked
        queued = not waiting and server.queue.defer(job)
    except Exception as exc:  # noqa: BLE001 - the queue's database is down: the vendor retries later
        deliveries.forget(server.store, platform, delivery.delivery_id)  # so that retry is taken
        log.error("webhook %s %s: the queue refused the job: %s", platform, hint.remote_id, type(exc).__name__)
        return _json(503, {"error": "queue unavailable"})
    result = "queued" if queued else "collapsed"
    server.metrics.count("webhooks_total", platform=platform, result=result)
    log.info("webhook %s %s (%s): %s", platform, hint.remote_id, hint.event, result)
    return _json(202, {"status": result})


def _health(server: Server) -> tuple[int, str, bytes]:
    problems = {}
    try:
        with server.store.engine.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the verdict, reported
        problems["store"] = type(exc).__name__
    try:
        server.queue.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the verdict, reported
        problems["queue"] = type(exc).__name__
    return _json(503 if problems else 200, {"ok": not problems, **({"problems": problems} if problems else {})})


def _ready(server: Server) -> tuple[int, str, bytes]:
    return _json(200 if server.ready else 503, {"ready": server.ready})
