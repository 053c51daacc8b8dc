"""What every imitated vendor is built from: requests and responses, the platform base with its
routes, call log, clock and rate windows.

Each platform (ServiceNow, Jira, Statuspage, Cachet) is a `Platform` subclass that declares
routes and keeps its own state; `server` serves it over loopback HTTP and `faults` decides which
seeded fault a request meets.
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from itsm_bridge.sandbox.faults import Faults


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
# Platforms

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
        self._window: RollingWindow | None = None  # kept by `over_limit`

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

    def over_limit(self, limit: tuple[int, float] | None, key: str) -> str | None:
        """The Retry-After (whole seconds, at least 1) when `key` is over `limit`, else None.

        `limit` is (requests, window seconds) on a rolling window, an option tests set and change
        at will (None or 0 requests: no limit); the window starts afresh when the limit changes."""
        if not limit:
            return None
        if self._window is None or (self._window.limit, self._window.window_s) != limit:
            self._window = RollingWindow(int(limit[0]), float(limit[1]))
        wait = self._window.admit(key)
        return None if wait is None else str(max(1, math.ceil(wait)))

    # --- state
    def reset(self) -> None:
        """Drop data, calls and rate history; subclasses clear their own stores and call super()."""
        self.call_log.clear()
        self.faults.clear()
        self._window = None

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
