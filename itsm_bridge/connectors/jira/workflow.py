"""What we know of a Jira workflow, learned from `GET issue/{key}/transitions`, and paths through it.

Jira only tells which transitions leave the status an issue is in now, so the graph is learned
as issues move: transitions are cached per status name, and a path to a status several steps away
is found by breadth-first search over what is known. Where the known graph has no path yet, the
connector explores one step at a time toward the target's place in the lifecycle (see
`explore_step`), never through a status past the target (so never through Canceled on the way to
Resolved).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from itsm_bridge.model import State

# Where each canonical state sits in the lifecycle; exploration never passes the target's rank.
RANK: dict[State, int] = {
    State.NEW: 0,
    State.IN_PROGRESS: 1,
    State.ON_HOLD: 1,
    State.RESOLVED: 2,
    State.CLOSED: 3,
    State.CANCELED: 4,
}


def fold(status: str) -> str:
    return status.casefold()


class StatusMap(Protocol):
    """Canonical states <-> Jira status names, as configured (`Config.state_map("jira")`)."""

    @property
    def values(self) -> Mapping[State, Sequence[str]]: ...

    def to_vendor(self, state: State) -> str | None: ...

    def from_vendor(self, value: str) -> State | None: ...

    def vendor_values(self) -> list[str]: ...


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to: str  # target status name
    fields: frozenset[str] | None = None  # screen fields; None when the server did not say
    required: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transition:
        raw_fields = data.get("fields")
        fields = frozenset(raw_fields) if isinstance(raw_fields, dict) else None
        required = frozenset(k for k, v in (raw_fields or {}).items() if isinstance(v, dict) and v.get("required"))
        to = data.get("to") or {}
        return cls(str(data["id"]), str(data.get("name") or ""), str(to.get("name") or ""), fields, required)

    def takes(self, field: str) -> bool:
        return self.fields is not None and field in self.fields

    def to_data(self) -> dict[str, Any]:
        fields = sorted(self.fields) if self.fields is not None else None
        return {"id": self.id, "name": self.name, "to": self.to, "fields": fields, "required": sorted(self.required)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Transition:
        fields = data.get("fields")
        return cls(
            str(data["id"]),
            str(data.get("name") or ""),
            str(data["to"]),
            frozenset(fields) if fields is not None else None,
            frozenset(data.get("required") or ()),
        )


class Workflow:
    """Transitions known per status (thread-safe), with path finding over them."""

    def __init__(self) -> None:
        self._edges: dict[str, tuple[Transition, ...]] = {}
        self._names: dict[str, str] = {}  # folded -> as Jira spells it
        self._lock = threading.Lock()

    def knows(self, status: str) -> bool:
        with self._lock:
            return fold(status) in self._edges

    def learn(self, status: str, transitions: list[Transition]) -> None:
        with self._lock:
            self._edges[fold(status)] = tuple(transitions)
            self._names.setdefault(fold(status), status)
            for t in transitions:
                self._names.setdefault(fold(t.to), t.to)

    def forget(self, status: str) -> None:
        """Drop a status's cached transitions (a cached one was refused: conditions changed)."""
        with self._lock:
            self._edges.pop(fold(status), None)

    def to_data(self) -> dict[str, list[dict[str, Any]]]:
        """The known graph, by status as Jira spells it (kept between runs)."""
        with self._lock:
            return {self._names.get(k, k): [t.to_data() for t in ts] for k, ts in sorted(self._edges.items())}

    def load(self, data: dict[str, Any]) -> None:
        for status, transitions in data.items():
            self.learn(status, [Transition.from_data(t) for t in transitions])

    def transitions(self, status: str) -> tuple[Transition, ...]:
        with self._lock:
            return self._edges.get(fold(status), ())

    def statuses(self) -> list[str]:
        """Every status name seen, as a source or a target of a transition."""
        with self._lock:
            return list(self._names.values())

    def path(self, source: str, targets: set[str]) -> list[Transition] | None:
        """Shortest known transition path from `source` to any status in `targets` (folded names);
        [] when already there, None when the known graph has none."""
        start = fold(source)
        if start in targets:
            return []
        with self._lock:
            edges = dict(self._edges)
        queue: deque[tuple[str, list[Transition]]] = deque([(start, [])])
        seen = {start}
        while queue:
            status, route = queue.popleft()
            for t in edges.get(status, ()):
                nxt = fold(t.to)
                if nxt in seen:
                    continue
                if nxt in targets:
                    return [*route, t]
                seen.add(nxt)
                queue.append((nxt, [*route, t]))
        return None

    def explore_step(
        self,
        source: str,
        target: State,
        visited: set[str],
        state_of: Callable[[str], State | None],
    ) -> Transition | None:
        """One step toward `target` when no known path exists: to an unvisited status whose
        canonical state lies no later in the lifecycle than the target, the furthest such first.
        Canceled is only ever entered as the target itself, and only from an open status."""
        best: tuple[int, Transition] | None = None
        for t in self.transitions(source):
            if fold(t.to) in visited:
                continue
            state = state_of(t.to)
            if state is None or state is State.CANCELED or RANK[state] > RANK[target]:
                continue
            if target is State.CANCELED and not state.is_open:
                continue  # cancel from an open status, never via Resolved or Closed
            if best is None or RANK[state] > best[0]:
                best = (RANK[state], t)
        return best[1] if best else None


def wants_resolution(step: Transition, state_of: Callable[[str], State | None]) -> bool:
    """Whether a step should carry a resolution: its screen takes one, or (screen unknown) it
    enters a finished state. Real Jira sets a resolution only through a transition screen or a
    post-function, so a finished issue moved without one stays Unresolved."""
    if step.fields is not None:
        return step.takes("resolution")
    return state_of(step.to) in (State.RESOLVED, State.CLOSED, State.CANCELED)
