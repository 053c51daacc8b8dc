"""Moving a Jira issue to a status: along the shortest known path of the workflow, learning the
transitions of each status once (workers share the read), exploring where the path is unknown.

A step starts from the status last read or written (no read first); a refused step (the issue
moved meanwhile, or the workflow changed) forgets what was known of that status and reads the
issue afresh.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from itsm_bridge.connectors.jira_records import PLATFORM
from itsm_bridge.connectors.jira_create import wants_resolution
from itsm_bridge.connectors.jira_workflow import Transition, fold
from itsm_bridge.errors import RemoteValidation, Transient, TransitionNotAllowed
from itsm_bridge.model import RemoteRef, State

if TYPE_CHECKING:
    from itsm_bridge.connectors.jira import JiraConnector

log = logging.getLogger("itsm_bridge.connectors.jira")

API = "/rest/api/3"
MAX_HOPS = 10  # transitions tried to reach one status


def transition(conn: JiraConnector, ref: RemoteRef, state: State, fields: dict[str, Any]) -> RemoteRef:
    target = conn.state_map.to_vendor(state)
    if target is None:
        raise TransitionNotAllowed(f"no Jira status mapped for state {state.value}", platform=PLATFORM, ref=str(ref))
    targets = {fold(v) for v in conn.state_map.values.get(state, ())}
    status = conn.status_of(ref)
    visited = {fold(status)}
    for _ in range(MAX_HOPS):
        if fold(status) in targets:
            return ref
        if not conn.workflow.knows(status):
            with conn.learning:  # workers moving issues of one status share one read
                if not conn.workflow.knows(status):
                    conn.workflow.learn(status, conn.transitions_of(ref))
        route = conn.workflow.path(status, targets)
        step = route[0] if route else conn.workflow.explore_step(status, state, visited, conn.state_map.from_vendor)
        if step is None:
            raise TransitionNotAllowed(
                f"no path from status {status!r} to {target!r} in the workflow (known transitions: "
                f"{', '.join(f'{t.name} -> {t.to}' for t in conn.workflow.transitions(status)) or 'none'})",
                platform=PLATFORM, ref=str(ref))  # fmt: skip
        try:
            move(conn, ref, step, fields)
            status = step.to
        except (RemoteValidation, Transient) as exc:
            log.info("jira: transition %s from %r failed (%s); reading the issue again", step.id, status, exc)
            conn.workflow.forget(status)
            status = conn.status_of(ref, fresh=True)
        visited.add(fold(status))
    raise TransitionNotAllowed(f"{target!r} not reached within {MAX_HOPS} transitions", platform=PLATFORM, ref=str(ref))


def move(conn: JiraConnector, ref: RemoteRef, step: Transition, fields: dict[str, Any]) -> None:
    """One transition, with the resolution when its screen takes one."""
    body: dict[str, Any] = {"transition": {"id": step.id}}
    if wants_resolution(conn, step):
        body["fields"] = {"resolution": fields.get("resolution") or {"name": conn.default_resolution()}}
    conn.writes.acquire(ref.id)
    conn.http.request("POST", f"{API}/issue/{ref.id}/transitions", json=body, ref=str(ref), idempotent=False)
    conn.know_status(ref.id, step.to)

