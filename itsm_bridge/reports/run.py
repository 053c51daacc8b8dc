"""`itsm-bridge audit`: open the store, build the connectors, collect (read only), report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from itsm_bridge.connectors import build_all
from itsm_bridge.reports.collect import collect, scoped
from itsm_bridge.reports.report import Report, build
from itsm_bridge.store import open_from_config

if TYPE_CHECKING:
    from itsm_bridge.config import Config


def audit(config: Config, since: datetime | None = None, now: datetime | None = None) -> Report:
    """Read every platform of the flows and the state store, and report. Writes nothing, takes no
    lock: an audit may run beside a sync (it then sees the platforms mid-cycle)."""
    now = now or datetime.now(UTC)
    store = open_from_config(config)
    try:
        snap = collect(config, store, build_all(config), since)
    finally:
        store.close()
    return build(scoped(snap, since), config, now, since)
