"""What a platform tells of an incident's past, beyond its current fields (read by the audit).

Vendor-neutral: a connector that can read its vendor's history (ServiceNow's `sys_audit`, Jira's
changelog) gives a `History` per record; the audit's timing metrics read it. States in a `Change`
are canonical state values (`"new"`, `"in_progress"`...), other values are the vendor's own
(only whether one is empty matters).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from itsm_bridge.records import RemoteRecord

STATE, ASSIGNEE, GROUP = "state", "assignee", "assignment_group"
"""The canonical fields whose changes a History carries."""


@dataclass(frozen=True)
class Change:
    """One field's change, as the platform recorded it."""

    field: str  # STATE, ASSIGNEE or GROUP
    old: str  # "" when it had none
    new: str
    at: datetime


@dataclass(frozen=True)
class History:
    """An incident's past on one platform. `read` says whether `changes` were read at all: when
    they were, a change that is not there did not happen after the record was created. None in a
    count means not measured on this platform (never zero by default)."""

    changes: tuple[Change, ...] = ()
    read: bool = False
    reassignments: int | None = None  # assignment group changes after the first assignment
    reopens: int | None = None  # moves from resolved or closed back to an open state
    detected: datetime | None = None  # the configured detected-at field's time
    detected_field: str | None = None  # the detected-at field, when one is configured

    def of(self, field: str) -> list[Change]:
        """The changes of `field`, oldest first."""
        return sorted((c for c in self.changes if c.field == field), key=lambda c: c.at)


@runtime_checkable
class HistoryReader(Protocol):
    """A connector that reads its vendor's record history (for the audit, read only)."""

    def history(self, records: list[RemoteRecord]) -> dict[str, History]:
        """History by record id, for every record given (one or a few calls per batch)."""
        ...
