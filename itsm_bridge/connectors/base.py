"""What every platform connector offers the sync engine, whatever the vendor.

A connector knows HTTP and its vendor's fields, nothing about other platforms, and imports
nothing from `sync/` or `mapping/`. It reads and writes `RemoteRecord`s (`itsm_bridge.records`):
the vendor's own field values (values, not display values, for logic), the vendor's own version
of the record, and its `RemoteRef`. Mapping to the canonical model happens in
`itsm_bridge.mapping`, not here.

`Connector` is what every connector offers; what only some vendors allow (bulk create, bulk
fetch, reads by ids, note lookup, learned facts, state hints, a preflight, a lagging search,
publishing) is a small `runtime_checkable` protocol below, which the engine asks for with `isinstance`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from itsm_bridge.model import Comment, Incident, RemoteRef, State
from itsm_bridge.records import ChangeRead, RemoteRecord, Written
from itsm_bridge.watermark import Watermark

if TYPE_CHECKING:
    from datetime import datetime

    from itsm_bridge.errors import BridgeError
    from itsm_bridge.findings import Finding
    from itsm_bridge.people import PersonEntry


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
    warning: bool = False  # fine for sync, but a feature works less well: shown, never in the exit code


@runtime_checkable
class Connector(Protocol):
    """One platform's records over its vendor's API."""

    name: str

    def changed_since(self, cursor: Watermark | None) -> ChangeRead:
        """Records changed at or after the cursor's read-from point (all of them for None),
        oldest first, paged and streamed; records the cursor has already applied are left out."""
        ...

    def get(self, ref: RemoteRef) -> RemoteRecord: ...

    def find(self, correlation_key: str) -> RemoteRecord | None:
        """The record carrying `correlation_key`, if any (used before any create is retried)."""
        ...

    def create(self, fields: dict[str, Any], correlation_key: str) -> Written: ...

    def update(self, ref: RemoteRef, fields: dict[str, Any]) -> Written:
        """Send only `fields` (the changed ones)."""
        ...

    def transition(self, ref: RemoteRef, state: State, fields: dict[str, Any] | None = None) -> Written:
        """Move the record to `state`; `fields` are the vendor fields the move carries (a
        resolution code and notes), as the platform's mapper produced them."""
        ...

    def add_comment(self, ref: RemoteRef, comment: Comment) -> None: ...

    def check(self) -> list[CheckResult]:
        """Reachability, credentials, permissions and mapped values, for `doctor`."""
        ...

    @property
    def calls(self) -> int:
        """Requests sent so far (each costs rate limit)."""
        ...


# --- What some connectors can do besides the contract. The engine asks with `isinstance`.


@runtime_checkable
class CreatesInBulk(Protocol):
    """Creates many records in few calls. A connector may say how many one call takes
    (`bulk_size`): the engine then hands it that many at a time, and each call's records go on to
    their next writes while the next call is made."""

    def create_many(self, items: list[NewIssue]) -> Sequence[Written | BridgeError]:
        """One result per item, in order: what was written, or the error that item met (a
        refused item does not stop the others)."""
        ...


@runtime_checkable
class FetchesInBulk(Protocol):
    """Reads many records by ref in few calls (read-after-write consistent)."""

    def fetch_many(self, refs: list[RemoteRef]) -> list[RemoteRecord]:
        """The records found; missing ones are left out."""
        ...


@runtime_checkable
class GetsMany(Protocol):
    """Reads many records by ref in few calls, each as complete as `get` reads it (notes
    included). Unlike `FetchesInBulk` (the read-back after writes), it is asked only for what
    a caller names: a connector may offer it where a read-back would cost more than it saves."""

    def get_many(self, refs: list[RemoteRef]) -> list[RemoteRecord]:
        """The records found; missing ones (gone, hidden, or no such id) are left out."""
        ...


@runtime_checkable
class LooksUpNotes(Protocol):
    """Tells whether a note copy is already on a record (a copy whose answer was lost)."""

    def has_note(self, ref: RemoteRef, comment: Comment) -> bool: ...


@runtime_checkable
class LearnsFacts(Protocol):
    """Keeps what a run learned of its platform (time zone, workflow, user) for the next run."""

    def facts(self) -> dict[str, Any]:
        """What to keep (JSON-serialisable)."""
        ...

    def restore(self, facts: dict[str, Any]) -> None:
        """Start from what an earlier run kept (`{}`: forget it)."""
        ...


@runtime_checkable
class FindsPeople(Protocol):
    """Finds the account of a person (a canonical e-mail address): the people map, what earlier
    lookups found (kept in the state store for the configured time to live), else one lookup."""

    def account_for(self, person: str | None) -> str | None:
        """The platform's id of `person`; None when it is no address or nobody here has it."""
        ...

    def people_found(self) -> list[PersonEntry]:
        """What lookups found (to keep in the state store)."""
        ...

    def restore_people(self, entries: list[PersonEntry]) -> None:
        """Start from what earlier runs found."""
        ...


@runtime_checkable
class TakesStateHints(Protocol):
    """Takes a record not read this cycle to be in the state it showed when last synced."""

    def assume_state(self, record_id: str, state: State) -> None: ...


@runtime_checkable
class NeedsPreflight(Protocol):
    """Has something to make sure of before any write of a run (a vendor's release)."""

    def preflight(self) -> None: ...


@runtime_checkable
class SearchLags(Protocol):
    """Searches that lag behind writes: a record just created may not be found for a while."""

    @property
    def search_lag_s(self) -> float: ...


PublishOutcome = Literal["created", "updated", "resolved", "deferred", "unchanged", "skipped", "blocked"]


@dataclass(frozen=True)
class PublishResult:
    """What `publish` did for one incident."""

    action: PublishOutcome
    ref: RemoteRef | None = None
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""


@runtime_checkable
class Publisher(Protocol):
    """A one-way target that decides itself whether an incident is created, updated or resolved."""

    def publish(
        self, incident: Incident, ref: RemoteRef | None = None, *, next_update_at: datetime | None = None
    ) -> PublishResult: ...
