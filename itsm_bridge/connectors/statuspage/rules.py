"""The page-incident rules both providers (Atlassian Statuspage, Cachet) keep.

What is published, and with which component status, is the mapping's publish policy
(`mapping/publish.py`), handed to the connector as its `PagePolicy`. What is decided here, the
same for every provider:

- **Component ownership**: each page incident holds the components it set, at the status it set.
  A component shows the worst status any open incident holds, and returns to operational only
  when no open incident holds it. Holders are read back from the page's own open incidents
  before every component change, so this survives restarts and respects incidents people opened
  on the page by hand (their hold is derived from their impact).
- **Update cadence** (`Cadence`): at most one update per page incident per
  `statuspage.min_update_interval_s`; a newer change waits for the next cycle (`Deferred`).
  A resolve is never held back: customers should see recovery as soon as it happens.
- **Rate**: one `RateBudget` per (API url, key), shared by every connector using that key
  (`http.shared_budget`).

Providers translate the neutral fields the mapper produces (`name`, `body`, `status`, `impact`,
`component`, `component_status`) into their own request bodies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from itsm_bridge.errors import BridgeError, MappingError
from itsm_bridge.findings import Finding
from itsm_bridge.model import RemoteRef

OPERATIONAL = "operational"
COMPONENT_SEVERITY: tuple[str, ...] = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
"""Component statuses, least to most severe: a component shows the worst one held."""

DEFAULT_COMPONENT_STATUS = "degraded_performance"
"""The hold of an open incident that states none, and the status of a component change that names none."""

IMPACT_COMPONENT_STATUS: dict[str, str] = {
    "critical": "major_outage",
    "major": "partial_outage",
    "minor": "degraded_performance",
    "none": "degraded_performance",
    "maintenance": "under_maintenance",
}
"""The hold of a page incident that does not say what it set (one opened by hand), by impact."""

TEXT_FIELDS = ("name", "body")
RESOLVED = "resolved"


def worst(statuses: Iterable[str]) -> str:
    """The most severe of `statuses` (operational when there are none)."""
    rank = {s: i for i, s in enumerate(COMPONENT_SEVERITY)}
    return max(statuses, key=lambda s: rank.get(s, rank[DEFAULT_COMPONENT_STATUS]), default=OPERATIONAL)


@dataclass(frozen=True)
class PageIncident:
    """A page incident as both providers read it back: what the page says right now."""

    id: str
    name: str
    status: str  # investigating | identified | monitoring | resolved
    holds: dict[str, str | None]  # component id -> status this incident holds (None: unknown)
    updated: datetime
    created: datetime | None = None
    resolved: datetime | None = None
    impact: str | None = None
    body: str = ""  # the latest update's message
    key: str | None = None  # the canonical key, where the provider can store it
    update_times: tuple[datetime, ...] = ()  # when each public update went out, oldest first, where the page lists them

    @property
    def last_public_update(self) -> datetime:
        """When the public last heard about it: the newest update, else the incident's change."""
        return self.update_times[-1] if self.update_times else self.updated

    @property
    def is_open(self) -> bool:
        return self.status != RESOLVED


def holders(component_id: str, open_incidents: Iterable[PageIncident], *, excluding: str | None = None) -> list[str]:
    """Statuses held on `component_id` by open incidents other than `excluding`."""
    return [
        inc.holds[component_id] or DEFAULT_COMPONENT_STATUS
        for inc in open_incidents
        if inc.is_open and inc.id != excluding and component_id in inc.holds
    ]


def hold_plan(own_id: str | None, wanted: dict[str, str], open_incidents: list[PageIncident]) -> dict[str, str]:
    """Component statuses to send when an incident sets `wanted`: never below another's hold."""
    return {cid: worst([status, *holders(cid, open_incidents, excluding=own_id)]) for cid, status in wanted.items()}


def release_plan(own_id: str, released: Iterable[str], open_incidents: list[PageIncident]) -> dict[str, str]:
    """Component statuses to send when an incident lets go of `released`: operational only
    where no other open incident still holds the component."""
    return {cid: worst(holders(cid, open_incidents, excluding=own_id)) for cid in released}


class Deferred(BridgeError):
    """An update held back by the cadence; the change goes out in a later cycle."""

    disposition = "skip"

    def __init__(self, ref: RemoteRef, wait_s: float) -> None:
        self.ref, self.wait_s = ref, wait_s
        super().__init__(f"{ref}: update deferred; next one allowed in {wait_s:.0f}s")


class PublishBlocked(MappingError):
    """The leak guard (or a template) stopped a publish; nothing was sent."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("; ".join(f"{f.field}: {f.rule_id}" for f in findings) or "publish blocked")


class Cadence:
    """At most one update per page incident per `min_interval_s` seconds."""

    def __init__(self, min_interval_s: float, clock: Callable[[], datetime]) -> None:
        self.min_interval_s = min_interval_s
        self.clock = clock
        self._last: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def note(self, incident_id: str, at: datetime | None = None) -> None:
        """Record a write to `incident_id` (now, unless `at`)."""
        with self._lock:
            self._last[incident_id] = at or self.clock()

    def known(self, incident_id: str) -> bool:
        with self._lock:
            return incident_id in self._last

    def wait_s(self, incident_id: str, page_updated: datetime | None = None) -> float:
        """Seconds until the next update is allowed; 0 when it may go now. `page_updated` (the
        page's own last-update time) stands in when this process has not written it yet."""
        with self._lock:
            last = self._last.get(incident_id, page_updated)
        if last is None or self.min_interval_s <= 0:
            return 0.0
        elapsed = (self.clock() - last).total_seconds()
        return max(0.0, self.min_interval_s - elapsed)


def parse_page_time(value: Any, zone: tzinfo = UTC) -> datetime | None:
    """A page timestamp as aware UTC: ISO 8601 with `Z` or an offset (Statuspage), or a naive
    `YYYY-MM-DD HH:MM:SS` in `zone`, the instance's app time zone (Cachet)."""
    if not value:
        return None
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=zone)).astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
