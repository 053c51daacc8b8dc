"""Each job's outcome after an engine run that served several jobs: the outcome of its incident,
read from what the run journaled (its outcome entries and quarantine holds), so a job is told
what became of its own incident, not of the whole run."""

from __future__ import annotations

from dataclasses import dataclass

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


def mark(store: StateStore, at: str) -> RunMark:
    last = next(iter(store.journal(last=1)), None)
    return RunMark(last.seq if last else None, at)


def per_key(store: StateStore, summary: RunSummary, since: RunMark) -> dict[str, str]:
    """Outcome per incident key the run touched: failed, quarantined, retry, deferred or synced."""
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
    for held in store.quarantined():
        if held.last_seen >= since.at:
            note(held.key, "quarantined")
    return found


def of_job(store: StateStore, job: Job, outcomes: dict[str, str], held_refs: set[str]) -> str:
    """The outcome of `job`'s incident (its record's key as linked after the run)."""
    key = store.key_for(job.platform, job.remote_id)
    if key is None:
        return "quarantined" if job.remote_id in held_refs else "unchanged"
    return outcomes.get(key, "unchanged")


def held_refs(store: StateStore, since: RunMark) -> set[str]:
    """Records held by the run before they had a key (a new record refused on its first read)."""
    return {q.ref for q in store.quarantined() if q.key is None and q.ref and q.last_seen >= since.at}
