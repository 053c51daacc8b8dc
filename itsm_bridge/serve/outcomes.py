"""Each job's outcome after an engine run that served several jobs: the outcome of its incident,
read from what the run journaled (its outcome entries and quarantine holds), so a job is told
what became of its own incident, not of the whole run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from itsm_bridge import errors
from itsm_bridge.serve.queue import Job
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.summary import RunSummary

WRITTEN = frozenset({"ok", "created", "updated", "resolved"})  # an outcome entry's result after a write
RETRY = "retry"  # a write failed in a way worth trying again soon (a timeout, a 5xx, a 429)
RANK = {"unchanged": 0, "synced": 1, "deferred": 2, RETRY: 3, "quarantined": 4, "failed": 5}  # the worst shows


def retryable(error: object) -> bool:
    """Whether the error named (an exception class of `itsm_bridge.errors`) is worth a rerun."""
    found = getattr(errors, str(error), None)
    return isinstance(found, type) and getattr(found, "disposition", None) == "retry"


@dataclass(frozen=True)
class RunMark:
    """Where the journal and the clock stood when a run began."""

    seq: int | None  # the journal's last entry before the run
    at: str  # ISO UTC: quarantine holds seen at or after this are the run's


def mark(store: StateStore) -> RunMark:
    """The journal's last entry and the time now, taken before a run starts."""
    last = next(iter(store.journal(last=1)), None)
    return RunMark(last.seq if last else None, datetime.now(UTC).isoformat())


@dataclass(frozen=True)
class RunOutcomes:
    """What became of the incidents and records a run touched."""

    by_key: dict[str, str]  # outcome per incident key: failed, quarantined, retry, deferred or synced
    held: frozenset[tuple[str, str]]  # (platform, remote id) of every record the run quarantined

    def of_job(self, store: StateStore, job: Job) -> str:
        """The outcome of `job`'s incident (its record's key as linked after the run); a record
        with no link (new and refused on its first read, or refused for a key another holds) is
        `quarantined` when the run held it."""
        key = store.key_for(job.platform, job.remote_id)
        if key is None:
            return "quarantined" if (job.platform, job.remote_id) in self.held else "unchanged"
        return self.by_key.get(key, "unchanged")


def of_run(store: StateStore, summary: RunSummary, since: RunMark) -> RunOutcomes:
    """The run's outcomes, from its journal entries after the mark and the holds since the mark
    (one read of each)."""
    found: dict[str, str] = {}

    def note(key: str | None, outcome: str) -> None:
        if key is not None and RANK[outcome] > RANK[found.get(key, "unchanged")]:
            found[key] = outcome

    for entry in store.journal(kinds=("outcome",), after=since.seq):
        if entry.run_id != summary.run_id:
            continue
        result, error = entry.payload.get("result"), entry.payload.get("error")
        if error == "Paused" or result == "deferred":
            note(entry.key, "deferred")  # a rate limit paused it, or the page's cadence holds it
        elif result == "failed":
            note(entry.key, RETRY if retryable(error) else "failed")
        elif result in WRITTEN:
            note(entry.key, "synced")
    for failure in summary.errors:
        note(failure.get("key"), RETRY if retryable(failure.get("error")) else "failed")
    held = store.quarantined(since=since.at)
    for hold in held:
        note(hold.key, "quarantined")
    return RunOutcomes(found, frozenset((q.platform, q.ref) for q in held if q.ref))
