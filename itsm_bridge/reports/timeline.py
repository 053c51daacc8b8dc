"""One incident's timeline, as its system of record tells it: what every timing metric reads.

Acknowledged is the first of: the platform's own acknowledged time, the first move out of New,
the first assignment to a person, the first note by a person. It is never after the resolve:
resolving is itself a move out of New. The move out of New and the first assignment come from the
platform's history (`History`, read where the connector can); without it, the notes and the
resolve decide.

The order opened <= acknowledged <= resolved <= closed must hold; each pair that breaks it is
kept in `Timeline.broken`, and such a timeline gives no duration at all (checks.timeline reports
it as `timeline_inconsistent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from itsm_bridge.history import ASSIGNEE, STATE, History
from itsm_bridge.model import Incident, State

ORDER = ("opened", "acknowledged", "resolved", "closed")
"""The times a timeline must give in this order (an absent one is skipped)."""


@dataclass(frozen=True)
class Broken:
    """`later` is before `earlier`, against ORDER."""

    earlier: str
    earlier_at: datetime
    later: str
    later_at: datetime

    def message(self) -> str:
        return (
            f"{self.later} {self.later_at:%Y-%m-%d %H:%M} UTC is before {self.earlier} "
            f"{self.earlier_at:%Y-%m-%d %H:%M} UTC"
        )


@dataclass(frozen=True)
class Timeline:
    """What metrics need of one incident. None in a count means not measured."""

    key: str
    opened: datetime | None
    acknowledged: datetime | None
    finished: datetime | None  # resolved, else closed (else last updated), for a finished incident
    is_open: bool
    priority: str
    category: str
    service: str
    resolved: datetime | None = None
    closed: datetime | None = None
    detected: datetime | None = None
    detected_measured: bool = False  # a detected-at field is configured on the system of record
    reassignments: int | None = None
    reopens: int | None = None
    fixed: bool = False  # resolved or closed now (not canceled, not open)
    broken: tuple[Broken, ...] = ()

    @property
    def consistent(self) -> bool:
        return not self.broken


def timeline(incident: Incident, history: History | None = None) -> Timeline:
    """The timeline of `incident`, with what its platform's `history` adds."""
    history = history or History()
    finished = incident.resolved or incident.closed
    if finished is None and not incident.state.is_open:
        finished = incident.updated
    ack = acknowledged(incident, history)
    times = {"opened": incident.opened, "acknowledged": ack, "resolved": incident.resolved, "closed": incident.closed}
    return Timeline(
        incident.key,
        incident.opened,
        ack,
        None if incident.state.is_open else finished,
        incident.state.is_open,
        incident.priority.value if incident.priority else "(none)",
        incident.category or "(none)",
        incident.service or "(none)",
        resolved=incident.resolved,
        closed=incident.closed,
        detected=history.detected,
        detected_measured=history.detected_field is not None,
        reassignments=history.reassignments,
        reopens=history.reopens,
        fixed=incident.state in (State.RESOLVED, State.CLOSED),
        broken=_broken(times),
    )


def acknowledged(incident: Incident, history: History) -> datetime | None:
    """The first of the acknowledging events, never after the resolve (see the module docstring)."""
    candidates = [
        incident.acknowledged,
        left_new(incident, history),
        first_assignment(incident, history),
        min((c.created for c in incident.comments), default=None),
    ]
    present = [c for c in candidates if c is not None]
    resolve = None if incident.state.is_open else incident.resolved or incident.closed
    if resolve is not None:
        present.append(resolve)
    return min(present, default=None)


def left_new(incident: Incident, history: History) -> datetime | None:
    """When the incident first left New: at its opening when it was created in another state."""
    if not history.read:
        return None
    changes = history.of(STATE)
    first = changes[0].old if changes else incident.state.value
    if first != State.NEW.value:
        return incident.opened
    return next((c.at for c in changes if c.old == State.NEW.value and c.new != State.NEW.value), None)


def first_assignment(incident: Incident, history: History) -> datetime | None:
    """When a person was first assigned: at its opening when it was created with one."""
    if not history.read:
        return None
    changes = history.of(ASSIGNEE)
    first = changes[0].old if changes else (incident.assignee or "")
    if first:
        return incident.opened
    return next((c.at for c in changes if c.new), None)


def _broken(times: dict[str, datetime | None]) -> tuple[Broken, ...]:
    """Adjacent pairs out of ORDER. The acknowledged time is at most the resolve by construction,
    so it is checked against the opening only, and only when the resolve is not itself early."""
    present = [(name, at) for name in ORDER if (at := times[name]) is not None and name != "acknowledged"]
    out = [Broken(a, at_a, b, at_b) for (a, at_a), (b, at_b) in pairwise(present) if at_b < at_a]
    opened, ack = times["opened"], times["acknowledged"]
    if not out and opened is not None and ack is not None and ack < opened:
        out.append(Broken("opened", opened, "acknowledged", ack))
    return tuple(out)
