"""The one way to write: a planned batch applied. `sync`, `apply PLAN` and `retry` all come here.

For each batch: what the store holds back (a gone record) blocks those writes, records found by
their correlation key are linked, blocked keys are quarantined, then the `Writer` makes the calls
(creates in bulk, the rest on a bounded pool; a background platform, the status page, on its own
executor so it never holds the others' workers). Each key's result is then recorded: its shadow
when all of its writes went through, and its records move the cursors (or hold them back).

Batches are pipelined (`sync.pipeline`): `apply` hands a batch to the writers and records the
batch before it (read-back, shadows, cursors) while this one is written, then returns, so the
caller reads and plans the next batch while it is written too. At most two batches are in flight;
`drain` records every one.

`Shown` is the other side of the seam: a dry run shows each batch in the plan and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Protocol

from itsm_bridge import progress, stopping
from itsm_bridge.config import Config
from itsm_bridge.connectors.base import Connector
from itsm_bridge.mapping.translate import PlatformMapper
from itsm_bridge.model import Incident
from itsm_bridge.platforms import own_writer_pool
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.apply import Applied, Writer
from itsm_bridge.sync.hints import hint_states
from itsm_bridge.sync.identity import Identity
from itsm_bridge.sync.linking import holds, settle_gone
from itsm_bridge.sync.pipeline import BatchWrites, Pipeline
from itsm_bridge.sync.plan import Plan
from itsm_bridge.sync.planner import KeyPlan, Planner, show
from itsm_bridge.sync.reader import Reads, account
from itsm_bridge.sync.recorder import Recorder
from itsm_bridge.sync.refused import hold_refused
from itsm_bridge.sync.settle import settle_open_intents
from itsm_bridge.sync.summary import RunSummary

MAX_WAITING = 1000  # keys waiting on a background write before the read pauses for them (bounds memory)


class Sink(Protocol):
    """Where a cycle's planned batches go: applied, or only shown (the one dry-run seam)."""

    def begin(self) -> None: ...
    def settle(self, key: str) -> None: ...
    def apply(self, batch: list[KeyPlan]) -> None: ...
    def finish(self, started: datetime) -> None: ...


class Shown:
    """A dry run: every batch is shown in the plan; nothing is written, no cursor moves."""

    def __init__(self, plan: Plan, reads: Reads, identity: Identity, summary: RunSummary) -> None:
        self.plan, self.reads, self.identity, self.summary = plan, reads, identity, summary

    def begin(self) -> None:
        """Open intents are settled by the next real run."""

    def settle(self, key: str) -> None:
        """Nothing is in flight in a dry run."""

    def apply(self, batch: list[KeyPlan]) -> None:
        self.identity.show(self.plan)
        for key_plan in batch:
            self.summary.conflicts += len(key_plan.outcome.conflicts)
            show(self.plan, key_plan)
            account(self.reads, key_plan.sides, True)

    def finish(self, started: datetime) -> None:
        self.identity.show(self.plan)
        self.summary.interrupted = stopping.reason()


