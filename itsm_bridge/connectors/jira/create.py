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
from collections.abc import Callable
from typing import Any

from itsm_bridge import stopping
from itsm_bridge.config_schema import JiraSettings
from itsm_bridge.connectors.base import NewIssue
from itsm_bridge.connectors.jira.api import JiraApi
from itsm_bridge.connectors.jira.meta import CreateMeta, create_body
from itsm_bridge.connectors.jira.records import PLATFORM, checked_key
from itsm_bridge.connectors.jira.statuses import Created, Statuses
from itsm_bridge.connectors.jira.transitions import Mover
from itsm_bridge.connectors.jira.workflow import Transition, fold, wants_resolution
from itsm_bridge.errors import ConnectorError, RemoteValidation, Transient
from itsm_bridge.http import Backoff
from itsm_bridge.model import RemoteRef, State
from itsm_bridge.records import RemoteRecord
from itsm_bridge.stopping import Interrupted

log = logging.getLogger("itsm_bridge.connectors.jira")

BULK_SIZE = 50  # Jira's limit per issue/bulk call
Result = RemoteRef | ConnectorError | Interrupted  # Interrupted: the run stopped before or during its chunk


class Creator:
    """Creates issues, alone or in bulk; after a lost answer, looks each up (`find`) until the
    search lag has passed before creating it again, so exactly one exists."""

    def __init__(
        self,
        api: JiraApi,
        settings: JiraSettings,
        createmeta: Callable[[], CreateMeta],
        mover: Mover,
        statuses: Statuses,
        created: Created,
        find: Callable[[str], RemoteRecord | None],
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.api, self.settings, self.createmeta, self.mover = api, settings, createmeta, mover
        self.statuses, self.created, self.find = statuses, created, find
        self.clock, self.sleep = clock, sleep
        self.poll_backoff = Backoff(base_s=0.5, jitter=0.3, cap_s=10.0)
        self.start_status: str | None = None  # where new issues land: learned from the first we create

    def create_one(self, item: NewIssue) -> RemoteRef:
        body, landing = self.create_payload(item)
        return self.post_create(body, item.key, landing)

    def create_many(self, items: list[NewIssue]) -> list[Result]:
        results: list[Result | None] = [None] * len(items)
        order = list(range(len(items)))
        while order and self.start_status is None:  # learn the start step from one issue made alone
            first = order.pop(0)
            try:
                results[first] = ref = self.create_one(items[first])
                self.learn_start(ref)
            except ConnectorError as exc:
                results[first] = exc
        for start in range(0, len(order), BULK_SIZE):
            chunk = order[start : start + BULK_SIZE]
            try:
                stopping.begin_action()
                stopping.check(f"creating {len(chunk)} Jira issue(s) in bulk")  # a stopped run begins no chunk
                self._create_chunk(items, chunk, results)
            except Interrupted as exc:  # what was created stays known; a chunk cut short may exist
                for i in order[start:]:
                    if results[i] is None:
                        results[i] = (
                            exc if i in chunk else Interrupted("not sent: the run was interrupted", unsent=True)
                        )
                break
        return [r if r is not None else ConnectorError("no result", platform=PLATFORM) for r in results]

    def _create_chunk(self, items: list[NewIssue], chunk: list[int], results: list[Result | None]) -> None:
        sendable: list[int] = []
        bodies: list[dict[str, Any]] = []
        landings: list[str | None] = []
        for i in chunk:
            try:
                body, landing = self.create_payload(items[i])
            except RemoteValidation as exc:  # required fields empty: a Finding, nothing sent
                results[i] = exc
                continue
            bodies.append(body)
            landings.append(landing)
            sendable.append(i)
        if not bodies:
            return
        try:
            answer = self.api.create_bulk(bodies)
        except RemoteValidation as exc:  # every element refused (or the call itself): each item's own error
            answer = getattr(exc, "answer", None) or {}
            if not answer.get("errors"):
                for i in sendable:
                    results[i] = exc
                return
        except Transient:
            for n, i in enumerate(sendable):
                try:
                    found = self.await_committed(items[i].key)
                    results[i] = found.ref if found else self.post_create(bodies[n], items[i].key, landings[n])
                except ConnectorError as exc:
                    results[i] = exc
            return
        failed = {int(err["failedElementNumber"]): _element_error(err) for err in answer.get("errors") or []}
        answers = iter(answer.get("issues") or [])
        for n, i in enumerate(sendable):
            results[i] = failed[n] if n in failed else self.noted(items[i].key, next(answers), landings[n])

    def create_payload(self, item: NewIssue) -> tuple[dict[str, Any], str | None]:
        """The `POST issue` body and the status the issue lands in (None: the start step, not yet
        known). The first step toward `item.state` is applied by the create where it needs no
        screen field, so most new issues cost one write."""
        body = create_body(self.createmeta(), self.settings, item.fields, checked_key(item.key))
        landing = self.start_status
        step = self.first_step(item.state) if item.state is not None and landing else None
        if step is not None:
            body["transition"] = {"id": step.id}
            landing = step.to
        return body, landing

    def first_step(self, state: State) -> Transition | None:
        """The step a create can apply on the way to `state`, or None."""
        start, workflow, states = self.start_status, self.mover.workflow, self.mover.state_map
        assert start is not None
        if not workflow.knows(start):
            return None
        targets = {fold(v) for v in states.values.get(state, ())}
        route = workflow.path(start, targets)
        if route == []:
            return None  # already there
        # the first step of the known path, else the one `transition` would explore first
        step = route[0] if route else workflow.explore_step(start, state, {fold(start)}, states.from_vendor)
        if step is None:
            return None
        if step.required or wants_resolution(step, states.from_vendor):
            return None  # its screen takes a value a create cannot give (the resolution): its own transition
        return step

    def post_create(self, body: dict[str, Any], correlation_key: str, landing: str | None) -> RemoteRef:
        """Send one create; after a lost answer, look the issue up until the search lag has passed
        before sending it again, so exactly one exists."""
        error: Transient | None = None
        for _ in range(self.settings.max_retries + 1):
            try:
                answer = self.api.create(body)
            except Transient as exc:
                log.warning(
                    "jira: create of %s got no answer (%s); looking it up before any retry", correlation_key, exc
                )
                error = exc
                found = self.await_committed(correlation_key)
                if found is not None:
                    return found.ref
                continue
            return self.noted(correlation_key, answer, landing)
        assert error is not None
        raise error

    def await_committed(self, correlation_key: str) -> RemoteRecord | None:
        """Poll `find` with backoff until found or `search_lag_s` has passed (one last look then)."""
        deadline = self.clock() + self.settings.search_lag_s
        attempt = 1
        while True:
            found = self.find(correlation_key)
            remaining = deadline - self.clock()
            if found is not None or remaining <= 0:
                return found
            self.sleep(min(self.poll_backoff.delay(attempt), remaining))
            attempt += 1

    def noted(self, correlation_key: str, answer: dict[str, Any], landing: str | None) -> RemoteRef:
        """Note an issue a create answered for, and the status it landed in: where its transition
        took it, or the start step when the transition riding the create was refused (then what was
        known of the start step's transitions is read again by the engine's own transition)."""
        ref = RemoteRef(PLATFORM, str(answer["id"]), str(answer.get("key") or ""))
        self.created.add(correlation_key, ref.id)
        ride = answer.get("transition")
        if isinstance(ride, dict) and ride.get("status") not in (None, 200, 204) and self.start_status:
            log.info(
                "jira: %s created, but its first transition was refused (%s); it stays in %r",
                ref.display or ref.id,
                ride.get("errorCollection"),
                self.start_status,
            )
            self.mover.workflow.forget(self.start_status)
            landing = self.start_status
        if landing is not None:
            self.statuses.know(ref.id, landing)
        return ref

    def learn_start(self, ref: RemoteRef) -> None:
        """Learn the start step (status and its transitions) from an issue just created, so the
        creates after it can carry their first transition."""
        self.start_status = self.statuses.of(ref, fresh=True)
        if not self.mover.workflow.knows(self.start_status):
            self.mover.workflow.learn(self.start_status, self.mover.transitions_of(ref))


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
