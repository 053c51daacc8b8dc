"""An in-memory connector and mapper, for fast tests of the planner and the applier.

In the spirit of httpx's `MockTransport`: `FakeConnector` keeps a platform's records in dicts and
offers the connector protocol and its optional abilities (bulk create, bulk fetch, note lookup,
learned facts, state hints; `FakePage` adds publishing), counting every call (each would cost rate limit on a vendor) and
failing a chosen call on request::

    jira = FakeConnector("jira")
    jira.fail("create", Transient("502 from the fake", platform="jira"), where="INC0001")

`FakeMapper` stores canonical values as they are, so a test reads and writes plain incidents.
The loopback sandbox stays the test of vendor behaviour; these fakes test the sync's own logic.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from itsm_bridge.connectors.base import CheckResult, NewIssue, PublishResult
from itsm_bridge.errors import BridgeError, NotFound
from itsm_bridge.findings import Finding
from itsm_bridge.model import Comment, Incident, RemoteRef, State
from itsm_bridge.records import ChangeRead, Pages, RemoteRecord, Written

__all__ = ["FakeConnector", "FakeMapper", "FakePage"]

NOT_FIELDS = ("key", "comments", "links")  # an incident's parts that are not plain fields on a record


class FakeConnector:
    """A platform held in memory. `records` maps a record id to its fields; seed it with `add`
    and change it as a person would with `edit` (neither counts as a call)."""

    def __init__(self, name: str, *, clock: Callable[[], datetime] | None = None, prefix: str = "") -> None:
        self.name = name
        self.records: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}  # record id -> the correlation key it carries
        self.versions: dict[str, int] = {}
        self.updated: dict[str, datetime] = {}
        self.notes: dict[str, list[Comment]] = {}  # people's notes, by record id
        self.copies: dict[str, list[Comment]] = {}  # notes the bridge copied on, by record id
        self.by_method: Counter[str] = Counter()
        self.facts_kept: dict[str, Any] = {}
        self.assumed: dict[str, State] = {}
        self._failures: list[tuple[str, str | None, BridgeError, list[int]]] = []
        self._ids = itertools.count(1)
        self._prefix = prefix or name[:4].upper()
        self._clock = clock or (lambda: datetime.now(UTC))

    # --- seeding and inspection (no call counted)
    def add(self, fields: dict[str, Any], key: str | None = None) -> RemoteRef:
        """A record made by a person (or by an earlier run), carrying `key` when given."""
        return self._put(dict(fields), key)

    def edit(self, record_id: str, **fields: Any) -> None:
        """A person's edit: new values, a new version, a new change time."""
        self.records[record_id].update(fields)
        self._touch(record_id)

    def note(self, record_id: str, comment: Comment) -> None:
        """A note a person wrote on the record."""
        self.notes.setdefault(record_id, []).append(comment)
        self._touch(record_id)

    def find_id(self, key: str) -> str | None:
        return next((i for i, k in self.keys.items() if k == key), None)

    def fail(self, method: str, error: BridgeError, *, where: str | None = None, times: int = 1) -> None:
        """Make the next `times` calls of `method` fail with `error`; with `where`, only calls
        about that record id or correlation key."""
        self._failures.append((method, where, error, [times]))

    @property
    def calls(self) -> int:
        """Calls made so far (each would cost rate limit on a vendor)."""
        return sum(self.by_method.values())

    @property
    def writes(self) -> int:
        """Write calls made so far (those that failed included)."""
        return sum(
            n
            for m, n in self.by_method.items()
            if m in ("create", "create_many", "update", "transition", "add_comment")
        )

    # --- the connector protocol
    def changed_since(self, cursor: Any) -> ChangeRead:
        """Every record changed at or after the cursor (its seen-set skipped), oldest first: one
        call; read to the end, it is complete to the moment the read began."""
        self._call("changed_since")
        return ChangeRead(self._changes(cursor))

    def _changes(self, cursor: Any) -> Pages:
        began = self._clock()
        since = cursor.read_from(timedelta(0)) if cursor is not None else None
        for record_id in sorted(self.records, key=lambda i: self.updated[i]):
            if since is not None and self.updated[record_id] < since:
                continue
            if cursor is not None and cursor.already_applied(record_id, str(self.versions[record_id])):
                continue
            yield self._record(record_id)
        return began

    def get(self, ref: RemoteRef) -> RemoteRecord:
        self._call("get", ref.id)
        return self._record(self._known(ref.id))

    def find(self, correlation_key: str) -> RemoteRecord | None:
        self._call("find", correlation_key)
        found = self.find_id(correlation_key)
        return self._record(found) if found is not None else None

    def create(self, fields: dict[str, Any], correlation_key: str) -> Written:
        self._call("create", correlation_key)
        return self._record(self._put(dict(fields), correlation_key).id)

    def update(self, ref: RemoteRef, fields: dict[str, Any]) -> Written:
        self._call("update", ref.id, self.keys.get(ref.id))
        self.records[self._known(ref.id)].update(fields)
        self._touch(ref.id)
        return self._record(ref.id)

    def transition(self, ref: RemoteRef, state: State, fields: Any = None) -> Written:
        self._call("transition", ref.id, self.keys.get(ref.id))
        record = self.records[self._known(ref.id)]
        record["state"] = state.value
        if isinstance(fields, dict):
            record.update(fields)
        self._touch(ref.id)
        return self._record(ref.id)

    def add_comment(self, ref: RemoteRef, comment: Comment) -> None:
        self._call("add_comment", ref.id, self.keys.get(ref.id))
        self.copies.setdefault(self._known(ref.id), []).append(comment)

    def check(self) -> list[CheckResult]:
        self._call("check")
        return [CheckResult(self.name, "reachable", True, "in memory")]

    # --- optional abilities
    def create_many(self, items: list[NewIssue]) -> list[RemoteRef | BridgeError]:
        """One call for many creates; each answer is the new record's ref (read back in bulk
        later, as from a vendor whose bulk answer carries ids only), or that item's error."""
        self._call("create_many")
        out: list[RemoteRef | BridgeError] = []
        for item in items:
            error = self._failure("create", item.key)
            if error is not None:
                out.append(error)
                continue
            fields = {**item.fields, **({"state": item.state.value} if item.state is not None else {})}
            out.append(self._put(fields, item.key))
        return out

    def fetch_many(self, refs: list[RemoteRef]) -> list[RemoteRecord]:
        self._call("fetch_many")
        return [self._record(r.id) for r in refs if r.id in self.records]

    def has_note(self, ref: RemoteRef, comment: Comment) -> bool:
        self._call("has_note", ref.id)
        return any((c.body, c.id) == (comment.body, comment.id) for c in self.copies.get(ref.id, []))  # as marked

    def facts(self) -> dict[str, Any]:
        return dict(self.facts_kept)

    def restore(self, facts: dict[str, Any]) -> None:
        self.facts_kept = dict(facts)

    def assume_state(self, record_id: str, state: State) -> None:
        self.assumed[record_id] = state

    # --- inside
    def _call(self, method: str, *about: str | None) -> None:
        self.by_method[method] += 1
        for where in about or (None,):
            error = self._failure(method, where)
            if error is not None:
                raise error

    def _failure(self, method: str, where: str | None) -> BridgeError | None:
        for name, wanted, error, left in self._failures:
            if name == method and left[0] > 0 and (wanted is None or wanted == where):
                left[0] -= 1
                return error
        return None

    def _known(self, record_id: str) -> str:
        if record_id not in self.records:
            raise NotFound(f"{self.name} has no record {record_id}", platform=self.name)
        return record_id

    def _put(self, fields: dict[str, Any], key: str | None) -> RemoteRef:
        record_id = f"{self._prefix}-{next(self._ids)}"
        self.records[record_id] = fields
        self.versions[record_id] = 0
        if key is not None:
            self.keys[record_id] = key
        self._touch(record_id, new=True)
        return RemoteRef(self.name, record_id, record_id)

    def _touch(self, record_id: str, new: bool = False) -> None:
        self.versions[record_id] = 0 if new else self.versions[record_id] + 1
        self.updated[record_id] = self._clock()

    def _record(self, record_id: str) -> RemoteRecord:
        return RemoteRecord(
            ref=RemoteRef(self.name, record_id, record_id),
            fields=dict(self.records[record_id]),
            version=str(self.versions[record_id]),
            updated=self.updated[record_id],
            correlation_key=self.keys.get(record_id),
            comments=tuple(self.notes.get(record_id, ())),
            copied=tuple(c.id for c in self.copies.get(record_id, ()) if c.id),
        )


