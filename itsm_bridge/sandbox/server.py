"""Serving a sandbox platform over real loopback HTTP.

A `ThreadingHTTPServer` with keep-alive per platform; every call is recorded in the platform's call
log, and the seeded faults are applied before or after the platform handles a request.
`/_sandbox/calls` and `/_sandbox/reset` are the control surface tests and the benchmark use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from itsm_bridge.sandbox.core import Call, HTTPFailure, Platform, Request, Response


def _make_handler(platform: Platform) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as clients expect from vendors
        disable_nagle_algorithm = True  # else each answer waits ~40 ms for the client's delayed ACK

        def date_time_string(self, timestamp: float | None = None) -> str:
            """The `Date` header by the platform's clock (skewed or frozen as a test set it)."""
            return format_datetime(platform.clock.now().astimezone(UTC), usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # the call log is the record; stderr stays quiet

        def _serve(self) -> None:
            started = time.perf_counter()
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            req = Request(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            if split.path.startswith("/_sandbox/"):
                self._send(_control(platform, req))
                return
            profile = platform.faults.profile
            if profile.latency_ms:
                time.sleep(profile.latency_ms / 1000.0)
            fault, retry_after = platform.faults.decide(req.method, req.path)
            status = 0
            logged = False

            def log_call() -> None:
                # Logged before the answer is sent: a client that has its answer sees its call.
                nonlocal logged
                logged = True
                platform.call_log.add(
                    Call(
                        platform=platform.name,
                        method=req.method,
                        path=req.path,
                        query=req.query,
                        status=0 if fault in ("reset", "timeout", "drop_after_commit") else status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 3),
                        body=body.decode("utf-8", "replace"),
                        at=datetime.now(UTC).isoformat(),
                        fault=fault,
                        headers={k: v for k, v in req.headers.items() if k != "authorization"},
                    )
                )

            try:
                if fault == "reset":
                    log_call()  # before the client can see the reset
                    self._drop()
                    return
                if fault == "timeout":
                    time.sleep(profile.timeout_s)
                    log_call()
                    self._drop()
                    return
                if fault == "error_5xx":
                    resp = platform.error(503, "Service unavailable (injected)")
                elif fault == "rate_429":
                    resp = platform.throttled_response(retry_after or _fmt(profile.retry_after_s))
                else:
                    refused = platform.authenticate(req) or platform.rate_limited(req, retry_after)
                    if refused is not None:
                        resp = refused
                    else:
                        try:
                            with platform.lock:
                                resp = platform.dispatch(req)
                        except HTTPFailure as failure:
                            resp = failure.response
                        except (ValueError, KeyError, TypeError) as exc:
                            resp = platform.error(400, f"Bad request: {exc}")
                    if fault == "drop_after_commit":
                        status = resp.status
                        log_call()
                        self._drop()
                        return
                status = resp.status
                log_call()
                self._send(resp)
            finally:
                if not logged:
                    log_call()

        def _send(self, resp: Response) -> None:
            payload = resp.encoded()
            self.send_response(resp.status)
            headers = {"Content-Type": "application/json;charset=UTF-8", **resp.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return _Handler


def _fmt(seconds: float) -> str:
    return str(max(1, int(round(seconds))))


def _control(platform: Platform, req: Request) -> Response:
    """`/_sandbox/calls` (GET) and `/_sandbox/reset` (POST): the test and benchmark surface."""
    if req.path.rstrip("/") == "/_sandbox/calls" and req.method == "GET":
        return Response(200, platform.call_log.as_json())
    if req.path.rstrip("/") == "/_sandbox/reset" and req.method == "POST":
        scope = (req.json() or {}).get("scope", "all") if req.body else "all"
        if scope == "calls":
            platform.call_log.clear()
        else:
            with platform.lock:
                platform.reset()
        return Response(200, {"reset": scope})
    return Response(404, {"message": "unknown sandbox control path"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


@dataclass
class Served:
    platform: Platform
    server: _Server
    thread: threading.Thread


def serve(platform: Platform, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Start `platform` on host:port (0 = any free port) in a daemon thread."""
    server = _Server((host, port), _make_handler(platform))
    platform.base_url = f"http://{host}:{server.server_address[1]}"
    # A short poll interval: shutdown() waits for the loop's next poll, 0.5 s by default, which
    # made every stop of the four platforms take 2 s.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sandbox-{platform.name}", daemon=True
    )
    thread.start()
    return Served(platform, server, thread)


def stop(served: Iterable[Served]) -> None:
    for s in served:
        s.server.shutdown()
        s.server.server_close()
