"""The state store interface: what itsm-bridge remembers between runs.

- links: canonical key <-> one remote record per platform;
- shadows: per linked incident, the merged canonical fields as last synced, how each side last
  showed them, the comments already carried across, and each side's version;
- cursors: per source, the watermark and the seen-set at its boundary;
- facts: per platform, what earlier runs learned of it (a time zone, a workflow);
- people: per platform, the users lookups found by e-mail address, and when;
- journal: append-only, hash-chained (HMAC-keyed with a key) record of every intent and outcome,
  with a head (entry count, last hash) to keep outside the database (see `store.chain`);
- quarantine: records held back by blocking Findings, until `retry` clears them;
- a lock so that one sync runs at a time per store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from itsm_bridge.model import RemoteRef

if TYPE_CHECKING:
    from itsm_bridge.errors import ConfigProblem
    from itsm_bridge.people import PersonEntry
    from itsm_bridge.store.chain import Head


@dataclass(frozen=True)
class Shadow:
    """One linked incident as last synced: the common ancestor of the next three-way merge."""

    key: str
    merged: dict[str, Any]  # canonical fields (plain data, no key/comments/links) as last synced
    sides: dict[str, dict[str, Any]] = field(default_factory=dict)  # platform -> carried values as it last showed them
    comments_seen: frozenset[str] = frozenset()  # fingerprints of the comments already carried across
    versions: dict[str, str] = field(default_factory=dict)  # platform -> vendor version seen
    updated_at: datetime | None = None


ShadowSides = tuple[str, dict[str, Any], dict[str, dict[str, Any]]]
"""A shadow's key, merged fields and sides: what an audit of the store reads of it."""


@dataclass(frozen=True)
class Facts:
    """What earlier runs learned of one platform (the connector's own plain data), kept between runs."""

    platform: str
    values: dict[str, Any]
    learned_at: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    name: str  # e.g. "servicenow"
    value: str  # the watermark, ISO 8601 UTC
    seen: tuple[str, ...] = ()  # record versions at the boundary already taken in


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    run_id: str
    at: str
    kind: str  # intent | outcome | conflict | finding | note
    key: str | None
    platform: str | None
    ref: str | None
    action: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    intent_seq: int | None = None  # on an outcome: the intent it settles


@dataclass(frozen=True)
class QuarantineEntry:
    id: int
    key: str | None
    platform: str
    ref: str | None
    findings: list[dict[str, Any]]
    record: dict[str, Any]
    first_seen: str
    last_seen: str
    attempts: int


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    problems: list[str]
    notes: list[str] = field(default_factory=list)  # what the verification could and could not prove
    head: Head | None = None  # the journal's head as found
    keyed: int = 0  # entries with an HMAC link
    plain: int = 0  # entries with a plain SHA-256 link


class StateStore(Protocol):
    url: str
    journal_key_problem: ConfigProblem | None  # a journal key configured but unusable: writing refused

    def close(self) -> None: ...

    # links
    def link(self, key: str, ref: RemoteRef) -> None: ...
    def unlink(self, key: str, platform: str) -> RemoteRef | None: ...
    def links(self, key: str) -> list[RemoteRef]: ...
    def key_for(self, platform: str, remote_id: str) -> str | None: ...
    def all_links(self) -> Iterator[tuple[str, RemoteRef]]: ...

    # shadows
    def shadow(self, key: str) -> Shadow | None: ...
    def put_shadow(self, shadow: Shadow) -> None: ...
    def all_shadows(self) -> Iterator[Shadow]: ...
    def all_sides(self) -> Iterator[ShadowSides]: ...

    # cursors
    def cursor(self, name: str) -> Cursor | None: ...
    def put_cursor(self, cursor: Cursor) -> None: ...

    # facts learned of each platform
    def facts(self, platform: str) -> Facts | None: ...
    def put_facts(self, platform: str, values: dict[str, Any]) -> None: ...
    def forget_facts(self, platform: str) -> None: ...

    # people found by user lookups (a cache with a time to live)
    def people(self, platform: str) -> list[PersonEntry]: ...
    def put_people(self, entries: Sequence[PersonEntry]) -> None: ...

    # journal
    def append(
        self,
        run_id: str,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        platform: str | None = None,
        ref: str | None = None,
        action: str | None = None,
        intent_seq: int | None = None,
    ) -> JournalEntry: ...
    def append_many(self, entries: Sequence[Mapping[str, Any]]) -> list[JournalEntry]: ...
    def open_intents(self) -> list[JournalEntry]: ...
    def journal(
        self, key: str | None = None, *, kinds: Sequence[str] = (), after: int | None = None, last: int | None = None
    ) -> Iterator[JournalEntry]: ...
    def last_run(self) -> JournalEntry | None: ...
    def failed_in_last_run(self) -> list[str]: ...
    def relinked_since_last_run(self) -> list[str]: ...
    def verify_journal(self, head: Head | None = None) -> VerifyResult: ...
    def head(self) -> Head: ...

    # quarantine
    def quarantine(
        self, platform: str, findings: list[dict[str, Any]], record: dict[str, Any], *, key: str | None, ref: str | None
    ) -> QuarantineEntry: ...
    def quarantined(self, since: str | None = None) -> list[QuarantineEntry]:
        """Open entries, oldest first; with `since` (ISO UTC) only those last seen at or after it."""
        ...

    def release(self, entry_id: int) -> None: ...

    # one writer at a time
    def lock(self, owner: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """The one-writer lock, or Locked; a store whose server queues lock waiters (PostgreSQL)
        waits up to `wait_s` for it first."""
        ...
