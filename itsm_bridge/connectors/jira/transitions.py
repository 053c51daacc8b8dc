"""Moving a Jira issue to a status: along the shortest known path of the workflow, learning the
transitions of each status once (workers share the read), exploring where the path is unknown.

A step starts from the status last read or written (no read first); a refused step (the issue
moved meanwhile, or the workflow changed) forgets what was known of that status and reads the
issue afresh.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from itsm_bridge.connectors.jira.api import JiraApi
from itsm_bridge.connectors.jira.records import PLATFORM
from itsm_bridge.connectors.jira.statuses import Statuses
from itsm_bridge.connectors.jira.workflow import StatusMap, Transition, Workflow, fold, wants_resolution
from itsm_bridge.errors import RemoteValidation, Transient, TransitionNotAllowed
from itsm_bridge.model import RemoteRef, State

log = logging.getLogger("itsm_bridge.connectors.jira")

MAX_HOPS = 10  # transitions tried to reach one status


class Mover:
    """Moves issues through the workflow (see the module docstring)."""

    def __init__(
        self,
        api: JiraApi,
        workflow: Workflow,
        statuses: Statuses,
        state_map: StatusMap,
        resolutions: Mapping[str, str],
        learning: threading.RLock,
    ) -> None:
        self.api, self.workflow, self.statuses, self.state_map = api, workflow, statuses, state_map
        self.resolutions = resolutions
        self.learning = learning  # lazy reads of the workflow made once, not per worker

    def transition(self, ref: RemoteRef, state: State, fields: Mapping[str, Any]) -> RemoteRef:
        target = self.state_map.to_vendor(state)
        if target is None:
            raise TransitionNotAllowed(
                f"no Jira status mapped for state {state.value}", platform=PLATFORM, ref=str(ref)
            )
        targets = {fold(v) for v in self.state_map.values.get(state, ())}
        status = self.statuses.of(ref)
        visited = {fold(status)}
        for _ in range(MAX_HOPS):
            if fold(status) in targets:
                return ref
            if not self.workflow.knows(status):
                with self.learning:  # workers moving issues of one status share one read
                    if not self.workflow.knows(status):
                        self.workflow.learn(status, self.transitions_of(ref))
            route = self.workflow.path(status, targets)
            step = route[0] if route else self.workflow.explore_step(status, state, visited, self.state_map.from_vendor)
            if step is None:
                raise TransitionNotAllowed(
                    f"no path from status {status!r} to {target!r} in the workflow (known transitions: "
                    f"{', '.join(f'{t.name} -> {t.to}' for t in self.workflow.transitions(status)) or 'none'})",
                    platform=PLATFORM,
                    ref=str(ref),
                )
            try:
                self.move(ref, step, fields)
                status = step.to
            except (RemoteValidation, Transient) as exc:
                log.info("jira: transition %s from %r failed (%s); reading the issue again", step.id, status, exc)
                self.workflow.forget(status)
                status = self.statuses.of(ref, fresh=True)
            visited.add(fold(status))
        raise TransitionNotAllowed(
            f"{target!r} not reached within {MAX_HOPS} transitions", platform=PLATFORM, ref=str(ref)
        )

    def move(self, ref: RemoteRef, step: Transition, fields: Mapping[str, Any]) -> None:
        """One transition, with the resolution when its screen takes one."""
        body: dict[str, Any] = {"transition": {"id": step.id}}
        if wants_resolution(step, self.state_map.from_vendor):
            body["fields"] = {"resolution": fields.get("resolution") or {"name": self.default_resolution()}}
        self.api.transition(ref.id, body, str(ref))
        self.statuses.know(ref.id, step.to)

    def transitions_of(self, ref: RemoteRef) -> list[Transition]:
        """The transitions the issue offers now, with their screen fields."""
        return [Transition.from_json(t) for t in self.api.transitions(ref.id, str(ref))]

    def default_resolution(self) -> str:
        values = list(self.resolutions.values())
        return "Done" if "Done" in values or not values else values[0]
