"""One way to talk HTTP to a vendor: session, timeouts, TLS, rate budget, retries, classification.

- Every request has a timeout; TLS verification is always on (a private CA via `ca_bundle`).
- A `RateBudget` spaces requests to the configured rate, shared by every worker of a platform;
  a 429 pauses the whole budget until `Retry-After` has passed.
- `classify_response` is the ONE place that turns a response into an error class; a connector
  passes its own classifier only for what its vendor does differently.
- Retries (tenacity) only where safe: idempotent calls on `retry` dispositions, and a
  non-idempotent call only when the vendor said it did not process it (429/420). A create that
  timed out is never re-sent here: the connector looks it up by correlation key first.
- `Retry-After` (seconds or HTTP date) is a minimum; without it, `X-RateLimit-Reset` (UNIX
  seconds or ISO 8601), else exponential backoff with jitter.
- A wait longer than `max_wait_s` is not sat out (ServiceNow's rules are hourly: a 429 can mean
  an hour while the run holds its lock): the client raises `Paused` with the reset time, and
  every later request of this client raises it too, without a call, until that time.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from itsm_bridge import progress, stopping
from itsm_bridge.errors import (
    AuthError,
    BridgeError,
    ConnectorError,
    Forbidden,
    NotFound,
    Paused,
    RateLimited,
    RemoteValidation,
    Transient,
    Unreachable,
)

if TYPE_CHECKING:
    from itsm_bridge.config_schema import HttpSettings

log = logging.getLogger("itsm_bridge.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
THROTTLED: Counter[str] = Counter()  # per platform, this process's 429 and 420 answers (serve's /metrics)
_throttled_lock = threading.Lock()
USER_AGENT = "itsm-bridge"


class RateBudget:
    """Spaces requests `1 / rate` seconds apart across threads; `pause` holds everyone back,
    including a thread already waiting for its slot when the pause came."""

    def __init__(
        self,
        requests_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / requests_per_second
        self._clock, self._sleep = clock, stopping.interruptible(sleep)
        self._next = 0.0
        self._hold_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                slot = max(now, self._next, self._hold_until)
                self._next = slot + self.interval
            if slot > now:
                self._sleep(slot - now)
            if stopping.requested():
                return  # the caller sends nothing now (HttpClient._send checks)
            with self._lock:
                woke = self._clock()
                if woke >= self._hold_until:
                    # Woken late (a loaded machine): the next slot is an interval after this send,
                    # not after the slot planned, so two requests never leave bunched.
                    self._next = max(self._next, woke + self.interval)
                    return  # else a pause came while this one waited: take a slot after it

    def pause(self, seconds: float) -> None:
        """No request from this budget before `seconds` from now (a 429's Retry-After)."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + seconds)
            self._next = max(self._next, self._hold_until)


RATE_MARGIN = 0.95
_budgets: dict[tuple[str, str], RateBudget] = {}
_budgets_lock = threading.Lock()


def shared_budget(url: str, key: str, requests_per_second: float, sleep: Callable[[float], None]) -> RateBudget:
    """The one RateBudget of an API key: every connector using the key draws from it.

    Keyed by URL and a hash of the key (the key itself is not kept); the first connector to ask
    sets the rate.
    """
    ident = (url.rstrip("/"), hashlib.sha256(key.encode()).hexdigest()[:16])
    with _budgets_lock:
        budget = _budgets.get(ident)
        if budget is None:
            # Under the vendor's rate: requests spaced exactly at the limit can arrive closer
            # together and tip a rolling window over; 5% under, at 1 a second, one request may
            # arrive 3 s late and the window still sees at most 60.
            budget = _budgets[ident] = RateBudget(requests_per_second * RATE_MARGIN, sleep=sleep)
        return budget


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or `X-RateLimit-Reset`
    (UNIX seconds, or an ISO 8601 time as Jira sends); None when neither says."""
    now = now or datetime.now(UTC)
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
            return max(0.0, (when - now).total_seconds())
        except (TypeError, ValueError):
            pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        reset = reset.strip()
        try:
            return max(0.0, float(reset) - now.timestamp())
        except ValueError:
            pass
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds())
        except ValueError:
            pass
    return None


def _unix_time(value: str | None) -> datetime | None:
    """`X-RateLimit-Reset` as ServiceNow sends it (UNIX seconds), else None."""
    try:
        return datetime.fromtimestamp(int(str(value).strip()), UTC) if value else None
    except ValueError:
        return None


def error_message(resp: requests.Response) -> str:
    """The vendor's own words from an error body, in any of the shapes our vendors use."""
    try:
        body: Any = resp.json()
    except ValueError:
        return (resp.text or resp.reason or "").strip()[:300]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # ServiceNow
            return " ".join(str(err.get(k) or "") for k in ("message", "detail")).strip()
        if isinstance(err, str):  # Statuspage
            return err
        parts = list(body.get("errorMessages") or [])  # Jira
        errors = body.get("errors")
        if isinstance(errors, dict):
            parts += [f"{k}: {v}" for k, v in errors.items()]
        elif isinstance(errors, list):  # Cachet
            parts += [str(e.get("detail") or e.get("title") or e) if isinstance(e, dict) else str(e) for e in errors]
        if parts:
            return "; ".join(parts)
        if body.get("message"):
            return str(body["message"])
    return str(body)[:300]


def classify_response(platform: str, resp: requests.Response, ref: str | None = None) -> ConnectorError | None:
    """The error a response stands for, or None for success."""
    status = resp.status_code
    if status < 400:
        return None
    msg = error_message(resp)
    kw: dict[str, Any] = {"platform": platform, "ref": ref, "status": status}
    if status == 401:
        return AuthError(f"credentials refused: {msg}", **kw)
    if status == 403:
        return Forbidden(f"permission denied: {msg}", **kw)
    if status == 404:
        return NotFound(msg or "not found", **kw)
    if status in (429, 420):
        return RateLimited(f"rate limited: {msg}", retry_after=parse_retry_after(resp.headers), **kw)
    if status >= 500:
        err = Transient(f"server error: {msg}", **kw)
        err.retry_after = parse_retry_after(resp.headers)  # type: ignore[attr-defined]
        return err
    return RemoteValidation(msg or "request refused", **kw)


Classifier = Callable[[str, requests.Response, "str | None"], "ConnectorError | None"]


@dataclass
class Backoff:
    """Waits between retries when the vendor does not say how long: base doubling, with jitter."""

    base_s: float = 2.0
    jitter: float = 0.3
    cap_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        raw = min(self.cap_s, self.base_s * 2.0 ** (attempt - 1))
        return raw * (1 + self.jitter * (2 * self.rng.random() - 1))


def _why(exc: BaseException | None, base_url: str) -> str:
    """A retried failure in a few words, for a person watching: "rate limited (HTTP 429)"."""
    status = getattr(exc, "status", None)
    if isinstance(exc, RateLimited):
        what = "rate limited"
    elif getattr(exc, "connect_failed", False):
        what = f"cannot connect to {shown_url(base_url)}"
    elif status:
        what = "server error"
    else:
        what = "no answer, or the connection was lost"
    return what + (f" (HTTP {status})" if status else "")


def shown_url(url: str) -> str:
    """`url` as a person may see it: scheme, host and path; no credentials, no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def make_session(ca_bundle: str | None = None, pool: int = 4) -> requests.Session:
    """A session for one connector: TLS verified (optionally against a private CA), keeping
    `pool` connections a host: as many as the client has requests in flight, or urllib3 discards
    (and later opens again) every connection past it."""
    session = requests.Session()
    session.verify = ca_bundle or True
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    adapter = HTTPAdapter(pool_maxsize=pool, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class HttpClient:
    """Sends requests for one platform through its session, budget and retry policy."""

    def __init__(
        self,
        platform: str,
        base_url: str,
        session: requests.Session,
        *,
        timeout_s: float = 30.0,
        budget: RateBudget | None = None,
        max_retries: int = 4,
        backoff: Backoff | None = None,
        classify: Classifier = classify_response,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = 4,
        max_wait_s: float | None = None,
    ) -> None:
        self.platform = platform
        self.max_wait_s = max_wait_s  # longest rate-limit wait sat out; None: any
        self.paused_until: datetime | None = None  # set by a wait past max_wait_s
        self._reset_at: datetime | None = None  # the vendor's reset time (X-RateLimit-Reset), for messages
        self._slots = threading.BoundedSemaphore(workers)  # requests in flight at once
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout_s = timeout_s
        self.budget = budget or RateBudget(1000.0)
        self.max_retries = max_retries
        self.backoff = backoff or Backoff()
        self.classify = classify
        self.sleep = stopping.interruptible(sleep)  # a retry's wait ends when the run is stopped
        self.calls = 0  # every request sent, retries included: each one costs rate limit
        self._calls_lock = threading.Lock()

    @classmethod
    def for_platform(
        cls,
        platform: str,
        settings: HttpSettings,
        *,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        session: requests.Session | None = None,
        budget: RateBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> HttpClient:
        """The client of one platform, as its config table says: `timeout_s` on every request,
        TLS verified (against `ca_bundle` when set), `workers` requests in flight and as many
        pooled connections, `requests_per_second` (unless a shared `budget` is given) and
        `max_retries`. `options` are the vendor's own: `classify`, `backoff`, `max_wait_s`."""
        session = session or make_session(settings.ca_bundle, pool=settings.workers)
        session.headers.update(headers or {})
        if auth is not None:
            session.auth = auth
        return cls(
            platform,
            url or settings.url,
            session,
            timeout_s=settings.timeout_s,
            budget=budget or RateBudget(settings.requests_per_second, clock=clock, sleep=sleep),
            workers=settings.workers,
            max_retries=settings.max_retries,
            sleep=sleep,
            **options,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        ref: str | None = None,
        idempotent: bool | None = None,
        data: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send, retrying where safe; return the 2xx/3xx response or raise a ConnectorError.
        `data` sends a form body (e.g. an OAuth token request) instead of `json`."""
        safe = method.upper() in IDEMPOTENT if idempotent is None else idempotent

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, BridgeError) or exc.disposition != "retry":
                return False
            return safe or isinstance(exc, RateLimited)  # a 429 means it was not processed

        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(retryable),
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._send, method.upper(), path, params, json, headers, ref, data)
        except Transient as exc:
            if getattr(exc, "connect_failed", False):
                raise Unreachable(f"cannot reach {self.base_url}: {exc}", platform=self.platform, ref=ref) from None
            raise

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return float(retry_after) * (1 + 0.1 * self.backoff.rng.random())  # a minimum, never less
        return self.backoff.delay(state.attempt_number)

    def _before_sleep(self, state: RetryCallState) -> None:
        """Say why a request waits before it is sent again (logs, and a live line on a terminal)."""
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        what = _why(exc, self.base_url)
        if getattr(exc, "retry_after", None) is not None:
            reason = f"{what}; waiting {wait:.0f} s as Retry-After asks"
        else:
            reason = f"{what}; retry {state.attempt_number} of {self.max_retries} in {wait:.0f} s"
        log.info("%s: %s: %s", self.platform, reason, exc)
        progress.current().waiting(self.platform, reason, wait)

    def _send(
        self, method: str, path: str, params: Any, body: Any, headers: Any, ref: str | None, data: Any = None
    ) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        if self.paused_until is not None and datetime.now(UTC) < self.paused_until:
            raise self._paused(ref)
        self.budget.acquire()
        stopping.check(f"{self.platform} {method} {path}")  # a stopped run sends no new request
        stopping.note_sent(method)
        with self._calls_lock:
            self.calls += 1
        started = time.perf_counter()
        observer = progress.current()
        waiting = observer.request(self.platform, f"{method} {shown_url(url)}") if observer.showing else None
        try:
            with self._slots:
                resp = self.session.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    data=data,
                    headers=headers,
                    timeout=self.timeout_s,
                    allow_redirects=False,
                    # Per request, or requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the
                    # environment override the session's verify: a configured ca_bundle was ignored.
                    verify=self.session.verify,
                )
        except requests.exceptions.SSLError as exc:
            raise Unreachable(
                f"TLS verification failed for {self.base_url}: {type(exc).__name__}", platform=self.platform, ref=ref
            ) from None
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError) as exc:
            connect = (
                isinstance(exc, requests.exceptions.ConnectTimeout)
                or "NewConnectionError" in repr(exc)
                or "NameResolution" in repr(exc)
            )
            err = Transient(
                f"{method} {path}: connection failed ({type(exc).__name__})", platform=self.platform, ref=ref
            )
            err.connect_failed = connect  # type: ignore[attr-defined]
            err.maybe_committed = not connect  # type: ignore[attr-defined]
            raise err from None
        except requests.exceptions.Timeout:
            err = Transient(f"{method} {path}: no answer within {self.timeout_s}s", platform=self.platform, ref=ref)
            err.maybe_committed = True  # type: ignore[attr-defined]
            raise err from None
        finally:
            observer.answered(waiting)
        log.debug(
            "%s %s %s -> %s in %.0f ms",
            self.platform,
            method,
            path,
            resp.status_code,
            (time.perf_counter() - started) * 1000,
        )
        error = self.classify(self.platform, resp, ref)
        if error is None:
            return resp
        if isinstance(error, RateLimited):
            with _throttled_lock:
                THROTTLED[self.platform] += 1
            if resp.headers.get("RateLimit-Reason"):
                log.info("%s rate limited: %s", self.platform, resp.headers["RateLimit-Reason"])
            wait = error.retry_after
            if wait is not None and self.max_wait_s is not None and wait > self.max_wait_s:
                self.paused_until = datetime.now(UTC) + timedelta(seconds=wait)  # by our clock: skew-proof
                self._reset_at = _unix_time(resp.headers.get("X-RateLimit-Reset")) or self.paused_until
                log.warning(
                    "%s: rate limit resets in %.0f s (max_wait_s %g): no more requests this run",
                    self.platform,
                    wait,
                    self.max_wait_s,
                )
                raise self._paused(ref) from None
            self.budget.pause(wait if wait is not None else self.backoff.delay(1))
        raise error

    def _paused(self, ref: str | None) -> Paused:
        until = self._reset_at or self.paused_until or datetime.now(UTC)  # as the vendor states it
        return Paused(
            f"rate limit reached; it resets at {until.isoformat(timespec='seconds')}, later than max_wait_s "
            f"({self.max_wait_s:g} s) allows: no more requests this run",
            until=until,
            platform=self.platform,
            ref=ref,
        )
