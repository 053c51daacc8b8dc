"""Batches written back to back, so a platform's rate budget never waits on bookkeeping.

A batch handed over (`Pipeline.submit`) is written on two kinds of threads: one feeder thread
makes each batch's creates in bulk, one bulk call's worth at a time (its intents journaled before,
its outcomes and links after), and hands each key to the key pool as soon as its creates are done;
the pool writes each key's other actions in order, keys side by side (each platform's rate budget
and in-flight limit still hold). Batches are fed in order: the next batch's creates start while
the pool still writes the keys of the one before.

Meanwhile the caller (`sync.applier.Applier`) reads and plans the next batch, then reads back
(`Pipeline.hand_over`) and records the batch before: at most two batches are in flight, one
written while the other is planned or recorded, so memory stays bounded by two batches whatever
N is. Keys of one cycle are distinct, so two batches in flight never write the same record.

A stop starts no new create or action (the writes on the wire finish and are journaled); `close`
(an error path) starts nothing more and waits for what is running.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

from itsm_bridge import stopping
from itsm_bridge.connectors.base import CreatesInBulk
from itsm_bridge.model import Incident
from itsm_bridge.sync.apply import Applied, Writer
from itsm_bridge.sync.plan import Action


@dataclass
class BatchWrites:
    """One batch handed to the writers: each key's result, filled in as its writes end."""

    results: dict[str, Applied]
    incidents: Mapping[str, Incident]
    later: dict[str, list[Action]]  # a background platform's actions, handed over once the key's others succeeded
    remaining: dict[str, list[Action]]
    started: Future[list[Future[Applied]]] | None = None  # the feeder's: each key's future on the pool

    def wait(self) -> dict[str, Applied]:
        """Wait until every write of the batch ended (a background platform's aside); an abort
        (bad credentials, ...) met by any of them is raised here."""
        assert self.started is not None
        for future in self.started.result():
            future.result()
        return self.results


class Pipeline:
    """Feeds batches to a `Writer` in order, one feeder thread for the creates and one pool for
    the keys, kept from batch to batch."""

    def __init__(self, writer: Writer, workers: int) -> None:
        self.writer = writer
        self.workers = max(1, workers)
        self._feeder: ThreadPoolExecutor | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._closing = threading.Event()

    def submit(
        self,
        work: list[tuple[str, list[Action]]],
        incidents: Mapping[str, Incident],
        background: Mapping[str, Executor],
    ) -> BatchWrites:
        """Start writing many keys' actions (each from its key's merged incident in `incidents`);
        a `background` platform's actions wait for `hand_over`. Returns at once."""
        batch = BatchWrites(
            {key: Applied() for key, _ in work},
            incidents,
            {key: [a for a in actions if a.platform in background] for key, actions in work},
            {key: [a for a in actions if a.platform not in background] for key, actions in work},
        )
        if self._feeder is None or self._pool is None:
            self._feeder = ThreadPoolExecutor(1, thread_name_prefix="create")
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="apply")
        batch.started = self._feeder.submit(self._write, batch, self._pool)
        return batch

    def hand_over(self, batch: BatchWrites, background: Mapping[str, Executor]) -> dict[str, Future[Applied]]:
        """Once the batch's writes ended: read back in bulk what they did not return, then hand
        each complete key's background actions to its platform's executor (futures, by key)."""
        results = batch.wait()
        self.writer.fetch_written(results.values())
        for key, actions in batch.later.items():
            if actions and stopping.requested():
                results[key].interrupted = True  # its page writes are not handed over
        return {
            key: background[actions[0].platform].submit(
                self.writer.apply_key, actions, batch.incidents[key], results[key]
            )
            for key, actions in batch.later.items()
            if actions and results[key].complete
        }

    def close(self) -> None:
        """Start nothing more; wait for the writes already running (none may write once the
        caller releases the lock); actions not begun are cancelled."""
        self._closing.set()
        for executor in (self._feeder, self._pool):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
        self._feeder = self._pool = None
        self._closing.clear()

    def _write(self, batch: BatchWrites, pool: ThreadPoolExecutor) -> list[Future[Applied]]:
        """The feeder: the batch's creates in bulk, a bulk call's worth at a time; each key goes
        to the pool once its creates are done (the rest of its actions depend on them)."""
        bulk = {p: c for p, c in self.writer.connectors.items() if isinstance(c, CreatesInBulk)}
        remaining, results = batch.remaining, batch.results
        creating = {
            key: {a.platform for a in actions if a.kind == "create" and a.platform in bulk}
            for key, actions in remaining.items()
        }
        futures: list[Future[Applied]] = []

        def hand(key: str) -> None:
            if remaining[key] and not results[key].failed:
                futures.append(pool.submit(self.writer.apply_key, remaining[key], batch.incidents[key], results[key]))

        for key, platforms in creating.items():
            if not platforms:
                hand(key)
        for platform, connector in bulk.items():
            keys = [key for key, platforms in creating.items() if platform in platforms]
            size = bulk_size(connector) or max(1, len(keys))
            for start in range(0, len(keys), size):
                if self._closing.is_set():
                    return futures
                chunk = {key: remaining[key] for key in keys[start : start + size]}
                self.writer.create_in_bulk(platform, connector, chunk, batch.incidents, results)
                for key, actions in chunk.items():
                    remaining[key] = actions
                    creating[key].discard(platform)
                    if not creating[key]:
                        hand(key)
        return futures


def bulk_size(connector: CreatesInBulk) -> int | None:
    """Items one bulk call of the connector takes, where it says (`bulk_size`): the creates are
    handed to it that many at a time, so each call's keys go on while the next call is made."""
    size = getattr(connector, "bulk_size", None)
    return size if isinstance(size, int) and size > 0 else None
