"""Writing actions: journal the intent, make the call, journal the outcome, record the link.

A crash between intent and outcome leaves an open intent; the next run settles it by looking the
record up by correlation key (see `sync.settle`) before anything is created again.

A batch of keys is applied in steps: first the creates, in bulk where the connector
offers `create_many` (each new record's first transition riding its create where the vendor
allows; starting notes follow by their own calls, as no create screen takes a comment); a create
the vendor refuses is that record's outcome: quarantined with the vendor's reason when it refused
the content, failed (and tried again next run) otherwise, never the run's;
then each key's remaining actions (once its create is made), in order, keys side by side on a
bounded pool of workers (each
platform's rate budget and in-flight limit still hold). Actions for a platform given its own
executor (the status page: one request a second) are handed to it last, so a slow page never
holds the other platforms' workers; the caller collects those keys when their futures are done.
Every action of a key is written from the key's one merged incident.

`Writer` makes the calls; `sync.pipeline.Pipeline` feeds it batches back to back (which thread
makes which call); `sync.applier.Applier` decides which batch it is given and records what it did.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from itsm_bridge import progress, stopping
from itsm_bridge.connectors.base import (
    Connector,
    CreatesInBulk,
    FetchesInBulk,
    LooksUpNotes,
    NewIssue,
    Publisher,
)
from itsm_bridge.errors import BridgeError, NotFound, RemoteValidation, Stale
from itsm_bridge.findings import Finding
from itsm_bridge.mapping.translate import PlatformMapper
from itsm_bridge.model import Incident, RemoteRef, State
from itsm_bridge.records import RemoteRecord, Written, ref_of
from itsm_bridge.stopping import Interrupted
from itsm_bridge.store.base import JournalEntry, StateStore
from itsm_bridge.store.serialized import Serialized
from itsm_bridge.sync.cadence import next_update_at
from itsm_bridge.sync.linking import link_or_report
from itsm_bridge.sync.plan import Action

log = logging.getLogger("itsm_bridge.sync")


@dataclass
class Applied:
    """What applying one key's actions did."""

    versions: dict[str, str] = field(default_factory=dict)  # platform -> version after our write
    refs: dict[str, RemoteRef] = field(default_factory=dict)
    records: dict[str, RemoteRecord] = field(default_factory=dict)  # platform -> record as our last write left it
    done: list[Action] = field(default_factory=list)
    failed: list[tuple[Action, BridgeError]] = field(default_factory=list)
    deferred: int = 0  # publishes held back by the page's update cadence: applied next cycle
    blocked: int = 0  # publishes stopped by the leak guard, creates the vendor refused: quarantined
    held: bool = False  # a create was quarantined: nothing of this key is synced yet (no shadow)
    interrupted: bool = False  # the run was stopped before all of the key's actions were made

    @property
    def complete(self) -> bool:
        return not self.failed and not self.deferred and not self.interrupted