class Applier:
    """Applies planned batches through one `Writer` and records each key's result."""

    def __init__(
        self,
        config: Config,
        store: StateStore,
        connectors: dict[str, Connector],
        mappers: Mapping[str, PlatformMapper],
        *,
        run_id: str,
        identity: Identity,
        planner: Planner,
        reads: Reads,
        summary: RunSummary,
        check_stale: bool = False,
    ) -> None:
        self.config, self.store, self.connectors = config, store, connectors
        self.run_id, self.identity, self.planner, self.reads, self.summary = run_id, identity, planner, reads, summary
        self.recorder = Recorder(store, mappers, run_id)
        self.writer = Writer(store, connectors, dict(mappers), run_id, check_stale=check_stale)
        self.pipeline = Pipeline(self.writer, self._workers())
        self._background: dict[str, ThreadPoolExecutor] = {}
        self._in_flight: list[tuple[list[KeyPlan], BatchWrites]] = []  # handed to the writers, not yet recorded
        self._in_flight_keys: set[str] = set()
        self._waiting: list[tuple[KeyPlan, Applied, Future[Applied]]] = []
        self._recreate: list[tuple[KeyPlan, Applied, list[str]]] = []  # keys whose gone records are created again

    # --- the sink of a real run
    def begin(self) -> None:
        """Settle the intents a crashed run left open, before anything is created again."""
        self.summary.settled = settle_open_intents(self.store, self.connectors, self.run_id)

    def finish(self, started: datetime) -> None:
        """Wait for every key, then move the cursors (not after a stop: the next run reads again
        what this one did not finish)."""
        self.drain()
        self.summary.interrupted = stopping.reason()
        if not self.summary.interrupted:
            self.recorder.cursors(self.config, self.reads, started, self.connectors)

    def settle(self, key: str) -> None:
        """Before `key` is planned again while its earlier plan is in flight (a source record
        edited during the read comes again at its end), record what is in flight, so the key is
        planned from the shadow and links its earlier writes left."""
        if key in self._in_flight_keys:
            self._record_written(keep=0)

    # --- batches
    def apply(self, batch: list[KeyPlan]) -> None:
        """Hand one batch of key plans to the writers and record the batch before it; keys with
        background writes are finished as those end."""
        self.identity.record()
        if not batch:
            return
        held = holds(self.store)
        for w in batch:
            self.recorder.conflicts(w, self.summary)
            for platform in {a.platform for a in w.actions} & held.get(w.key, {}).keys():
                w.outcome.blocked.setdefault(platform, [held[w.key][platform]])  # e.g. no call to a gone record
            self.identity.linked(w.key, self.recorder.link_and_hold(w, self.summary))  # the store proves them now
            hint_states(self.store, self.connectors, w.key, w.shown, w.sides)
        incidents: dict[str, Incident] = {w.key: w.merged for w in batch if w.merged is not None}
        work = [(w.key, [a for a in w.actions if a.platform not in w.outcome.blocked]) for w in batch]
        progress.planned((a.kind, a.platform) for _, actions in work for a in actions)
        writes = self.pipeline.submit([(k, a) for k, a in work if a], incidents, self._executors())
        self._in_flight.append((batch, writes))
        self._in_flight_keys.update(w.key for w in batch)
        self._record_written(keep=1)

    def _record_written(self, keep: int) -> None:
        """Record the batches handed over, oldest first, until `keep` are left in flight (the
        newest is written meanwhile): wait for each one's writes, read back, finish its keys."""
        while len(self._in_flight) > keep:
            batch, writes = self._in_flight.pop(0)
            self._in_flight_keys.difference_update(w.key for w in batch)
            futures = self.pipeline.hand_over(writes, self._executors())
            for w in batch:
                result = writes.results.get(w.key, Applied())
                if w.key in futures:
                    self._waiting.append((w, result, futures[w.key]))
                else:
                    self._finish(w, result)
            self._collect(until=MAX_WAITING)

    def drain(self) -> None:
        """Finish every key still waiting (and the recreates they asked for); no worker is left."""
        self._record_written(keep=0)
        self._collect(until=0)
        self._create_gone_again()
        self.identity.record()
        self.pipeline.close()
        for executor in self._background.values():
            executor.shutdown()
        self._background.clear()

    def close(self) -> None:
        """Wait for the background workers (an error path included): none may write once the
        caller releases the lock; writes not begun are cancelled."""
        self.pipeline.close()
        self._in_flight.clear()
        self._in_flight_keys.clear()
        for executor in self._background.values():
            executor.shutdown(wait=True, cancel_futures=True)
        self._background.clear()

    def _collect(self, until: int) -> None:
        """Finish keys whose background writes are done; wait for the oldest while more than
        `until` keys are waiting."""
        still: list[tuple[KeyPlan, Applied, Future[Applied]]] = []
        for i, (w, result, future) in enumerate(self._waiting):
            if future.done() or len(self._waiting) - i > until:
                future.result()  # an abort (bad credentials, ...) stops the run
                self._finish(w, result)
            else:
                still.append((w, result, future))
        self._waiting = still

    def _finish(self, w: KeyPlan, result: Applied) -> None:
        """Count what a key's writes did, record its shadow when all succeeded, and let its
        records move the cursors (or hold them back)."""
        record = w.merged.to_dict() if w.merged else {}
        gone = settle_gone(self.store, self.run_id, self.config.settings.sync.gone_links, w.key, result, record)
        hold_refused(self.store, w.key, result, record)
        self.summary.count(result)
        if w.earlier is not None:  # a recreate's later pass: what the earlier wrote counts too
            result.records = {**w.earlier.records, **result.records}
            result.versions = {**w.earlier.versions, **result.versions}
            result.done = [*w.earlier.done, *result.done]
        again = [p for p, how in gone.items() if how == "unlinked"]
        if again and len(w.recreated) < len(self.config.settings.sync.targets):  # created again once the batch is done
            self._recreate.append((w, result, again))
            return
        ok = result.complete
        if ok and w.merged is not None and not w.outcome.blocked and not gone and not result.held:
            self.recorder.shadow(w, result)
            if not result.blocked:
                self.recorder.release_held(w.key)
        account(self.reads, w.sides, ok)

    def _create_gone_again(self) -> None:
        """Plan again the keys whose gone records were unlinked (`gone_links = "recreate"`) and
        apply the writes the earlier pass did not make (the creates among them); what that pass wrote
        still counts for the shadow."""
        while self._recreate:
            todo, self._recreate = self._recreate, []
            batch = []
            for w, earlier, platforms in todo:
                done = {a.platform for a in earlier.done} - set(platforms)
                sides = {p: s for p, s in w.sides.items() if p not in platforms}
                again = self.planner.plan_key(w.key, sides, [])
                again.outcome.actions = [a for a in again.actions if a.platform not in done]
                again.earlier, again.recreated = earlier, (*w.recreated, *platforms)
                batch.append(again)
            self.apply(batch)
            self._record_written(keep=0)
            self._collect(until=0)

    def _executors(self) -> dict[str, ThreadPoolExecutor]:
        for platform in self.connectors:
            settings = self.config.settings.section(platform)
            if own_writer_pool(platform) and settings is not None and platform not in self._background:
                self._background[platform] = ThreadPoolExecutor(settings.workers, thread_name_prefix=platform)
        return self._background

    def _workers(self) -> int:
        """Keys applied side by side: enough for the busiest platform to have its `workers`
        requests in flight. A background platform's writes run on its own executor, not these."""
        sections = (self.config.settings.section(p) for p in self.connectors if not own_writer_pool(p))
        counts: list[int] = [s.workers for s in sections if s is not None]
        return max(counts or [1])
