"""One sync cycle: read -> normalize -> reconcile -> plan -> apply -> record.

- Targets' changes (edits made on a target, coming back) are read first and kept by key; the source is then
  streamed in batches, each batch planned and applied before the next is read, so memory stays
  flat however many incidents change.
- Every write goes through the Applier (journal first): a batch's creates in bulk, then each
  key's other writes, keys side by side on a bounded pool. Cursors move at the end, only past
  records fully applied (or quarantined: held, not lost), never past the start of the run.
- A record with a blocking Finding is quarantined and its writes skipped; the rest go on.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Iterator

from itsm_bridge import stopping
from itsm_bridge.config import Config
from itsm_bridge.config_schema import ReadSettings
from itsm_bridge.errors import BridgeError, NotFound, Paused
from itsm_bridge.links import gone_finding, holds, key_findings, settle_gone, unreadable_finding
from itsm_bridge.connectors.base import Connector, NeedsPreflight
from itsm_bridge.records import RemoteRecord
from itsm_bridge.findings import Finding
from itsm_bridge.mapping.translate import PlatformMapper, mapper_for
from itsm_bridge.model import RemoteRef
from itsm_bridge.platforms import is_publish_only, own_writer_pool, two_way_names
from itsm_bridge.store.base import Shadow, StateStore
from itsm_bridge.stopping import Interrupted
from itsm_bridge.store.serialized import Serialized
from itsm_bridge.sync.apply import Applied, Applier, settle_open_intents
from itsm_bridge.sync.cursor import ReadProgress
from itsm_bridge.watermark import Watermark
from itsm_bridge.sync.hints import hint_states, keep_facts, restore_facts
from itsm_bridge.sync.identity import Conflict, Identity, is_conflict
from itsm_bridge.sync.plan import Action, Plan
from itsm_bridge.sync.publish import plan_publish
from itsm_bridge.sync.refused import hold_refused
from itsm_bridge.sync.reconcile import Outcome, Side, carried, compared, reconcile
from itsm_bridge.sync.summary import RunSummary

log = logging.getLogger("itsm_bridge.sync")
BATCH = 500
MAX_WAITING = 1000
PRUNE_EVERY = 5000  # applied records between two prunings of a read's list  # keys waiting on a background write before the read pauses for them (bounds memory)


@dataclass
class _Work:
    """One key's planned cycle, waiting for its batch to be applied."""

    key: str
    outcome: Outcome
    sides: dict[str, Side]
    versions: dict[str, str]
    shown: dict[str, dict[str, Any]] = field(default_factory=dict)  # each platform as last synced
    earlier: Applied | None = None  # a recreate's later pass: what the earlier passes wrote
    recreated: tuple[str, ...] = ()  # platforms whose gone records this key created again


