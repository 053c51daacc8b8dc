"""The state store interface: what itsm-bridge remembers between runs.

- links: canonical key <-> one remote record per platform;
- shadows: per linked incident, the canonical fields as last synced and each side's version;
- cursors: per source, the watermark and the seen-set at its boundary;
- journal: append-only, hash-chained (HMAC-keyed with a key) record of every intent and outcome,
  with a head (entry count, last hash) to keep outside the database (see `store.chain`);
- quarantine: records held back by blocking Findings, until `retry` clears them;
- a lock so that one sync runs at a time per store.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterator, Protocol

from itsm_bridge.model import RemoteRef

if TYPE_CHECKING:
    from itsm_bridge.errors import ConfigProblem
    from itsm_bridge.store.chain import Head


@dataclass(frozen=True)
class Shadow:
    key: str
    fields: dict[str, Any]  # canonical fields (plain data) as last synced
    versions: dict[str, str] = field(default_factory=dict)  # platform -> vendor version seen
    updated_at: datetime | None = None


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
    def all_shadows(self) -> Iterator[tuple[str, dict[str, Any]]]: ...

    # cursors
    def cursor(self, name: str) -> Cursor | None: ...
    def put_cursor(self, cursor: Cursor) -> None: ...

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
    def open_intents(self) -> list[JournalEntry]: ...
    def journal(self, key: str | None = None) -> Iterator[JournalEntry]: ...
    def verify_journal(self, head: Head | None = None) -> VerifyResult: ...
    def head(self) -> Head: ...

    # quarantine
    def quarantine(
        self, platform: str, findings: list[dict[str, Any]], record: dict[str, Any], *, key: str | None, ref: str | None
    ) -> QuarantineEntry: ...
    def quarantined(self) -> list[QuarantineEntry]: ...
    def release(self, entry_id: int) -> None: ...

    # one writer at a time
    def lock(self, owner: str) -> AbstractContextManager[None]: ...
