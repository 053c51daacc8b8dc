"""How requests reach Jira: one HttpClient, python-jira routed through it, a per-issue write limit.

python-jira builds its own `ResilientSession`, which retries on its own terms (a create POST re-sent
after a connection error makes a duplicate; a date-form `Retry-After` crashes it) and is invisible
to our rate budget and call count. `RoutedSession` takes its place: every request python-jira makes
goes through `HttpClient.request`, so it shares the platform's budget, the one response classifier,
the tenacity policy (a POST is re-sent only after a 429, which means it was not processed) and the
call count.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from typing import Any, Callable

import requests
from jira.resilientsession import ResilientSession

from itsm_bridge.errors import ConnectorError, RemoteValidation
from itsm_bridge.http import HttpClient, classify_response

log = logging.getLogger("itsm_bridge.connectors.jira")


def classify_jira(platform: str, resp: requests.Response, ref: str | None = None) -> ConnectorError | None:
    """The shared classifier, with Jira's differences: the fields a 400 names (`errors: {field:
    message}`), and a 429 or 503 without `Retry-After` backs off from 2 s doubling (Jira's own
    advice) rather than waiting for `X-RateLimit-Reset`, which is only logged."""
    error = classify_response(platform, resp, ref)
    if error is not None and resp.status_code in (429, 503) and not resp.headers.get("Retry-After"):
        if resp.headers.get("X-RateLimit-Reset"):
            log.info("%s: %s without Retry-After; rate limit resets at %s", platform, resp.status_code,
                     resp.headers["X-RateLimit-Reset"])  # fmt: skip
        error.retry_after = None  # type: ignore[attr-defined]  # a Transient (503) has none declared
    if isinstance(error, RemoteValidation):
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("errors"), dict):
            error.fields = sorted(body["errors"])
        if isinstance(body, dict):
            error.answer = body  # type: ignore[attr-defined]  # a refused bulk create lists each element's error
    return error


class BearerAuth(requests.auth.AuthBase):
    """`Authorization: Bearer <personal access token>` (Jira Data Center)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class RoutedSession(ResilientSession):
    """A python-jira session whose every request is sent by our `HttpClient`."""

    def __init__(self, http: HttpClient) -> None:
        super().__init__(timeout=http.timeout_s, max_retries=0)
        self.http = http

    def request(  # type: ignore[override]  # as python-jira's own override of Session.request
        self, method: str, url: str | bytes, _prepare_retry_class: Any = None, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("files"):
            raise ValueError("uploads are not sent through the Jira connector")
        body = kwargs.get("json")
        data = kwargs.get("data")
        if body is None and data:
            # python-jira serialises JSON bodies itself; decode so HttpClient sends them as JSON.
            body = json.loads(data) if isinstance(data, (str, bytes)) else data
        return self.http.request(
            method, url.decode() if isinstance(url, bytes) else url, params=kwargs.get("params"), json=body
        )


class IssueWriteLimiter:
    """At most `limit` writes per `window_s` seconds on one issue (Jira's per-issue write limit)."""

    def __init__(
        self,
        limit: int = 20,
        window_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit, self.window_s = limit, window_s
        self._clock, self._sleep = clock, sleep
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, issue: str) -> None:
        while True:
            with self._lock:
                now = self._clock()
                hits = self._hits.setdefault(issue, deque())
                while hits and now - hits[0] >= self.window_s:
                    hits.popleft()
                if len(hits) < self.limit:
                    hits.append(now)
                    if len(self._hits) > 1000:  # forget issues not written to within the window
                        self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < self.window_s}
                    return
                wait = self.window_s - (now - hits[0])
            self._sleep(max(wait, 0.001))
