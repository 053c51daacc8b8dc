"""Settling what a crashed run left open, before anything is created again.

Every write has an intent entry before its call and an outcome after. A run killed between the
two leaves an open intent; the next run closes it here: a create whose record exists is found by
its correlation key (where search lags behind writes, looked for until the lag has passed) and
linked, so the next plan updates it instead of creating a duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from itsm_bridge import stopping
from itsm_bridge.connectors.base import Connector, SearchLags
from itsm_bridge.errors import BridgeError
from itsm_bridge.records import RemoteRecord
from itsm_bridge.stopping import Interrupted
from itsm_bridge.store.base import JournalEntry, StateStore
from itsm_bridge.sync.linking import link_or_report, unsettled_finding


def settle_open_intents(
    store: StateStore,
    connectors: dict[str, Connector],
    run_id: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """Close intents a crashed run left open. A create whose record exists is linked (found by
    its correlation key; where search lags behind writes, looked for until the lag has passed),
    so the next plan updates it instead of creating a duplicate."""
    settled: list[dict[str, Any]] = []
    for intent in store.open_intents():
        if stopping.requested():
            break  # the rest stay open for the next run
        result: dict[str, Any] = {"result": "settled", "open_since": intent.at}
        connector = connectors.get(intent.platform or "")
        if intent.action in ("create", "publish") and connector is not None and intent.key:
            try:
                result.update(_settle_create(store, connector, intent, run_id, stopping.interruptible(sleep)))
            except Interrupted:
                break  # the rest stay open for the next run
            except BridgeError as exc:  # scoped to the record: held with the reason, never raised again
                if exc.disposition == "abort":
                    raise
                finding = unsettled_finding(intent.key, connector.name, intent.action or "create", exc)
                store.quarantine(connector.name, [finding], {}, key=intent.key, ref=intent.ref)
                result.update(result="quarantined", error=type(exc).__name__, message=str(exc))
        store.append(
            run_id,
            "outcome",
            result,
            key=intent.key,
            platform=intent.platform,
            ref=intent.ref,
            action=intent.action,
            intent_seq=intent.seq,
        )
        settled.append({"key": intent.key, "platform": intent.platform, "action": intent.action, **result})
    return settled


def _settle_create(
    store: StateStore, connector: Connector, intent: JournalEntry, run_id: str, sleep: Callable[[float], None]
) -> dict[str, Any]:
    """Link the record an open create made, if it landed; where the key is linked to another
    record meanwhile (a run that overlapped), the linked one stays and this one is reported."""
    assert intent.key is not None
    found = _find_after_lag(connector, intent, sleep)
    if found is None:
        return {"found": None}
    kept = link_or_report(store, run_id, intent.key, found.ref)
    out: dict[str, Any] = {"found": str(found.ref), "version": found.version}
    if kept != found.ref:
        out.update(kept=str(kept), duplicate=str(found.ref))
    return out


def _find_after_lag(connector: Connector, intent: JournalEntry, sleep: Callable[[float], None]) -> RemoteRecord | None:
    lag = connector.search_lag_s if isinstance(connector, SearchLags) else 0.0
    since = datetime.fromisoformat(intent.at)
    while True:
        assert intent.key is not None
        found = connector.find(intent.key)
        if found is not None:
            return found
        waited = (datetime.now(UTC) - since).total_seconds()
        if waited >= lag:
            return None
        sleep(min(max(lag - waited, 0.05), max(lag / 5, 0.2)))
