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
from itsm_bridge.model import OPEN_STATES, Incident, Priority, State

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


@dataclass(slots=True)
class Timeline:
    """What metrics need of one incident. None in a count means not measured. Not changed once
    made, though not frozen: a frozen dataclass sets each of its 16 fields through
    `object.__setattr__`, which tripled the cost of the audit's one timeline per incident."""

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


NOT_READ = History()
_PRIORITY_NAMES: dict[Priority | None, str] = {None: "(none)", **{p: p.value for p in Priority}}
"""A priority's name (`.value` is a property: a lookup here costs less, once per incident)."""
FIXED_STATES = frozenset({State.RESOLVED, State.CLOSED})


def timeline(incident: Incident, history: History | None = None) -> Timeline:
    """The timeline of `incident`, with what its platform's `history` adds."""
    history = history or NOT_READ
    is_open = incident.state in OPEN_STATES  # (a set lookup: the audit builds one per incident)
    opened, resolved, closed = incident.opened, incident.resolved, incident.closed
    finished = None if is_open else resolved or closed or incident.updated
    ack = acknowledged(incident, history, None if is_open else resolved or closed)
    return Timeline(  # every field by position: keywords tripled the cost of the call
        incident.key,
        opened,
        ack,
        finished,
        is_open,
        _PRIORITY_NAMES[incident.priority],
        incident.category or "(none)",
        incident.service or "(none)",
        resolved,
        closed,
        history.detected,
        history.detected_field is not None,
        history.reassignments,
        history.reopens,
        incident.state in FIXED_STATES,
        _broken(opened, ack, resolved, closed),
    )


def acknowledged(incident: Incident, history: History, resolve: datetime | None) -> datetime | None:
    """The first of the acknowledging events, never after `resolve` (see the module docstring)."""
    own = incident.acknowledged
    if not incident.comments and not history.read:  # (as below, without the list: most incidents)
        return resolve if own is None else own if resolve is None else min(own, resolve)
    present = [own, resolve]
    if incident.comments:
        present.append(min(c.created for c in incident.comments))
    if history.read:
        present += [left_new(incident, history), first_assignment(incident, history)]
    return min((p for p in present if p is not None), default=None)


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


def _broken(
    opened: datetime | None, ack: datetime | None, resolved: datetime | None, closed: datetime | None
) -> tuple[Broken, ...]:
    """Adjacent pairs out of ORDER. The acknowledged time is at most the resolve by construction,
    so it is checked against the opening only, and only when the resolve is not itself early."""
    last = None
    for at in (opened, resolved, closed):  # in order, as most are: no list to build
        if at is not None:
            if last is not None and at < last:
                break
            last = at
    else:
        if opened is None or ack is None or ack >= opened:
            return ()
    present = [(n, at) for n, at in (("opened", opened), ("resolved", resolved), ("closed", closed)) if at is not None]
    out = [Broken(a, at_a, b, at_b) for (a, at_a), (b, at_b) in pairwise(present) if at_b < at_a]
    if not out and opened is not None and ack is not None and ack < opened:
        out.append(Broken("opened", opened, "acknowledged", ack))
    return tuple(out)