class Engine:
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
        self._background: dict[str, ThreadPoolExecutor] = {}
        self._waiting: list[tuple[_Work, Applied, Future[Applied]]] = []
        self.identity = Identity(self.store, self.run_id)
        self._plan: Plan | None = None  # the cycle's plan, while a dry run collects refusals in it
        self._recreate: list[tuple[_Work, Applied, list[str]]] = []  # keys whose gone records are created again
        self._held: dict[str, list[int]] | None = None  # open quarantine entries by key, read once

    # --- public entry points
    def sync(self, *, dry_run: bool = False, only: str | None = None, limit: int | None = None) -> tuple[RunSummary, Plan]:
        """Plan and (unless dry_run) apply one cycle. Call under the store lock.

        On a stop (stopping.requested) no new record is taken, the writes in flight finish, and
        the cursors stay where they were: the next run reads again what this one did not finish.
        Every worker thread has stopped when this returns, or raises."""
        try:
            return self._sync(dry_run, only, limit)
        finally:
            self._stop_background()

    def _stop_background(self) -> None:
        """Wait for the background workers (an error path included): none may write once the
        caller releases the lock; writes not begun are cancelled."""
        for executor in self._background.values():
            executor.shutdown(wait=True, cancel_futures=True)
        self._background.clear()

    def _sync(self, dry_run: bool, only: str | None, limit: int | None) -> tuple[RunSummary, Plan]:
        summary = RunSummary(self.run_id, dry_run=dry_run)
        plan = Plan(self.run_id)
        started = self.now()
        self.identity.journal = not dry_run
        self._plan = plan if dry_run else None
        restore_facts(self.store, self.connectors)
        for connector in self.connectors.values():  # what a connector must know before any write (a vendor's release)
            if isinstance(connector, NeedsPreflight):
                connector.preflight()
        if not dry_run:
            summary.settled = settle_open_intents(self.store, self.connectors, self.run_id)
        reads = {p: ReadProgress(Watermark.from_cursor(self.store.cursor(p)), started, self._overlap(p)) for p in self._two_way()}
        pending = self._read_targets(reads, summary, only)
        processed = 0
        for batch in _batches(self._read_source(reads, summary, only), BATCH):
            work: list[_Work] = []
            for key, record, side, findings in batch:
                if stopping.requested():
                    break
                if limit is not None and processed >= limit:
                    reads[self.source].unapplied.append(record.updated)
                    summary.skipped += 1
                    continue
                processed += 1
                targets = pending.pop(key, {})
                work.append(self._plan_key(key, {self.source: side, **targets}, findings, plan, summary, dry_run))
            self._apply_batch(work, reads, summary, dry_run)
            self.progress(processed)
        rest = list(pending.items())  # target-only changes: the source did not move
        if limit is not None:
            for _, sides in rest[max(0, limit - processed) :]:  # left for the next run: hold the cursors back
                self._account(sides, reads, False)
                summary.skipped += 1
            rest = rest[: max(0, limit - processed)]
        for start in range(0, len(rest), BATCH):
            if stopping.requested():
                break
            work = [self._plan_key(key, sides, [], plan, summary, dry_run) for key, sides in rest[start : start + BATCH]]
            self._apply_batch(work, reads, summary, dry_run)
        self._drain(reads, summary)
        summary.interrupted = stopping.reason()
        if not dry_run and not summary.interrupted:
            for platform, read in reads.items():
                moved = read.watermark.advance(read.applied, read.unapplied, started, self._overlap(platform), read.complete_to)
                self.store.put_cursor(moved.to_cursor(platform))
            keep_facts(self.store, self.connectors)
        summary.read = {p: r.count for p, r in reads.items()}
        plan.read = dict(summary.read)
        summary.api_calls = {p: c.calls for p, c in self.connectors.items()}
        return summary, plan

    def apply_plan(self, plan: Plan) -> RunSummary:
        """Apply a saved plan exactly; an action whose record changed since is refused as stale."""
        summary = RunSummary(self.run_id)
        applier = Applier(self.store, self.connectors, self.mappers, self.run_id, check_stale=True)
        by_key: dict[str, list[Action]] = {}
        for action in plan.actions:
            by_key.setdefault(action.key, []).append(action)
        for key, actions in by_key.items():
            if stopping.requested():
                break
            result = applier.apply_key(actions)
            applier.fetch_written([result])
            summary.count(result)
            if result.complete:
                self._record_applied_plan(key, actions[-1], result)
        summary.interrupted = stopping.reason()
        summary.api_calls = {p: c.calls for p, c in self.connectors.items()}
        return summary

    def _record_applied_plan(self, key: str, last: Action, result: Applied) -> None:
        """The shadow after a saved plan was applied: its merged incident, as each side now shows it."""
        shadow = self.store.shadow(key) or Shadow(key, {})
        merged = {**shadow.merged, **{k: v for k, v in last.incident.items() if k not in ("key", "comments", "links")}}
        sides = dict(shadow.sides)
        for platform, record in result.records.items():
            if compared(platform):
                sides[platform] = carried(platform, self.mappers[platform].to_canonical(record)[0])
        versions = {**shadow.versions, **result.versions}
        self.store.put_shadow(replace(shadow, merged=merged, sides=sides, versions=versions))

    def retry(self) -> RunSummary:
        """Re-evaluate every quarantined record (the mapping may have been fixed since) and every
        key whose write failed in the last run, reading each afresh from the source."""
        try:
            return self._retry()
        finally:
            self._stop_background()

    def _retry(self) -> RunSummary:
        summary = RunSummary(self.run_id)
        plan = Plan(self.run_id)
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
            verdict = self.identity.reread(self.connectors.get(platform), platform, refused, self.mappers.get(self.source) if platform == self.source else None)
            if verdict.conflict is not None:
                self._refuse(verdict.conflict, summary)
            elif verdict.key is not None and platform == self.source:
                keys.setdefault(verdict.key, refused)
        for key in self._keys_since_last_run():
            keys.setdefault(key, None)
        reads = {p: ReadProgress(Watermark()) for p in self._two_way()}
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
                summary.errors.append({"key": key, "platform": self.source, "action": "retry",
                                       "error": "NotFound", "message": f"{key} is no longer on {self.source}"})  # fmt: skip
                summary.failed += 1
                continue
            incident, findings = self._identified(record, summary)
            if incident is None:
                continue
            findings += key_findings(incident.key, self.source)
            side = _side(self.source, incident, record)
            work = self._plan_key(incident.key, {self.source: side}, findings, plan, summary, dry_run=False)
            self._apply_batch([work], reads, summary, dry_run=False)
        self._drain(reads, summary)
        summary.interrupted = stopping.reason()
        summary.read = {self.source: len(keys)}
        summary.api_calls = {p: c.calls for p, c in self.connectors.items()}
        return summary

    def _keys_since_last_run(self) -> list[str]:
        """Keys `retry` evaluates beside the quarantine, in one pass over the journal: those whose
        write failed in the last run, and those whose links were changed by hand since it."""
        return list(dict.fromkeys([*self.store.failed_in_last_run(), *self.store.relinked_since_last_run()]))

    # --- reading
    def _two_way(self) -> list[str]:
        return [p for p in (self.source, *self.targets) if compared(p) and p in self.connectors]

    def _read_source(self, reads: dict[str, ReadProgress], summary: RunSummary, only: str | None) -> Iterator[tuple[str, RemoteRecord, Side, list[Finding]]]:
        read = reads[self.source]
        try:
            yield from self._source_records(read, summary, only)
        except Paused as exc:
            _stop_read(read, exc, summary)
        except Interrupted:
            return  # a page not fetched: the run takes no more records

    def _source_records(self, read: ReadProgress, summary: RunSummary, only: str | None) -> Iterator[tuple[str, RemoteRecord, Side, list[Finding]]]:
        for record in self.connectors[self.source].changed_since(read.watermark):
            if stopping.requested():
                return
            read.last = record.updated or read.last
            read.count += 1
            if not self._matches_filter(record):
                read.took(record.ref.id, record.version, record.updated)
                summary.filtered += 1
                continue
            incident, findings = self._identified(record, summary, only)
            if incident is None:
                if only is None:
                    read.took(record.ref.id, record.version, record.updated)  # refused: held in quarantine
                continue
            findings += key_findings(incident.key, self.source)
            if only and incident.key != only:
                continue
            yield incident.key, record, _side(self.source, incident, record), findings

    def _identified(self, record: RemoteRecord, summary: RunSummary, only: str | None = None) -> tuple[Any, list[Finding]]:
        """A source record as an incident under the key it belongs to (its link, else the key it
        carries); (None, []) when another record holds that key (refused and quarantined)."""
        incident, findings = self.mappers[self.source].to_canonical(record)
        verdict = self.identity.resolve(self.source, record, incident.key)
        if verdict.conflict is not None:
            if only is None or verdict.conflict.key == only:
                self._refuse(verdict.conflict, summary)
            return None, []
        key = verdict.key or incident.key
        if key != incident.key:
            incident, findings = incident.replace(key=key), [f.for_key(key) for f in findings]
        return incident, findings

    def _refuse(self, conflict: Conflict, summary: RunSummary) -> None:
        """A record carrying a key another record holds: quarantined (a dry run shows it blocked)."""
        self.identity.refuse(conflict, self._plan)
        summary.quarantined += 1

    def _read_targets(self, reads: dict[str, ReadProgress], summary: RunSummary, only: str | None) -> dict[str, dict[str, Side]]:
        pending: dict[str, dict[str, Side]] = {}
        for platform in self._two_way():
            if platform == self.source:
                continue
            read = reads[platform]
            try:
                self._target_records(platform, read, pending, only, summary)
            except Paused as exc:
                _stop_read(read, exc, summary)
                continue
            except Interrupted:
                return pending  # the cursors stay: these changes are read again next run
        return pending

    def _target_records(self, platform: str, read: ReadProgress, pending: dict[str, dict[str, Side]], only: str | None,
                        summary: RunSummary) -> None:  # fmt: skip
        changes = self.connectors[platform].changed_since(read.watermark)
        for record in changes:
            if stopping.requested():
                return
            read.last = record.updated or read.last
            read.count += 1
            verdict = self.identity.resolve(platform, record, record.correlation_key)
            refused = verdict.conflict or verdict.displaced
            if refused is not None and (only is None or refused.key == only):
                self._refuse(refused, summary)
            if verdict.displaced is not None:  # an earlier record of this run, less well proven
                earlier = pending.get(verdict.displaced.key, {}).pop(platform, None)
                if earlier is not None:
                    read.took(earlier.ref["id"], earlier.version, _updated(earlier))
            key = verdict.key
            if key is None:
                read.took(record.ref.id, record.version, record.updated)  # not ours, or refused
                continue
            if only and key != only:
                read.unapplied.append(record.updated)  # another incident's change: for a full run
                continue
            shadow = self.store.shadow(key)
            if shadow is not None and shadow.versions.get(platform) == record.version:
                read.took(record.ref.id, record.version, record.updated)  # as we left it: nothing to keep
                continue
            incident, _ = self.mappers[platform].to_canonical(record)
            pending.setdefault(key, {})[platform] = _side(platform, incident.replace(key=key), record)
        if only is None:  # read to the end: the cursor may move as far as the read is complete
            read.complete_to = changes.complete_to

    def _matches_filter(self, record: RemoteRecord) -> bool:
        wanted = self.sync_settings.filters.get(self.source, {})
        return all(str(record.fields.get(k, "")) == v or record.display.get(k) == v for k, v in wanted.items())

    # --- one key planned, a batch applied
    def _plan_key(
        self,
        key: str,
        sides: dict[str, Side],
        findings: list[Finding],
        plan: Plan,
        summary: RunSummary,
        dry_run: bool,
    ) -> _Work:
        shadow = self.store.shadow(key)
        linked = {r.platform: {"platform": r.platform, "id": r.id, "display": r.display} for r in self.store.links(key)}
        blocking = [f.for_key(key) for f in findings if f.blocking]
        outcome = Outcome(key)
        if not blocking:
            outcome = reconcile(
                key, shadow, sides, linked,
                source=self.source, targets=self.targets, owners=self.sync_settings.owners,
                matrix=self.config.matrix, rules=self.config.rules, versions=shadow.versions if shadow else None,
            )  # fmt: skip
            for target in self.targets:
                if outcome.merged is not None and is_publish_only(target) and target in self.connectors:
                    plan_publish(outcome, shadow.merged if shadow else None, linked.get(target), self.config, target)
        else:
            outcome.blocked[self.source] = blocking
        for conflict in outcome.conflicts:
            entry = {"key": key, "field": conflict.field, "values": conflict.values, "winner": conflict.winner, "rule": conflict.rule}
            summary.conflicts += 1
            if dry_run:
                plan.conflicts.append(entry)
            else:
                self.store.append(self.run_id, "conflict", entry, key=key, platform=conflict.winner)
        if dry_run:  # the plan is what a dry run shows; a real run journals instead (memory stays flat)
            plan.warnings += [f.for_key(key).to_dict() for f in findings if not f.blocking]
            plan.warnings += [f.for_key(key).to_dict() for f in outcome.warnings]
            for platform, platform_findings in outcome.blocked.items():
                plan.block(key, platform, platform_findings)
            plan.actions += outcome.actions
        return _Work(key, outcome, sides, shadow.versions if shadow else {}, shadow.sides if shadow else {})

    def _apply_batch(self, work: list[_Work], reads: dict[str, ReadProgress], summary: RunSummary, dry_run: bool) -> None:
        if dry_run or not work:
            for w in work:
                self._account(w.sides, reads, True)
            return
        held = holds(self.store)
        for w in work:
            for platform in {a.platform for a in w.outcome.actions} & held.get(w.key, {}).keys():
                w.outcome.blocked.setdefault(platform, [held[w.key][platform]])  # e.g. no call to a gone record
            self._link_and_hold(w, summary)
            hint_states(self.store, self.connectors, w.key, w.shown, w.sides)
        applier = Applier(self.store, self.connectors, self.mappers, self.run_id, workers=self._workers())
        results, futures = applier.apply_batch(
            [(w.key, [a for a in w.outcome.actions if a.platform not in w.outcome.blocked]) for w in work],
            self._executors(),
        )
        for w in work:
            if w.key in futures:
                self._waiting.append((w, results[w.key], futures[w.key]))
            else:
                self._finish(w, results[w.key], reads, summary)
        self._collect(reads, summary, until=MAX_WAITING)

    def _collect(self, reads: dict[str, ReadProgress], summary: RunSummary, until: int) -> None:
        """Finish keys whose background writes are done; wait for the oldest while more than
        `until` keys are waiting."""
        still: list[tuple[_Work, Applied, Future[Applied]]] = []
        for i, (w, result, future) in enumerate(self._waiting):
            if future.done() or len(self._waiting) - i > until:
                future.result()  # an abort (bad credentials, ...) stops the run
                self._finish(w, result, reads, summary)
            else:
                still.append((w, result, future))
        self._waiting = still

    def _drain(self, reads: dict[str, ReadProgress], summary: RunSummary) -> None:
        self._collect(reads, summary, until=0)
        self._create_gone_again(reads, summary)
        for executor in self._background.values():
            executor.shutdown()
        self._background.clear()

    def _finish(self, w: _Work, result: Applied, reads: dict[str, ReadProgress], summary: RunSummary) -> None:
        """Count what a key's writes did, record its shadow when all succeeded, and let its
        records move the cursors (or hold them back)."""
        record = w.outcome.merged.to_dict() if w.outcome.merged else {}
        gone = settle_gone(self.store, self.run_id, self.sync_settings.gone_links, w.key, result, record)
        hold_refused(self.store, w.key, result, record)
        summary.count(result)
        if w.earlier is not None:  # a recreate's later pass: what the earlier wrote counts too
            result.records = {**w.earlier.records, **result.records}
            result.versions = {**w.earlier.versions, **result.versions}
            result.done = [*w.earlier.done, *result.done]
        again = [p for p, how in gone.items() if how == "unlinked"]
        if again and len(w.recreated) < len(self.targets):  # created again once the batch is done, then accounted
            self._recreate.append((w, result, again))
            return
        ok = result.complete
        if ok and w.outcome.merged is not None and not w.outcome.blocked and not gone and not result.held:
            seen = {p: s.version for p, s in w.sides.items()}
            sides = self._side_shadows(w.outcome, w.sides, result)
            versions = {**w.versions, **seen, **result.versions}
            self.store.put_shadow(Shadow(w.key, w.outcome.shadow_fields, sides, w.outcome.comments_seen, versions))
            if not result.blocked:
                self._release_held(w.key)
        self._account(w.sides, reads, ok)

    def _create_gone_again(self, reads: dict[str, ReadProgress], summary: RunSummary) -> None:
        """Plan again the keys whose gone records were unlinked (`gone_links = "recreate"`) and
        apply the writes the earlier pass did not make (the creates among them); what that pass wrote
        still counts for the shadow."""
        while self._recreate:
            todo, self._recreate = self._recreate, []
            work = []
            for w, earlier, platforms in todo:
                done = {a.platform for a in earlier.done} - set(platforms)
                sides = {p: s for p, s in w.sides.items() if p not in platforms}
                again = self._plan_key(w.key, sides, [], Plan(self.run_id), summary, dry_run=False)
                again.outcome.actions = [a for a in again.outcome.actions if a.platform not in done]
                again.earlier, again.recreated = earlier, (*w.recreated, *platforms)
                work.append(again)
            self._apply_batch(work, reads, summary, dry_run=False)
            self._collect(reads, summary, until=0)

    def _release_held(self, key: str) -> None:
        """A key fully synced is no longer held: its quarantine entries (from an earlier run)
        are released, so runs stop exiting 1 for it once the cause is fixed."""
        if self._held is None:
            self._held = {}
            for entry in self.store.quarantined():
                if entry.key and not is_conflict(entry.findings):  # a conflict is another record's
                    self._held.setdefault(entry.key, []).append(entry.id)
        for entry_id in self._held.pop(key, []):
            self.store.release(entry_id)

    def _executors(self) -> dict[str, ThreadPoolExecutor]:
        for platform in self.connectors:
            settings = self.config.settings.section(platform)
            if own_writer_pool(platform) and settings is not None and platform not in self._background:
                self._background[platform] = ThreadPoolExecutor(settings.workers, thread_name_prefix=platform)
        return self._background

    def _link_and_hold(self, w: _Work, summary: RunSummary) -> None:
        """Link records found by their correlation key (never duplicate them) and quarantine
        what a blocking finding stopped."""
        linked = {r.platform for r in self.store.links(w.key)}
        for platform, side in w.sides.items():
            if platform not in linked and w.outcome.merged is not None:
                self.store.link(w.key, RemoteRef(platform, side.ref["id"], side.ref.get("display", "")))
        for platform, findings in w.outcome.blocked.items():
            ref = w.sides[platform].ref["id"] if platform in w.sides else None
            record = w.outcome.merged.to_dict() if w.outcome.merged else {}
            self.store.quarantine(platform, [f.to_dict() for f in findings], record, key=w.key, ref=ref)
            summary.quarantined += 1

    def _overlap(self, platform: str) -> timedelta:
        section = self.config.settings.section(platform)
        return timedelta(seconds=section.overlap_s if isinstance(section, ReadSettings) else 0)

    def _workers(self) -> int:
        """Keys applied side by side: enough for the busiest platform to have its `workers`
        requests in flight. A background platform's writes run on its own executor, not these."""
        sections = (self.config.settings.section(p) for p in self.connectors if not own_writer_pool(p))
        counts: list[int] = [s.workers for s in sections if s is not None]
        return max(counts or [1])

    def _side_shadows(self, outcome: Outcome, sides: dict[str, Side], result: Applied) -> dict[str, dict[str, Any]]:
        """How each platform shows the incident now: from the record our last write returned,
        else from what was read this cycle, else as before."""
        out = dict(outcome.side_shadows)
        for platform in two_way_names():
            record = result.records.get(platform)
            if record is not None:
                out[platform] = carried(platform, self.mappers[platform].to_canonical(record)[0])
            elif platform in sides:
                out[platform] = carried(platform, sides[platform].incident)
        return out

    def _account(self, sides: dict[str, Side], reads: dict[str, ReadProgress], ok: bool) -> None:
        for platform, side in sides.items():
            if platform not in reads:
                continue
            updated = _updated(side)
            if ok:
                reads[platform].took(side.ref["id"], side.version, updated)
            else:
                reads[platform].unapplied.append(updated)


def _stop_read(read: ReadProgress, exc: Paused, summary: RunSummary) -> None:
    """A read cut short by a long rate-limit wait: what it yielded is applied, and the cursor
    stays at or before the last record read (the rest come, in order, after it)."""
    summary.pause(exc)
    log.warning("%s: reading stopped for this run: %s", exc.platform, exc)
    if read.last is not None:
        read.unapplied.append(read.last)


def _side(platform: str, incident: Any, record: RemoteRecord) -> Side:
    return Side(platform, incident, record.version, _ref(record), record.updated, frozenset(record.copied))


def _ref(record: RemoteRecord) -> dict[str, str]:
    return {"platform": record.ref.platform, "id": record.ref.id, "display": record.ref.display}


def _updated(side: Side) -> datetime:
    return side.updated or side.incident.updated or datetime.now(UTC)


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
