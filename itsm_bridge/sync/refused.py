"""Retried, then held: a key whose writes a vendor refuses run after run.

A refused write (not a fault: a 400, a transition the workflow forbids) fails its key and holds
the cursor before it, so the next run tries it again. After `RUNS` runs in a row the key is
quarantined with the last refusal as its reason: it no longer pins the cursor nor spends calls
each run, and `status` says why until someone fixes the cause and runs `itsm-bridge retry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from itsm_bridge.findings import Finding
from itsm_bridge.store.base import StateStore

if TYPE_CHECKING:
    from itsm_bridge.sync.apply import Applied

RUNS = 5


def hold_refused(store: StateStore, key: str, applied: Applied, record: Mapping[str, Any]) -> bool:
    """Quarantine `key` when its writes were refused in `RUNS` runs in a row (this one included);
    the refusals leave `applied.failed` and count as held. True when it did."""
    refused = [(a, e) for a, e in applied.failed if e.disposition == "skip"]
    if not refused or failed_runs_in_a_row(store, key) < RUNS:
        return False
    action, exc = refused[-1]
    message = (
        f"{action.kind} on {action.platform} refused in {RUNS} runs in a row, last: {exc}; "
        f"fix the cause, then `itsm-bridge retry`"
    )
    finding = Finding("write.refused", action.platform, action.kind, "block", message, key)
    store.quarantine(action.platform, [finding.to_dict()], dict(record), key=key, ref=None)
    for pair in refused:
        applied.failed.remove(pair)
    applied.blocked += 1
    applied.held = True  # no shadow: the refused change is still to be made
    return True


def failed_runs_in_a_row(store: StateStore, key: str) -> int:
    """The latest runs in which a write of `key` failed, back to the last run where all of its
    writes went through."""
    runs: dict[str, bool] = {}  # run id -> a write failed in it (in journal order)
    for entry in store.journal(key=key, kinds=("outcome",)):
        if entry.kind == "outcome":
            runs[entry.run_id] = runs.get(entry.run_id, False) or entry.payload.get("result") == "failed"
    count = 0
    for failed in reversed(list(runs.values())):
        if not failed:
            break
        count += 1
    return count
