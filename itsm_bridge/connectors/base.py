"""What every platform connector offers the sync engine, whatever the vendor.

A connector knows HTTP and its vendor's fields, nothing about other platforms. It reads and writes
`RemoteRecord`s: the vendor's own field values (values, not display values, for logic), the
vendor's own version of the record, and its `RemoteRef`. Mapping to the canonical model happens
in `itsm_bridge.mapping`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator, Protocol, runtime_checkable

from itsm_bridge.model import Comment, RemoteRef, State


@dataclass(frozen=True)
class RemoteRecord:
    ref: RemoteRef
    fields: dict[str, Any]  # vendor field -> value (choice values, sys_ids, names)
    version: str  # sys_mod_count, Jira `updated`, page incident `updated_at`
    updated: datetime  # UTC; the watermark a cursor advances by
    correlation_key: str | None = None  # the canonical key stored on the record, if any
    display: dict[str, str] = field(default_factory=dict)  # display values, for people only
    comments: tuple[Comment, ...] = ()  # notes not written by itsm-bridge itself
    copied: tuple[str, ...] = ()  # ids of other platforms' notes itsm-bridge has copied onto this record
    proven_key: bool = False  # the key comes from a mark a copy cannot carry (a Jira entity property)


Written = RemoteRecord | RemoteRef
"""What a write returns: the record when the vendor's answer carries it, else just its ref (the
engine then fetches what it wrote in bulk, where the connector offers `fetch_many`)."""


def ref_of(written: Written) -> RemoteRef:
    return written.ref if isinstance(written, RemoteRecord) else written


@dataclass(frozen=True)
class NewIssue:
    """One record to create in bulk: its fields, correlation key and the state it should end up in
    (a first transition toward it may ride the create)."""

    fields: dict[str, Any]
    key: str
    state: State | None = None


@dataclass(frozen=True)
class CheckResult:
    """One line of `doctor`: what was checked, whether it is fine, and how to fix it if not."""

    platform: str
    check: str
    ok: bool
    detail: str = ""
    fix: str = ""


@runtime_checkable
class Connector(Protocol):
    name: str

    def changed_since(self, cursor: Any) -> Iterator[RemoteRecord]:
        """Records changed at or after the cursor, oldest first, paged and streamed."""
        ...

    def get(self, ref: RemoteRef) -> RemoteRecord: ...

    def find(self, correlation_key: str) -> RemoteRecord | None:
        """The record carrying `correlation_key`, if any (used before any create is retried)."""
        ...

    def create(self, fields: dict[str, Any], correlation_key: str) -> Written: ...

    def update(self, ref: RemoteRef, fields: dict[str, Any]) -> Written:
        """Send only `fields` (the changed ones)."""
        ...

    def transition(self, ref: RemoteRef, state: State, fields: dict[str, Any] | None = None) -> Written: ...

    def add_comment(self, ref: RemoteRef, comment: Comment) -> None: ...

    def check(self) -> list[CheckResult]:
        """Reachability, credentials, permissions and mapped values, for `doctor`."""
        ...

    @property
    def calls(self) -> int:
        """Requests sent so far (each costs rate limit)."""
        ...
