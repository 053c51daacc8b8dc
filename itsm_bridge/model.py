"""The canonical, ITIL-aligned incident model every platform is mapped onto.

`Incident` is immutable and compared by value; change it with `Incident.replace(...)`. Every time
inside is a timezone-aware UTC `datetime`: vendors' formats are parsed and rendered in connectors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, IntEnum
from typing import Any


class State(str, Enum):
    """ITIL incident lifecycle states."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELED = "canceled"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


OPEN_STATES: frozenset[State] = frozenset({State.NEW, State.IN_PROGRESS, State.ON_HOLD})
"""The states `State.is_open` answers for (a set lookup, where a loop asks it of every incident)."""


class Level(IntEnum):
    """Impact and urgency: 1 high, 2 medium, 3 low (ServiceNow's numbering)."""

    HIGH = 1
    MEDIUM = 2
    LOW = 3


class Priority(str, Enum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"

    @property
    def rank(self) -> int:
        return int(self.value[1])


class PublicStatus(str, Enum):
    """What a status page tells customers."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Visibility(str, Enum):
    PUBLIC = "public"
    INTERNAL = "internal"


def ensure_utc(value: datetime, name: str = "time") -> datetime:
    """Return `value` in UTC; a naive datetime is refused, since its zone would be a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class RemoteRef:
    """Where a canonical incident lives on one platform."""

    platform: str
    id: str  # the vendor's stable id: sys_id, issue id or key, page incident id
    display: str = ""  # what people call it: INC0010001, OPS-12

    def __str__(self) -> str:
        return f"{self.platform}:{self.display or self.id}"


@dataclass(frozen=True)
class Comment:
    author: str
    body: str
    created: datetime
    visibility: Visibility = Visibility.INTERNAL
    origin: str = ""  # platform the comment was first written on
    id: str = ""  # its id there (a journal entry's sys_id, a Jira comment id): copies name it

    def __post_init__(self) -> None:
        object.__setattr__(self, "created", ensure_utc(self.created, "comment.created"))
        object.__setattr__(self, "visibility", Visibility(self.visibility))


TIME_FIELDS = ("opened", "acknowledged", "resolved", "closed", "updated")


@dataclass(frozen=True)
class Incident:
    """One incident, as itsm-bridge understands it, independent of any vendor."""

    key: str  # canonical correlation key, shared by every platform's copy
    title: str
    description: str = ""
    state: State = State.NEW
    impact: Level = Level.LOW
    urgency: Level = Level.LOW
    priority: Priority | None = None
    category: str | None = None
    subcategory: str | None = None
    service: str | None = None
    assignment_group: str | None = None
    assignee: str | None = None
    reporter: str | None = None
    communication_owner: str | None = None  # who speaks to customers about it (a configured field)
    major: bool = False
    opened: datetime | None = None
    acknowledged: datetime | None = None
    resolved: datetime | None = None
    closed: datetime | None = None
    updated: datetime | None = None
    resolution_code: str | None = None
    resolution_notes: str | None = None
    public_status: PublicStatus | None = None
    public_message: str | None = None
    comments: tuple[Comment, ...] = ()
    links: tuple[RemoteRef, ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("Incident.key must not be empty")
        set_ = object.__setattr__
        set_(self, "state", State(self.state))
        set_(self, "impact", Level(self.impact))
        set_(self, "urgency", Level(self.urgency))
        if self.priority is not None:
            set_(self, "priority", Priority(self.priority))
        if self.public_status is not None:
            set_(self, "public_status", PublicStatus(self.public_status))
        for name in TIME_FIELDS:
            value = getattr(self, name)
            if value is not None:
                set_(self, name, ensure_utc(value, f"Incident.{name}"))
        set_(self, "comments", tuple(self.comments))
        set_(self, "links", tuple(self.links))

    def replace(self, **changes: Any) -> Incident:
        """A copy with `changes` applied (validated like a new Incident)."""
        return dataclasses.replace(self, **changes)

    def link(self, platform: str) -> RemoteRef | None:
        return next((ref for ref in self.links if ref.platform == platform), None)

    def with_link(self, ref: RemoteRef) -> Incident:
        others = tuple(r for r in self.links if r.platform != ref.platform)
        return self.replace(links=(*others, ref))

    # --- plain-data form, for the shadow store, plans and reports
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            out[f.name] = _plain(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        values = dict(data)
        for name in TIME_FIELDS:
            if values.get(name):
                values[name] = datetime.fromisoformat(values[name])
        values["comments"] = tuple(
            Comment(**{**c, "created": datetime.fromisoformat(c["created"])}) for c in values.get("comments", ())
        )
        values["links"] = tuple(RemoteRef(**r) for r in values.get("links", ()))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown Incident field(s): {', '.join(sorted(unknown))}")
        return cls(**values)


SYNC_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(Incident) if f.name not in ("key", "comments", "links")
)
"""Scalar fields that sync compares and carries between platforms."""


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value
