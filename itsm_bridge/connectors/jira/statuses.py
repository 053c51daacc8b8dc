"""What this run knows of its Jira issues: each one's status, and the issues it created.

Both are kept for the latest few thousand issues only (a transition or a lookup follows its read
or create closely), shared by the apply workers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

from itsm_bridge.connectors.jira.api import JiraApi
from itsm_bridge.model import RemoteRef

KEPT = 4096  # issues whose status (read or written) and creation this run remembers
V = TypeVar("V")


class Recent(Generic[V]):
    """A map of the latest `limit` keys written (thread-safe)."""

    def __init__(self, limit: int = KEPT) -> None:
        self.limit = limit
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def get(self, key: str) -> V | None:
        with self._lock:
            return self._items.get(key)


class Statuses:
    """Each issue's status as last read or written in this run."""

    def __init__(self, api: JiraApi) -> None:
        self.api = api
        self._of: Recent[str] = Recent()

    def know(self, issue_id: str, status: str) -> None:
        self._of.put(issue_id, status)

    def assume(self, issue_id: str, status: str) -> None:
        """Take the issue to show `status` unless its status is known this run."""
        if self._of.get(issue_id) is None:
            self._of.put(issue_id, status)

    def of(self, ref: RemoteRef, fresh: bool = False) -> str:
        """The issue's status: as last read or written in this run, else read (a stale one is
        caught by the transition it fails, which reads afresh)."""
        known = None if fresh else self._of.get(ref.id)
        if known is not None:
            return known
        issue = self.api.issue(ref.id, {"fields": "status"}, str(ref))
        status = str(((issue.get("fields") or {}).get("status") or {}).get("name") or "")
        self.know(ref.id, status)
        return status


class Created:
    """The issues this run created, by correlation key, so a lookup reads them back consistently."""

    def __init__(self) -> None:
        self._ids: Recent[list[str]] = Recent()
        self._lock = threading.Lock()

    def add(self, correlation_key: str, issue_id: str) -> None:
        with self._lock:
            self._ids.put(correlation_key, [*(self._ids.get(correlation_key) or []), issue_id])

    def ids(self, correlation_key: str) -> list[str]:
        return list(self._ids.get(correlation_key) or [])
