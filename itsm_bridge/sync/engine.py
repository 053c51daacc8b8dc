"""One sync cycle: read -> reconcile -> plan -> apply -> record, batch by batch.

- `Reader`: the targets' changes (edits made on a target, coming back) are read first and kept by key; the
  source is then streamed in batches, so memory stays flat however many incidents change.
- `Planner`: each key reconciled into a `KeyPlan`; reading and planning write nothing.
- The seam, decided once: a dry run shows each batch in the plan (`Shown`); a real run hands it
  to the `Applier` (journal first, creates in bulk, keys side by side on a bounded pool), whose
  `Recorder` keeps shadows, quarantine and cursors. Cursors move at the end, only past records
  fully applied (or quarantined: held, not lost), never past the start of the run.
- `apply PLAN` and `retry` go through the same `Applier`; a saved plan's actions are checked for
  staleness first (a record changed since the plan was made is refused, per key).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from itsm_bridge import stopping
from itsm_bridge.config import Config
from itsm_bridge.connectors.base import Connector, NeedsPreflight
from itsm_bridge.errors import BridgeError, NotFound
from itsm_bridge.mapping.translate import PlatformMapper, mapper_for
from itsm_bridge.model import RemoteRef
from itsm_bridge.records import RemoteRecord
from itsm_bridge.stopping import Interrupted
from itsm_bridge.store.base import Shadow, StateStore
from itsm_bridge.store.serialized import Serialized
from itsm_bridge.sync.applier import Applier, Shown, Sink
from itsm_bridge.sync.by_id import Found, Named, named_incidents, read_named
from itsm_bridge.sync.cadence import ShowsPublicUpdates, due_keys, scheduling
from itsm_bridge.sync.cursor import ReadProgress
from itsm_bridge.sync.hints import keep_facts, restore_facts
from itsm_bridge.sync.identity import Identity, is_conflict
from itsm_bridge.sync.linking import gone_finding, key_findings, unreadable_finding
from itsm_bridge.sync.plan import Action, Plan
from itsm_bridge.sync.planner import KeyPlan, Planner
from itsm_bridge.sync.reader import Reader, Reads, account, overlap, side, two_way
from itsm_bridge.sync.reconcile import Outcome
from itsm_bridge.sync.summary import RunSummary
from itsm_bridge.watermark import Watermark

log = logging.getLogger("itsm_bridge.sync")
BATCH = 500


class Engine:
    """Runs `sync`, `apply PLAN` and `retry` over the given connectors (call under the store lock)."""

    def __init__(
        self,
        config: Config,
        store: StateStore,
        connectors: dict[str, Connector],
        *,
        mappers: dict[str, PlatformMapper] | None = None,
        run_id: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.config = config
        self.store: StateStore = Serialized(store)  # shared with the apply workers
        self.connectors = connectors
        self.sync_settings = config.settings.sync
        self.source = self.sync_settings.source
        self.targets = list(self.sync_settings.targets)
        self.mappers = mappers or {p: mapper_for(p, config) for p in connectors}
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.now = now
        self.progress = progress or (lambda n: None)
        self.identity = Identity(self.store, self.run_id)
        self.planner = Planner(config, self.store, connectors, now)
        self._appliers: list[Applier] = []

    # --- public entry points
    def sync(
        self, *, dry_run: bool = False, only: str | None = None, limit: int | None = None
    ) -> tuple[RunSummary, Plan]:
        """Plan and (unless dry_run) apply one cycle. Call under the store lock.

        On a stop (stopping.requested) no new record is taken, the writes in flight finish, and
        the cursors stay where they were: the next run reads again what this one did not finish.
        Every worker thread has stopped when this returns, or raises."""
        try:
            return self._sync(dry_run, only, limit)
        finally:
            self._close()

    def apply_plan(self, plan: Plan) -> RunSummary:
        """Apply a saved plan exactly; a key whose record changed since is refused as stale."""
        summary = RunSummary(self.run_id)
        self._prepare()
        applier = self._applier({}, summary, check_stale=True)
        by_key: dict[str, list[Action]] = {}
        for action in plan.actions:
            by_key.setdefault(action.key, []).append(action)
        try:
            keys = list(by_key)
            for start in range(0, len(keys), BATCH):
                if stopping.requested():
                    break
                applier.apply([self._planned(key, plan, by_key[key]) for key in keys[start : start + BATCH]])
            applier.drain()
            keep_facts(self.store, self.connectors)
        finally:
            self._close()
        summary.interrupted = stopping.reason()
        summary.api_calls = {p: c.calls for p, c in self.connectors.items()}
        return summary

    def _planned(self, key: str, plan: Plan, actions: list[Action]) -> KeyPlan:
        """A saved plan's key, as the applier takes it: its merged incident over the shadow as
        it is now (each side's values and versions kept until a write shows them anew)."""
        merged = plan.incident(key)
        shadow = self.store.shadow(key) or Shadow(key, {})
        fields = {
            **shadow.merged,
            **{k: v for k, v in merged.to_dict().items() if k not in ("key", "comments", "links")},
        }
        outcome = Outcome(
            key,
            merged,
            list(actions),
            shadow_fields=fields,
            side_shadows=dict(shadow.sides),
            comments_seen=shadow.comments_seen,
        )
        return KeyPlan(key, outcome, {}, dict(shadow.versions), dict(shadow.sides))

    def _applier(self, reads: Reads, summary: RunSummary, *, check_stale: bool = False) -> Applier:
        applier = Applier(
            self.config,
            self.store,
            self.connectors,
            self.mappers,
            run_id=self.run_id,
            identity=self.identity,
            planner=self.planner,
            reads=reads,
            summary=summary,
            check_stale=check_stale,
        )
        self._appliers.append(applier)
        return applier

    def _close(self) -> None:
        """Stop every applier's background workers (an error path included)."""
        for applier in self._appliers:
            applier.close()
        self._appliers.clear()

    def _sync(self, dry_run: bool, only: str | None, limit: int | None) -> tuple[RunSummary, Plan]:
        summary = RunSummary(self.run_id, dry_run=dry_run)
        plan = Plan(self.run_id)
        started = self.now()
        self._prepare()
        reads = {
            p: ReadProgress(Watermark.from_cursor(self.store.cursor(p)), started, overlap(self.config, p))
            for p in two_way(self.config, self.connectors)
        }
        sink: Sink = Shown(plan, reads, self.identity, summary) if dry_run else self._applier(reads, summary)
        sink.begin()
        reader = Reader(self.config, self.store, self.connectors, self.mappers, self.identity, reads)
        pending = reader.targets(summary, only)
        processed = 0
        planned: set[str] = set()  # keys planned this cycle (a scheduled update is checked with them)
        track = scheduling(self.config)  # else nothing asks: memory does not grow with the keys
        for batch in _batches(reader.source_records(summary, only), BATCH, first=max(1, BATCH // 5)):
            work: list[KeyPlan] = []
            for key, record, read_side, findings in batch:
                if stopping.requested():
                    break
                if limit is not None and processed >= limit:
                    reads[self.source].unapplied.append(record.updated)
                    summary.skipped += 1
                    continue
                processed += 1
                if track:
                    planned.add(key)
                sink.settle(key)
                targets = pending.pop(key, {})
                work.append(self.planner.plan_key(key, {self.source: read_side, **targets}, findings))
            sink.apply(work)
            self.progress(processed)
        rest = list(pending.items())  # target-only changes: the source did not move
        if limit is not None:
            for _, sides in rest[max(0, limit - processed) :]:  # left for the next run: hold the cursors back
                account(reads, sides, False)
                summary.skipped += 1
            rest = rest[: max(0, limit - processed)]
        for start in range(0, len(rest), BATCH):
            if stopping.requested():
                break
            sink.apply([self.planner.plan_key(key, sides, []) for key, sides in rest[start : start + BATCH]])
        planned.update(key for key, _ in rest if track)
        room = None if limit is None else max(0, limit - processed - len(rest))
        self._schedule_updates(sink, planned, only, room)
        sink.finish(started)
        summary.read = {p: r.count for p, r in reads.items()}
        plan.read = dict(summary.read)
        summary.api_calls = {p: c.calls for p, c in self.connectors.items()}
        return summary, plan

    def _schedule_updates(self, sink: Sink, planned: set[str], only: str | None, room: int | None) -> None:
        """Plan the scheduled public updates of the keys this cycle did not plan (nothing of them
        changed): those whose page incident is open and has been silent past its cadence
        (`sync.cadence`); at most `room` keys under `--limit`. Keys held in quarantine wait."""
        if not scheduling(self.config) or stopping.requested():
            return
        held = {entry.key for entry in self.store.quarantined() if entry.key}
        skip = planned | held
        keys: list[str] = []
        for platform in self.targets:
            page: object = self.connectors.get(platform)
            if isinstance(page, ShowsPublicUpdates):
                keys += [
                    k for k in due_keys(self.store, self.config, platform, page, self.now(), skip) if k not in keys
                ]
        keys = [k for k in keys if only is None or k == only][:room]
        for start in range(0, len(keys), BATCH):
            sink.apply([self.planner.plan_key(key, {}, []) for key in keys[start : start + BATCH]])

    def sync_records(self, refs: list[RemoteRef]) -> RunSummary:
        """Sync the incidents of the given records (what a webhook names), each read afresh by id
        through the API: the record says which incident; that incident's source record and every
        linked target record are read and planned as in `sync`, then applied through the same
        applier (open intents settled first). Nothing of a webhook's body is used, and no cursor
        moves: the next full sync still reads everything changed since its cursor."""
        try:
            return self._sync_records(refs)
        finally:
            self._close()

    def _sync_records(self, refs: list[RemoteRef]) -> RunSummary:
        summary = RunSummary(self.run_id)
        self._prepare()
        reads = {p: ReadProgress(Watermark()) for p in two_way(self.config, self.connectors)}  # no cursor moves
        applier = self._applier(reads, summary)
        applier.begin()
        reader = Reader(self.config, self.store, self.connectors, self.mappers, self.identity, reads)
        done: set[str] = set()
        named = named_incidents(self.store, self.source, refs)
        for start in range(0, len(named), BATCH):  # each platform's records read in bulk, then planned
            if stopping.requested():
                break
            chunk = named[start : start + BATCH]
            found = read_named(chunk, self.source, self.connectors, reads)
            work: list[KeyPlan] = []
            for incident in chunk:
                if stopping.requested():
                    break
                planned = self._read_incident(incident, found, reader, summary, done)
                if planned is not None:
                    done.add(planned.key)
                    work.append(planned)
            applier.apply(work)
        applier.drain()
        keep_facts(self.store, self.connectors)
        summary.interrupted = stopping.reason()
        summary.read = {p: r.count for p, r in reads.items()}
        summary.api_calls = {p: c.calls for p, c in self.connectors.items()}
        return summary

    def _read_incident(
        self, named: Named, found: Found, reader: Reader, summary: RunSummary, done: set[str]
    ) -> KeyPlan | None:
        """The key plan of one incident named, from its records as read by id; None when its
        source record is left out (filtered, or refused for a key another record holds) or it
        is already done. A gone source record leaves its linked targets to be planned alone; a
        gone target record is found by the write that needs it, as in a full sync."""
        key = named.key
        sides: dict[str, Any] = {}
        findings: list[Any] = []
        record = found[self.source].get(named.source.id) if named.source else None
        if record is not None:
            item = reader.source_item(record, summary)
            if item is None:
                return None
            key, _, sides[self.source], findings = item
        if key is None or key in done:
            return None
        shadow = self.store.shadow(key)
        for platform, records in found.items():  # source first, as two_way orders them
            linked = named.links.get(platform)
            target = records.get(linked.id) if linked is not None and platform != self.source else None
            if target is None:
                continue  # not linked, or gone: a gone link is found by the write that needs it
            if shadow is not None and shadow.versions.get(platform) == target.version:
                continue  # as we left it
            incident, _ = self.mappers[platform].to_canonical(target)
            sides[platform] = side(platform, incident.replace(key=key), target)
        return self.planner.plan_key(key, sides, findings)

    def retry(self) -> RunSummary:
        """Re-evaluate every quarantined record (the mapping may have been fixed since) and every
        key whose write failed in the last run, reading each afresh from the source."""
        try:
            return self._retry()
        finally:
            self._close()

    def _retry(self) -> RunSummary:
        summary = RunSummary(self.run_id)
        self._prepare()
        keys: dict[str, str | None] = {}
        conflicts: list[tuple[str, str]] = []
        held: dict[str, list[int]] = {}  # released when its key is reached: a stop leaves the rest held
        for entry in self.store.quarantined():
            if is_conflict(entry.findings) and entry.ref:
                self.store.release(entry.id)  # re-quarantined below if it still fails
                conflicts.append((entry.platform, entry.ref))
            elif entry.key:
                held.setdefault(entry.key, []).append(entry.id)
                keys.setdefault(entry.key, entry.ref if entry.platform == self.source else None)
            else:
                self.store.release(entry.id)
        for platform, refused in conflicts:  # read afresh: still refused, or now free to sync
            verdict = self.identity.reread(
                self.connectors.get(platform),
                platform,
                refused,
                self.mappers.get(self.source) if platform == self.source else None,
            )
            if verdict.conflict is not None:
                self.identity.refuse(verdict.conflict)
                summary.quarantined += 1
            elif verdict.key is not None and platform == self.source:
                keys.setdefault(verdict.key, refused)
        for key in self._keys_since_last_run():
            keys.setdefault(key, None)
        reads = {p: ReadProgress(Watermark()) for p in two_way(self.config, self.connectors)}  # no cursor moves
        applier = self._applier(reads, summary)
        reader = Reader(self.config, self.store, self.connectors, self.mappers, self.identity, reads)
        source = self.connectors[self.source]
        for key, ref in keys.items():
            hold: dict[str, Any] | None = None
            record: RemoteRecord | None = None
            try:
                stopping.check(f"retrying {key}")  # the keys not reached stay as they were
                record = source.get(RemoteRef(self.source, ref)) if ref else source.find(key)
            except Interrupted:
                break
            except NotFound:  # the source record is gone: held, with the repair named
                hold = gone_finding(key, RemoteRef(self.source, ref or ""))
            except BridgeError as exc:  # a key the source cannot be asked about: held again, with why
                if exc.disposition == "abort":
                    raise
                hold = unreadable_finding(key, self.source, exc)
            finally:
                if not stopping.requested():
                    for entry_id in held.pop(key, []):
                        self.store.release(entry_id)  # quarantined again below if it still fails
            if hold is not None:
                self.store.quarantine(self.source, [hold], {}, key=key, ref=ref)
                summary.quarantined += 1
                continue
            if record is None:
                summary.errors.append(
                    {
                        "key": key,
                        "platform": self.source,
                        "action": "retry",
                        "error": "NotFound",
                        "message": f"{key} is no longer on {self.source}",
                    }
                )
                summary.failed += 1
                continue
            incident, findings = reader.identified(record, summary)
            if incident is None:
                continue
            findings += key_findings(incident.key, self.source)
            applier.apply(
                [self.planner.plan_key(incident.key, {self.source: side(self.source, incident, record)}, findings)]
            )
        applier.drain()
        keep_facts(self.store, self.connectors)
        summary.interrupted = stopping.reason()
        summary.read = {self.source: len(keys)}
        summary.api_calls = {p: c.calls for p, c in self.connectors.items()}
        return summary

    def _prepare(self) -> None:
        """Before a command's first read or write: each connector starts from what earlier runs
        learned (its facts, the people found), and learns what it must know before any write (a
        vendor's release). Every command that writes does this, so a fact costs its call once."""
        restore_facts(self.store, self.connectors)
        for connector in self.connectors.values():
            if isinstance(connector, NeedsPreflight):
                connector.preflight()

    def _keys_since_last_run(self) -> list[str]:
        """Keys `retry` evaluates beside the quarantine, in one pass over the journal: those whose
        write failed in the last run, and those whose links were changed by hand since it."""
        return list(dict.fromkeys([*self.store.failed_in_last_run(), *self.store.relinked_since_last_run()]))


def _batches(items: Iterator[Any], size: int, first: int | None = None) -> Iterator[list[Any]]:
    """`items` in lists of `size`, the first ones smaller: `first`, then twice as many each time
    up to `size` (the writes begin after a small batch is planned, and each batch is written while
    the next, at most twice as large, is planned)."""
    batch: list[Any] = []
    limit = first or size
    for item in items:
        batch.append(item)
        if len(batch) >= limit:
            yield batch
            batch, limit = [], min(size, limit * 2)
    if batch:
        yield batch