class Writer:
    """Writes planned actions, journaling each: intent before the call, outcome after."""

    def __init__(
        self,
        store: StateStore,
        connectors: dict[str, Connector],
        mappers: dict[str, PlatformMapper],
        run_id: str,
        *,
        check_stale: bool = False,
    ) -> None:
        self.store: StateStore = Serialized(store)  # shared with the apply workers
        self.connectors = connectors
        self.mappers = mappers
        self.run_id = run_id
        self.check_stale = check_stale
        self._notes_tried: dict[tuple[str, str], list[dict[str, Any]]] = {}  # see `_earlier_notes`

    def fetch_written(self, results: Any) -> None:
        """Read back, in bulk, the records a connector's writes did not return, so the shadows
        show each platform as our writes left it. Only for keys whose writes all succeeded."""
        for platform, connector in self.connectors.items():
            if not isinstance(connector, FetchesInBulk):
                continue
            wanted = [
                out
                for out in results
                if out.complete
                and platform in out.refs
                and platform not in out.records
                and any(a.platform == platform for a in out.done)
            ]
            if not wanted:
                continue
            try:
                stopping.check(f"reading back {len(wanted)} {platform} record(s)")
                records = {r.ref.id: r for r in connector.fetch_many([out.refs[platform] for out in wanted])}
            except Interrupted:  # no shadow without the read-back: the next run reads them afresh
                for out in wanted:
                    out.interrupted = True
                continue
            except BridgeError as exc:  # scoped to these keys: no shadow, so the next run tries them again
                if exc.disposition == "abort":
                    raise
                for out in wanted:
                    out.failed.append((next(a for a in reversed(out.done) if a.platform == platform), exc))
                continue
            for out in wanted:
                record = records.get(out.refs[platform].id)
                if record is not None:
                    out.records[platform] = record
                    out.versions[platform] = record.version

    def create_in_bulk(
        self,
        platform: str,
        connector: CreatesInBulk,
        remaining: dict[str, list[Action]],
        incidents: Mapping[str, Incident],
        results: dict[str, Applied],
    ) -> None:
        """Every key's create on `platform` in `remaining` in bulk calls, each told the state its
        first transition heads for (the connector lets it ride where the vendor allows); each
        key's `remaining` actions lose the create once it is made (none left after a refusal)."""
        folded: list[tuple[str, list[Action], list[JournalEntry]]] = []
        items: list[NewIssue] = []
        if stopping.requested():
            return  # each key's create is then not started by apply_key either
        for key, actions in remaining.items():
            create = next((a for a in actions if a.kind == "create" and a.platform == platform), None)
            if create is None:
                continue
            move = next((a for a in actions if a.kind == "transition" and a.platform == platform), None)
            fields, _ = self.mappers[platform].to_fields(incidents[key])
            items.append(NewIssue(fields, key, State(move.changes["state"][1]) if move else None))
            group = [create]
            folded.append((key, group, [self._intent(a, None) for a in group]))
        if not items:
            return
        try:
            stopping.begin_action()
            answers = connector.create_many(items)
        except Interrupted as exc:  # some may have been created: their intents stay open for the next run
            answers = [exc] * len(items)
        for (key, group, intents), answer in zip(
            folded, answers, strict=True
        ):  # an answer: Written or the item's error
            out = results[key]
            progress.wrote(group[0].kind, platform)
            if isinstance(answer, Interrupted):
                out.interrupted = True
                remaining[key] = []
                if answer.unsent:  # never sent: close its intents; else the next run looks it up by key
                    for action, intent in zip(group, intents, strict=True):
                        self._outcome(intent, action, None, _failed(answer))
                continue
            if isinstance(answer, BridgeError):
                if answer.disposition == "abort":
                    raise answer
                for action, intent in zip(group, intents, strict=True):
                    self._outcome(intent, action, None, _failed(answer))
                if isinstance(answer, RemoteValidation):  # the vendor refused the record as mapped
                    self._hold(platform, group[0], answer, out, incidents[key])
                else:
                    out.failed.append((group[0], answer))
                remaining[key] = []  # the key's later actions depend on its create
                continue
            out.refs[platform] = link_or_report(self.store, self.run_id, key, ref_of(answer))
            for action, intent in zip(group, intents, strict=True):
                self._outcome(intent, action, ref_of(answer), {"result": "ok", "version": None})
            out.done += group
            remaining[key] = [a for a in remaining[key] if all(a is not g for g in group)]

    def _hold(self, platform: str, create: Action, refused: RemoteValidation, out: Applied, incident: Incident) -> None:
        """Quarantine a record whose create the vendor refused, with its reason (`retry` tries
        it again once the mapping is fixed)."""
        findings = list(getattr(refused, "findings", [])) or [
            Finding(f"refused.create.{platform}", platform, ",".join(refused.fields), "block", str(refused))
        ]
        self.store.quarantine(
            platform, [f.for_key(create.key).to_dict() for f in findings], incident.to_dict(), key=create.key, ref=None
        )
        out.blocked += 1
        out.held = True

    def apply_key(self, actions: list[Action], incident: Incident, out: Applied | None = None) -> Applied:
        """Apply one key's actions in order, written from its merged `incident`; stop at the
        first failure (later ones depend on it)."""
        out = out or Applied()
        for action in actions:
            if stopping.requested():
                out.interrupted = True
                break
            try:
                self._apply(action, out, incident)
            except Interrupted:
                out.interrupted = True
                break
            except BridgeError as exc:
                if exc.disposition == "abort":
                    raise
                log.warning("%s %s %s failed: %s", action.kind, action.platform, action.key, exc)
                out.failed.append((action, exc))
                break
            finally:
                progress.wrote(action.kind, action.platform)
        return out

    def _ref(self, action: Action, out: Applied, optional: bool = False) -> RemoteRef | None:
        ref = out.refs.get(action.platform) or action.remote_ref
        if ref is None:
            linked = {r.platform: r for r in self.store.links(action.key)}
            ref = linked.get(action.platform)
        if ref is None and not optional:
            raise NotFound(f"no {action.platform} record linked to {action.key}", platform=action.platform)
        return ref

    def _apply(self, action: Action, out: Applied, incident: Incident) -> None:
        stopping.begin_action()
        connector = self.connectors[action.platform]
        ref = None if action.kind == "create" else self._ref(action, out, optional=action.kind == "publish")
        if self.check_stale and ref is not None and action.expected_version is not None and not _wrote(out, action):
            current = connector.get(ref)
            if current.version != action.expected_version:
                raise Stale(
                    f"{action.platform} {ref} changed since the plan was made "
                    f"(version {action.expected_version} -> {current.version}); plan again"
                )
        intent = self._intent(action, ref)
        if action.kind == "publish":
            self._publish(connector, action, ref, intent, out, incident)
            return
        if action.kind == "comment" and self._already_copied(connector, action, ref, intent):
            out.done.append(action)
            return
        try:
            record = self._call(connector, action, ref, incident)
        except BridgeError as exc:
            self._failed_outcome(intent, action, ref, exc)
            raise
        written = record.ref if isinstance(record, RemoteRecord) else record
        if isinstance(record, RemoteRecord):
            out.versions[action.platform] = record.version
            out.records[action.platform] = record
        elif written is not None:
            out.records.pop(action.platform, None)  # an earlier answer no longer shows it
        if written is not None:
            kept = link_or_report(self.store, self.run_id, action.key, written) if action.kind == "create" else written
            out.refs[action.platform] = kept
            if kept != written:  # the linked one stays: what this answer showed is another record's
                out.records.pop(action.platform, None)
                out.versions.pop(action.platform, None)
        version = record.version if isinstance(record, RemoteRecord) else None
        self._outcome(intent, action, written or ref, {"result": "ok", "version": version})
        out.done.append(action)

    def _intent(self, action: Action, ref: RemoteRef | None) -> JournalEntry:
        return self.store.append(
            self.run_id,
            "intent",
            {"changes": action.changes, "rule": action.rule, "comment": action.comment},
            key=action.key,
            platform=action.platform,
            ref=str(ref) if ref else None,
            action=action.kind,
        )

    def _call(self, connector: Connector, action: Action, ref: RemoteRef | None, incident: Incident) -> Written | None:
        mapper = self.mappers[action.platform]
        if action.kind == "create":
            fields, _ = mapper.to_fields(incident)
            return connector.create(fields, action.key)
        assert ref is not None
        if action.kind == "update":
            fields, _ = mapper.to_fields(incident, list(action.changes))
            return connector.update(ref, fields)
        if action.kind == "transition":
            state = State(action.changes["state"][1])
            return connector.transition(ref, state, mapper.transition_fields(incident, state))
        if action.kind == "comment":
            comment = action.comment_obj()
            assert comment is not None
            connector.add_comment(ref, comment)
            return None
        raise ValueError(f"unknown action kind {action.kind}")

    def _publish(
        self,
        connector: Connector,
        action: Action,
        ref: RemoteRef | None,
        intent: JournalEntry,
        out: Applied,
        incident: Incident,
    ) -> None:
        """The page connector decides create, update or resolve; a guard block is quarantined."""
        if not isinstance(connector, Publisher):
            raise TypeError(f"{action.platform} cannot publish")
        scheduled = next_update_at(action)
        try:
            if scheduled is None:
                result = connector.publish(incident, ref)
            else:  # a scheduled update (sync.cadence): the page posts the update template
                result = connector.publish(incident, ref, next_update_at=scheduled)
        except BridgeError as exc:
            self._failed_outcome(intent, action, ref, exc)
            raise
        payload: dict[str, Any] = {"result": result.action, "detail": result.detail}
        if result.action == "blocked":
            findings = [f.for_key(action.key).to_dict() for f in result.findings if f.blocking]
            self.store.quarantine(
                action.platform, findings, incident.to_dict(), key=action.key, ref=str(ref) if ref else None
            )
            payload["findings"] = findings
            out.blocked += 1
        elif result.action == "deferred":
            out.deferred += 1
        elif result.ref is not None:
            out.refs[action.platform] = (
                link_or_report(self.store, self.run_id, action.key, result.ref) if ref is None else result.ref
            )
        self._outcome(intent, action, result.ref or ref, payload)
        if result.action in ("created", "updated", "resolved"):
            out.done.append(action)

    def _already_copied(
        self, connector: Connector, action: Action, ref: RemoteRef | None, intent: JournalEntry
    ) -> bool:
        """A note copy tried in an earlier run (its answer lost, or a later write of the key
        failed) may have landed: look before sending it again. Only then: a first attempt costs
        no extra call, and two notes of one text in one run are two notes."""
        tried = any(_same_note(earlier, action.comment or {}) for earlier in self._earlier_notes(action))
        comment = action.comment_obj()
        if not tried or ref is None or comment is None or not isinstance(connector, LooksUpNotes):
            return False
        if not connector.has_note(ref, comment):
            return False
        self._outcome(intent, action, ref, {"result": "ok", "detail": "already there from an earlier attempt"})
        return True

    def _earlier_notes(self, action: Action) -> list[dict[str, Any]]:
        """The notes earlier runs set out to copy to the action's platform for its key, read from
        the journal once per key and platform in a run (they cannot change during it: this run's
        own intents are not among them), not once per note: a key with many notes read them all
        for each one."""
        found = self._notes_tried.get((action.key, action.platform))
        if found is None:
            found = [
                e.payload.get("comment") or {}
                for e in self.store.journal(key=action.key, kinds=("intent",))
                if e.run_id != self.run_id and e.action == "comment" and e.platform == action.platform
            ]
            self._notes_tried[(action.key, action.platform)] = found
        return found

    def _failed_outcome(self, intent: JournalEntry, action: Action, ref: RemoteRef | None, exc: BridgeError) -> None:
        """Journal a failed write, except a create or publish a stop cut short after one of its
        writes was sent: that may have landed, so its intent stays open for the next run to settle
        by lookup (as after a crash), never to be created twice."""
        if isinstance(exc, Interrupted) and not exc.unsent and action.kind in ("create", "publish"):
            return
        self._outcome(intent, action, ref, _failed(exc))

    def _outcome(self, intent: JournalEntry, action: Action, ref: RemoteRef | None, payload: dict[str, Any]) -> None:
        self.store.append(
            self.run_id,
            "outcome",
            payload,
            key=action.key,
            platform=action.platform,
            ref=str(ref) if ref else None,
            action=action.kind,
            intent_seq=intent.seq,
        )


def _failed(exc: BridgeError) -> dict[str, Any]:
    """The outcome journaled for a write that failed."""
    return {"result": "failed", "error": type(exc).__name__, "message": str(exc)}


def _same_note(tried: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether a journaled note copy is of the note `wanted` copies: its words and its id where
    it was written (the same words written twice are two notes)."""
    return (tried.get("body"), tried.get("id") or "") == (wanted.get("body"), wanted.get("id") or "")


def _wrote(out: Applied, action: Action) -> bool:
    """Whether an earlier action of this key already wrote `action`'s record in this apply: the
    stale check was made before that write, and the version it moved to is our own."""
    return any(done.platform == action.platform for done in out.done)
