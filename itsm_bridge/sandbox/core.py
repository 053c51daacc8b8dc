"""Shared machinery of the sandbox servers: HTTP plumbing, call log, faults, rate windows, clock.

Each platform (ServiceNow, Jira, Statuspage, Cachet) is a `Platform` subclass that declares
routes and keeps its own state; this module serves it over real loopback HTTP on a
`ThreadingHTTPServer` with keep-alive, records every call, and applies seeded faults before
or after the platform handles a request.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

JSON = dict[str, Any] | list[Any]


@dataclass
class Request:
    """One parsed HTTP request as a platform handler sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # path parameters from the route

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class HTTPFailure(Exception):
    """Raised by a handler to answer with an error response in the vendor's shape."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class Call:
    platform: str
    method: str
    path: str
    query: dict[str, list[str]]
    status: int  # 0 when the connection was dropped without an answer
    duration_ms: float
    body: str
    at: str
    fault: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class CallLog:
    """Thread-safe record of every request a platform received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def add(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.calls()]


class Clock:
    """The platform's idea of now: real UTC time plus a settable skew (for clock-skew tests)."""

    def __init__(self, skew: timedelta = timedelta(0)) -> None:
        self.skew = skew
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        base = self._frozen if self._frozen is not None else datetime.now(UTC)
        return base + self.skew

    def freeze(self, at: datetime | None) -> None:
        """Stop the clock at `at` (None lets it run again); used to pile records into one second."""
        self._frozen = at


# ---------------------------------------------------------------------------------------------
# Faults

FAULT_KINDS = ("latency", "error_5xx", "rate_429", "reset", "timeout", "drop_after_commit")


@dataclass
class FaultProfile:
    """Probabilities per request; all seeded, so a schedule replays identically."""

    latency_ms: float = 0.0  # added to every request
    error_5xx: float = 0.0
    rate_429: float = 0.0  # chance that a 429 storm starts on this request
    storm_length: int = 5  # requests answered 429 once a storm starts
    reset: float = 0.0  # connection closed before the request is handled
    timeout: float = 0.0  # the server sleeps `timeout_s` and drops, without handling
    drop_after_commit: float = 0.0  # writes only: handled and stored, response lost
    timeout_s: float = 2.0
    retry_after_s: float = 1.0


PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile(),
    "flaky": FaultProfile(latency_ms=5, error_5xx=0.05, reset=0.02),
    "storm": FaultProfile(rate_429=0.1, storm_length=5, retry_after_s=1.0),
    "lossy": FaultProfile(drop_after_commit=0.3),
}


@dataclass
class _Scripted:
    kind: str
    count: int
    method: str | None
    path: re.Pattern[str] | None
    retry_after: str | None


