"""Creating Jira issues: alone (`POST issue`) or 50 per `POST issue/bulk` call.

Each issue's first transition rides its create where its screen wants nothing (`create_payload`);
starting notes never do (`comment` is on no create screen: the engine adds them by their own
calls). Nothing is read back here: the engine fetches what it wrote in bulk. The start step's
transitions are learned from the first issue, created alone when they are not known yet.

A bulk answer lists the created issues in request order and the refused ones by element number;
when every element is refused Jira answers 400 with the same shape, and each item gets its own
error (never the whole batch's). A transition refused while riding a create leaves the issue in
the start step (the 201's `transition.status` says so): the issue is recorded there, and the
engine's transition moves it on by its own call. A bulk call whose answer is lost may have
created any of its issues, so each item is then looked up by its correlation key (until the
search lag has passed) before it is created on its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from itsm_bridge import stopping
from itsm_bridge.connectors.jira_meta import create_body
from itsm_bridge.connectors.jira_records import PLATFORM, checked_key
from itsm_bridge.connectors.jira_workflow import Transition, fold
from itsm_bridge.errors import ConnectorError, RemoteValidation, Transient
from itsm_bridge.model import RemoteRef, State
from itsm_bridge.stopping import Interrupted

if TYPE_CHECKING:
    from itsm_bridge.connectors.base import NewIssue
    from itsm_bridge.connectors.jira import JiraConnector

log = logging.getLogger("itsm_bridge.connectors.jira")

API = "/rest/api/3"
BULK_SIZE = 50  # Jira's limit per issue/bulk call
Result = RemoteRef | ConnectorError | Interrupted  # Interrupted: the run stopped before or during its chunk


def create_one(conn: JiraConnector, item: NewIssue) -> RemoteRef:
    body, landing = create_payload(conn, item)
    return post_create(conn, body, item.key, landing)


def create_many(conn: JiraConnector, items: list[NewIssue]) -> list[Result]:
    results: list[Result | None] = [None] * len(items)
    order = list(range(len(items)))
    while order and conn.start_status is None:  # learn the start step from one issue made alone
        first = order.pop(0)
        try:
            results[first] = ref = create_one(conn, items[first])
            learn_start(conn, ref)
        except ConnectorError as exc:
            results[first] = exc
    for start in range(0, len(order), BULK_SIZE):
        chunk = order[start : start + BULK_SIZE]
        try:
            stopping.begin_action()
            stopping.check(f"creating {len(chunk)} Jira issue(s) in bulk")  # a stopped run begins no chunk
            _create_chunk(conn, items, chunk, results)
        except Interrupted as exc:  # what was created stays known; a chunk cut short may exist
            for i in order[start:]:
                if results[i] is None:
                    results[i] = exc if i in chunk else Interrupted("not sent: the run was interrupted", unsent=True)
            break
    return [r if r is not None else ConnectorError("no result", platform=PLATFORM) for r in results]


def _create_chunk(conn: JiraConnector, items: list[NewIssue], chunk: list[int], results: list[Result | None]) -> None:
    sendable: list[int] = []
    bodies: list[dict[str, Any]] = []
    landings: list[str | None] = []
    for i in chunk:
        try:
            body, landing = create_payload(conn, items[i])
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
    except RemoteValidation as exc:  # every element refused (or the call itself): each item's own error
        answer = getattr(exc, "answer", None) or {}
        if not answer.get("errors"):
            for i in sendable:
                results[i] = exc
            return
    except Transient:
        for n, i in enumerate(sendable):
            try:
                found = conn.await_committed(items[i].key)
                results[i] = found.ref if found else post_create(conn, bodies[n], items[i].key, landings[n])
            except ConnectorError as exc:
                results[i] = exc
        return
    failed = {int(err["failedElementNumber"]): _element_error(err) for err in answer.get("errors") or []}
    answers = iter(answer.get("issues") or [])
    for n, i in enumerate(sendable):
        results[i] = failed[n] if n in failed else created(conn, items[i].key, next(answers), landings[n])


def _element_error(err: dict[str, Any]) -> ConnectorError:
    """One refused element as its item's error: the record refused as sent (RemoteValidation),
    or, for a status of 429 or 5xx, a passing fault (Transient: tried again next run)."""
    element = err.get("elementErrors") or {}
    errors = element.get("errors") or {}
    parts = list(element.get("errorMessages") or []) + [f"{k}: {v}" for k, v in errors.items()]
    message, status = "; ".join(parts) or "refused", err.get("status")
    if isinstance(status, int) and (status == 429 or status >= 500):
        return Transient(message, platform=PLATFORM, status=status)
    return RemoteValidation(message, fields=sorted(errors), platform=PLATFORM, status=status)


def create_payload(conn: JiraConnector, item: NewIssue) -> tuple[dict[str, Any], str | None]:
    """The `POST issue` body and the status the issue lands in (None: the start step, not yet
    known). The first step toward `item.state` is applied by the create where it needs no
    screen field, so most new issues cost one write."""
    body = create_body(conn.createmeta(), conn.settings, item.fields, checked_key(item.key))
    landing = conn.start_status
    step = first_step(conn, item.state) if item.state is not None and landing else None
    if step is not None:
        body["transition"] = {"id": step.id}
        landing = step.to
    return body, landing


def first_step(conn: JiraConnector, state: State) -> Transition | None:
    """The step a create can apply on the way to `state`, or None."""
    assert conn.start_status is not None
    if not conn.workflow.knows(conn.start_status):
        return None
    targets = {fold(v) for v in conn.state_map.values.get(state, ())}
    route = conn.workflow.path(conn.start_status, targets)
    if route == []:
        return None  # already there
    # the first step of the known path, else the one `transition` would explore first
    step = route[0] if route else conn.workflow.explore_step(
        conn.start_status, state, {fold(conn.start_status)}, conn.state_map.from_vendor)
    if step is None:
        return None
    if step.required or wants_resolution(conn, step):
        return None  # its screen takes a value a create cannot give (the resolution): its own transition
    return step


def wants_resolution(conn: JiraConnector, step: Transition) -> bool:
    """Whether a step should carry a resolution: its screen takes one, or (screen unknown) it
    enters a finished state. Real Jira sets a resolution only through a transition screen or a
    post-function, so a finished issue moved without one stays Unresolved."""
    if step.fields is not None:
        return step.takes("resolution")
    return conn.state_map.from_vendor(step.to) in (State.RESOLVED, State.CLOSED, State.CANCELED)


def post_create(conn: JiraConnector, body: dict[str, Any], correlation_key: str, landing: str | None) -> RemoteRef:
    """Send one create; after a lost answer, look the issue up until the search lag has passed
    before sending it again, so exactly one exists."""
    error: Transient | None = None
    for _ in range(conn.settings.max_retries + 1):
        try:
            answer = conn.http.request("POST", f"{API}/issue", json=body, idempotent=False).json()
        except Transient as exc:
            log.warning("jira: create of %s got no answer (%s); looking it up before any retry", correlation_key, exc)
            error = exc
            found = conn.await_committed(correlation_key)
            if found is not None:
                return found.ref
            continue
        return created(conn, correlation_key, answer, landing)
    assert error is not None
    raise error


def created(conn: JiraConnector, correlation_key: str, answer: dict[str, Any], landing: str | None) -> RemoteRef:
    """Note an issue a create answered for, and the status it landed in: where its transition
    took it, or the start step when the transition riding the create was refused (then what was
    known of the start step's transitions is read again by the engine's own transition)."""
    ref = RemoteRef(PLATFORM, str(answer["id"]), str(answer.get("key") or ""))
    conn.remember(correlation_key, ref.id)
    ride = answer.get("transition")
    if isinstance(ride, dict) and ride.get("status") not in (None, 200, 204) and conn.start_status:
        log.info("jira: %s created, but its first transition was refused (%s); it stays in %r",
                 ref.display or ref.id, ride.get("errorCollection"), conn.start_status)  # fmt: skip
        conn.workflow.forget(conn.start_status)
        landing = conn.start_status
    if landing is not None:
        conn.know_status(ref.id, landing)
    return ref


def learn_start(conn: JiraConnector, ref: RemoteRef) -> None:
    """Learn the start step (status and its transitions) from an issue just created, so the
    creates after it can carry their first transition."""
    conn.start_status = conn.status_of(ref, fresh=True)
    if not conn.workflow.knows(conn.start_status):
        conn.workflow.learn(conn.start_status, conn.transitions_of(ref))