class FakePage(FakeConnector):
    """A publish-only target (a status page) in memory: `publish` creates the page incident for a
    key, updates it, or resolves it; `threads` names the thread each publish ran on."""

    def __init__(self, name: str = "statuspage", **kw: Any) -> None:
        super().__init__(name, **kw)
        self.threads: list[str] = []

    def publish(
        self, incident: Incident, ref: RemoteRef | None = None, *, next_update_at: datetime | None = None
    ) -> PublishResult:
        self._call("publish", incident.key)
        self.threads.append(threading.current_thread().name)
        record_id = ref.id if ref is not None else self.find_id(incident.key)
        fields = {"title": incident.title, "state": incident.state.value, "public_message": incident.public_message}
        if record_id is None:
            if not incident.state.is_open:
                return PublishResult("skipped", detail="resolved before it was published")
            return PublishResult("created", self._put(fields, incident.key))
        self.records[self._known(record_id)].update(fields)
        self._touch(record_id)
        done = RemoteRef(self.name, record_id, record_id)
        return PublishResult("updated" if incident.state.is_open else "resolved", done)


class FakeMapper:
    """A record's fields are the incident's canonical values (plain data), its key the one it carries."""

    def __init__(self, platform: str) -> None:
        self.platform = platform

    def to_canonical(self, record: RemoteRecord) -> tuple[Incident, list[Finding]]:
        known = {f.name for f in dataclasses.fields(Incident)} - set(NOT_FIELDS)
        values = {k: v for k, v in record.fields.items() if k in known}
        if not values.get("updated"):
            values["updated"] = record.updated.isoformat()
        incident = Incident.from_dict({**values, "key": record.correlation_key or record.ref.id})
        return incident.replace(comments=record.comments), []

    def to_fields(
        self, incident: Incident, changed: Iterable[str] | None = None
    ) -> tuple[dict[str, Any], list[Finding]]:
        data = {k: v for k, v in incident.to_dict().items() if k not in (*NOT_FIELDS, "state", "updated")}
        if changed is not None:
            data = {k: v for k, v in data.items() if k in set(changed)}
        return data, []

    def transition_fields(self, incident: Incident, state: State) -> dict[str, Any]:
        """A move to a resolved state carries the resolution, as on the vendors."""
        if state not in (State.RESOLVED, State.CLOSED):
            return {}
        return {"resolution_code": incident.resolution_code, "resolution_notes": incident.resolution_notes}


def incident_fields(incident: Incident) -> dict[str, Any]:
    """An incident as a fake record's fields."""
    return {k: v for k, v in incident.to_dict().items() if k not in NOT_FIELDS}
