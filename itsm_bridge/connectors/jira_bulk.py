"""Initial loads: `POST issue/bulk`, 50 issues per call, partial errors mapped back to their items.

A bulk answer lists the created issues in request order and the refused ones by element number.
Each issue's first transition and starting notes ride its create (see `JiraConnector.create_payload`);
nothing is read back here: the engine fetches what it wrote in bulk. The start step's transitions
are learned from the first issue, created alone when they are not known yet.
A bulk call whose answer is lost may have created any of its issues, so each item is then looked
up by its correlation key (until the search lag has passed) before it is created on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itsm_bridge.connectors.jira_records import PLATFORM
from itsm_bridge.errors import ConnectorError, RemoteValidation, Transient
from itsm_bridge.model import RemoteRef

if TYPE_CHECKING:
    from itsm_bridge.connectors.base import NewIssue
    from itsm_bridge.connectors.jira import JiraConnector

BULK_SIZE = 50  # Jira's limit per issue/bulk call
Result = RemoteRef | ConnectorError


def create_many(conn: JiraConnector, items: list[NewIssue]) -> list[Result]:
    results: list[Result | None] = [None] * len(items)
    order = list(range(len(items)))
    while order and conn.start_status is None:  # learn the start step from one issue made alone
        first = order.pop(0)
        try:
            results[first] = ref = conn.create_one(items[first])
            conn.learn_start(ref)
        except ConnectorError as exc:
            results[first] = exc
    for start in range(0, len(order), BULK_SIZE):
        _create_chunk(conn, items, order[start : start + BULK_SIZE], results)
    return [r if r is not None else ConnectorError("no result", platform=PLATFORM) for r in results]


def _create_chunk(conn: JiraConnector, items: list[NewIssue], chunk: list[int], results: list[Result | None]) -> None:
    sendable: list[int] = []
    bodies: list[dict[str, Any]] = []
    landings: list[str | None] = []
    for i in chunk:
        try:
            body, landing = conn.create_payload(items[i])
        except RemoteValidation as exc:  # required fields empty: a Finding, nothing sent
            results[i] = exc
            continue
        bodies.append(body)
        landings.append(landing)
        sendable.append(i)
    if not bodies:
        return
    try:
        answer = conn.http.request("POST", "/rest/api/3/issue/bulk", json={"issueUpdates": bodies}, idempotent=False).json()
    except Transient:
        for n, i in enumerate(sendable):
            try:
                found = conn.await_committed(items[i].key)
                results[i] = found.ref if found else conn.post_create(bodies[n], items[i].key, landings[n])
            except ConnectorError as exc:
                results[i] = exc
        return
    failed = {int(err["failedElementNumber"]): _element_error(err) for err in answer.get("errors") or []}
    created = iter(answer.get("issues") or [])
    for n, i in enumerate(sendable):
        if n not in failed:
            results[i] = conn.created(items[i].key, next(created), landings[n])
        elif "transition" in bodies[n]:
            results[i] = _without_transition(conn, items[i].key, bodies[n], failed[n])
        else:
            results[i] = failed[n]


def _without_transition(conn: JiraConnector, key: str, body: dict[str, Any], refused: RemoteValidation) -> Result:
    """A create refused while carrying a transition is tried once without it: the workflow may
    have changed since it was learned (or remembered from an earlier run). If that one goes
    through, the start step is learned again; if not, the first refusal stands."""
    try:
        ref = conn.post_create({k: v for k, v in body.items() if k != "transition"}, key, None)
    except RemoteValidation:
        return refused
    except ConnectorError as exc:
        return exc
    if conn.start_status:
        conn.workflow.forget(conn.start_status)
    conn.learn_start(ref)
    return ref


def _element_error(err: dict[str, Any]) -> RemoteValidation:
    element = err.get("elementErrors") or {}
    errors = element.get("errors") or {}
    parts = list(element.get("errorMessages") or []) + [f"{k}: {v}" for k, v in errors.items()]
    return RemoteValidation("; ".join(parts) or "refused", fields=sorted(errors), platform=PLATFORM, status=err.get("status"))
