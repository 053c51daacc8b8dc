"""How requests reach Jira: REST v3 paths over one HttpClient, writes to one issue through a limiter.

`JiraApi` is the only place that names a path. Every call shares the platform's rate budget, the
one response classifier (with Jira's differences, `classify_jira`), the retry policy (a POST is
re-sent only after a 429, which means it was not processed) and the call count; every write to an
issue first passes the per-issue limiter (20 writes per 2 s, Jira's own limit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import requests

from itsm_bridge.errors import ConnectorError, RemoteValidation
from itsm_bridge.http import HttpClient, classify_response

log = logging.getLogger("itsm_bridge.connectors.jira")

API = "/rest/api/3"
WRITES_PER_ISSUE = (20, 2.0)  # Jira's per-issue write limit: 20 writes in any 2 s


def classify_jira(platform: str, resp: requests.Response, ref: str | None = None) -> ConnectorError | None:
    """The shared classifier, with Jira's differences: the fields a 400 names (`errors: {field:
    message}`), and a 429 or 503 without `Retry-After` backs off from 2 s doubling (Jira's own
    advice) rather than waiting for `X-RateLimit-Reset`, which is only logged."""
    error = classify_response(platform, resp, ref)
    if error is not None and resp.status_code in (429, 503) and not resp.headers.get("Retry-After"):
        if resp.headers.get("X-RateLimit-Reset"):
            log.info(
                "%s: %s without Retry-After; rate limit resets at %s",
                platform,
                resp.status_code,
                resp.headers["X-RateLimit-Reset"],
            )
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


class JiraApi:
    """Jira's REST v3 calls over one `HttpClient`; each write to an issue passes the limiter."""

    def __init__(self, http: HttpClient, writes: IssueWriteLimiter) -> None:
        self.http = http
        self.writes = writes

    @property
    def calls(self) -> int:
        """Requests sent so far (each costs rate limit)."""
        return self.http.calls

    # --- reads
    def get(self, path: str, params: dict[str, Any] | None = None, ref: str | None = None) -> Any:
        """The JSON answer of `GET {API}{path}`."""
        return self.http.request("GET", f"{API}{path}", params=params, ref=ref).json()

    def myself(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.get("/myself")
        return answer

    def search(self, body: dict[str, Any]) -> requests.Response:
        """One page of the enhanced search (`POST search/jql`): a read, so it may be retried."""
        return self.http.request("POST", f"{API}/search/jql", json=body, idempotent=True)

    def count(self, body: dict[str, Any]) -> dict[str, Any]:
        """Jira's estimate of how many issues a bounded JQL matches (`POST search/approximate-count`)."""
        answer: dict[str, Any] = self.http.request(
            "POST", f"{API}/search/approximate-count", json=body, idempotent=True
        ).json()
        return answer

    def bulkfetch(self, body: dict[str, Any]) -> dict[str, Any]:
        """Issues by id or key (`POST issue/bulkfetch`): a read, so it may be retried."""
        answer: dict[str, Any] = self.http.request("POST", f"{API}/issue/bulkfetch", json=body, idempotent=True).json()
        return answer

    def changelogs(self, body: dict[str, Any]) -> dict[str, Any]:
        """Changelogs of many issues (`POST changelog/bulkfetch`): a read, so it may be retried."""
        answer: dict[str, Any] = self.http.request(
            "POST", f"{API}/changelog/bulkfetch", json=body, idempotent=True
        ).json()
        return answer

    def issue(self, issue_id: str, params: dict[str, Any], ref: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.get(f"/issue/{issue_id}", params, ref)
        return answer

    def transitions(self, issue_id: str, ref: str) -> list[dict[str, Any]]:
        """The transitions the issue offers now, with their screen fields."""
        answer = self.get(f"/issue/{issue_id}/transitions", {"expand": "transitions.fields"}, ref)
        return list(answer.get("transitions") or [])

    # --- writes
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST issue`, sent once: the caller decides what a lost answer means."""
        answer: dict[str, Any] = self.http.request("POST", f"{API}/issue", json=body, idempotent=False).json()
        return answer

    def create_bulk(self, bodies: list[dict[str, Any]]) -> dict[str, Any]:
        """`POST issue/bulk` (at most 50), sent once."""
        answer: dict[str, Any] = self.http.request(
            "POST", f"{API}/issue/bulk", json={"issueUpdates": bodies}, idempotent=False
        ).json()
        return answer

    def edit(self, issue_id: str, body: dict[str, Any], ref: str) -> dict[str, Any] | None:
        """`PUT issue/{id}?returnIssue=true`: the answer is the issue as the edit left it, in the
        format of `GET issue` (the `returnIssue` parameter of Edit issue, jira-platform-v3.openapi.json),
        or None where the site answers 204 with no body."""
        self.writes.acquire(issue_id)
        resp = self.http.request("PUT", f"{API}/issue/{issue_id}", params={"returnIssue": "true"}, json=body, ref=ref)
        if resp.status_code != 200 or not resp.content:
            return None
        answer = resp.json()
        return answer if isinstance(answer, dict) else None

    def comment(self, issue_id: str, body: dict[str, Any], ref: str) -> dict[str, Any]:
        """`POST issue/{id}/comment`, sent once (a resent comment is a second comment); the
        comment as created ({} when the answer is not JSON)."""
        self.writes.acquire(issue_id)
        answer = self.http.request("POST", f"{API}/issue/{issue_id}/comment", json=body, ref=ref, idempotent=False)
        try:
            created = answer.json()
        except ValueError:
            return {}
        return created if isinstance(created, dict) else {}

    def transition(self, issue_id: str, body: dict[str, Any], ref: str) -> None:
        """`POST issue/{id}/transitions`, sent once."""
        self.writes.acquire(issue_id)
        self.http.request("POST", f"{API}/issue/{issue_id}/transitions", json=body, ref=ref, idempotent=False)