class Faults:
    """Decides, per request, which fault (if any) applies. Deterministic for a given seed.

    Two sources: a random profile (`set_profile`) and a scripted queue (`inject`), which tests use
    to hit one precise request: e.g. `inject("drop_after_commit", method="POST", path="/issue$")`.
    """

    def __init__(self, seed: int = 0, profile: FaultProfile | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.profile = profile or FaultProfile()
        self._scripted: list[_Scripted] = []
        self._storm_left = 0
        self.injected: dict[str, int] = {k: 0 for k in FAULT_KINDS}

    def set_profile(self, profile: FaultProfile | str, seed: int | None = None) -> None:
        with self._lock:
            self.profile = PROFILES[profile] if isinstance(profile, str) else profile
            if seed is not None:
                self._rng = random.Random(seed)

    def inject(
        self,
        kind: str,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        """Apply `kind` to the next `count` requests matching method and path regex."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._scripted.append(
                _Scripted(kind, count, method, re.compile(path) if path else None, retry_after)
            )

    def clear(self) -> None:
        with self._lock:
            self._scripted.clear()
            self._storm_left = 0
            self.profile = FaultProfile()

    def decide(self, method: str, path: str) -> tuple[str | None, str | None]:
        """Return (fault kind, retry-after override) for this request; latency is separate."""
        with self._lock:
            for s in self._scripted:
                if s.method and s.method != method:
                    continue
                if s.path and not s.path.search(path):
                    continue
                s.count -= 1
                if s.count <= 0:
                    self._scripted.remove(s)
                self.injected[s.kind] += 1
                return s.kind, s.retry_after
            p = self.profile
            if self._storm_left > 0:
                self._storm_left -= 1
                self.injected["rate_429"] += 1
                return "rate_429", None
            roll = self._rng.random
            if p.rate_429 and roll() < p.rate_429:
                self._storm_left = max(0, p.storm_length - 1)
                self.injected["rate_429"] += 1
                return "rate_429", None
            if p.error_5xx and roll() < p.error_5xx:
                self.injected["error_5xx"] += 1
                return "error_5xx", None
            if p.reset and roll() < p.reset:
                self.injected["reset"] += 1
                return "reset", None
            if p.timeout and roll() < p.timeout:
                self.injected["timeout"] += 1
                return "timeout", None
            if method in ("POST", "PUT", "PATCH") and p.drop_after_commit and roll() < p.drop_after_commit:
                self.injected["drop_after_commit"] += 1
                return "drop_after_commit", None
            return None, None


class RollingWindow:
    """At most `limit` requests per `window_s` seconds per key, measured on a rolling window."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def admit(self, key: str) -> float | None:
        """Record a hit and return None, or return the seconds to wait when over the limit."""
        if self.limit <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return self.window_s - (now - hits[0])
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


# ---------------------------------------------------------------------------------------------
# Platforms and serving

Handler = Callable[[Request], Response]


class Platform:
    """Base of one imitated vendor. Subclasses add routes in `__init__` and implement the
    vendor's auth check, error shape and rate-limit answer."""

    name = "platform"

    def __init__(self, seed: int = 0) -> None:
        self.clock = Clock()
        self.faults = Faults(seed)
        self.call_log = CallLog()
        self.lock = threading.RLock()  # guards the platform's data
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.base_url = ""

    # --- routing
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` is a path with `{name}` placeholders matching one segment."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/"))
        self._routes.append((method, re.compile(f"^{regex}/?$"), handler))

    def dispatch(self, req: Request) -> Response:
        allowed = False
        for method, regex, handler in self._routes:
            m = regex.match(req.path)
            if not m:
                continue
            allowed = True
            if method != req.method:
                continue
            req.params = m.groupdict()
            return handler(req)
        if allowed:
            return self.error(405, "Method not allowed")
        return self.error(404, f"No such resource: {req.path}")

    # --- vendor-specific hooks
    def authenticate(self, req: Request) -> Response | None:
        """Return an error response when credentials are missing or wrong."""
        return None

    def error(self, status: int, message: str, detail: str = "") -> Response:
        return Response(status, {"message": message, "detail": detail})

    def rate_limited(self, req: Request, retry_after: str | None) -> Response | None:
        """Return a 429 (or vendor equivalent) when the request is over a rate limit."""
        return None

    def throttled_response(self, retry_after: str) -> Response:
        return Response(429, {"message": "Too many requests"}, {"Retry-After": retry_after})

    # --- state
    def reset(self) -> None:
        """Drop data and calls; subclasses clear their own stores and call super()."""
        self.call_log.clear()
        self.faults.clear()

    def to_state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass

    def credentials(self) -> dict[str, str]:
        return {}

    def env(self) -> dict[str, str]:
        return {}


def basic_auth(req: Request) -> tuple[str, str] | None:
    """(user, password) from an Authorization: Basic header, or None."""
    value = req.headers.get("authorization", "")
    if not value.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:]).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


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
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"sandbox-{platform.name}", daemon=True)  # fmt: skip
    thread.start()
    return Served(platform, server, thread)


def stop(served: Iterable[Served]) -> None:
    for s in served:
        s.server.shutdown()
        s.server.server_close()
