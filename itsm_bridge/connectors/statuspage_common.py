"""The status-page contract both providers (Atlassian Statuspage, Cachet) implement.

What is decided here, the same for every provider:

- **What is published** (`should_publish`): an incident flagged major (when `publish.when_major`)
  or of a priority in `publish.priorities`, AND whose service maps to a page component. Nothing
  else is ever sent.
- **Component status per priority** (COMPONENT_STATUS_BY_PRIORITY): P1 major_outage,
  P2 partial_outage, anything else degraded_performance.
- **Component ownership**: each page incident holds the components it set, at the status it set.
  A component shows the worst status any open incident holds, and returns to operational only
  when no open incident holds it. Holders are read back from the page's own open incidents
  before every component change, so this survives restarts and respects incidents people opened
  on the page by hand (their hold is derived from their impact).
- **Update cadence** (`Cadence`): at most one update per page incident per
  `statuspage.min_update_interval_s`; a newer change waits for the next cycle (`Deferred`).
  A resolve is never held back: customers should see recovery as soon as it happens.
- **Rate**: one `RateBudget` per (API url, key), shared by every connector using that key.

Providers translate the neutral fields the mapper produces (`name`, `body`, `status`, `impact`,
`component`, `component_status`) into their own request bodies.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal

from itsm_bridge.connectors.base import CheckResult, RemoteRecord
from itsm_bridge.errors import BridgeError, ConfigError, ConfigProblem, MappingError, RemoteValidation
from itsm_bridge.http import HttpClient, RateBudget
from itsm_bridge.mapping.findings import Finding, blocking
from itsm_bridge.model import Comment, Incident, RemoteRef, State

if TYPE_CHECKING:
    from itsm_bridge.config import Config

OPERATIONAL = "operational"
COMPONENT_SEVERITY: tuple[str, ...] = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
"""Component statuses, least to most severe: a component shows the worst one held."""

COMPONENT_STATUS_BY_PRIORITY: dict[str, str] = {"P1": "major_outage", "P2": "partial_outage"}
DEFAULT_COMPONENT_STATUS = "degraded_performance"
"""Status an incident sets on its component: P1 major outage, P2 partial outage, else degraded."""

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


def component_status_for(priority: str | None) -> str:
    """The component status an incident of `priority` sets."""
    return COMPONENT_STATUS_BY_PRIORITY.get(priority or "", DEFAULT_COMPONENT_STATUS)


def worst(statuses: Iterable[str]) -> str:
    """The most severe of `statuses` (operational when there are none)."""
    rank = {s: i for i, s in enumerate(COMPONENT_SEVERITY)}
    return max(statuses, key=lambda s: rank.get(s, rank[DEFAULT_COMPONENT_STATUS]), default=OPERATIONAL)


def page_component(incident: Incident, config: Config) -> str | None:
    """The page component (by name) the incident's service maps to, or None."""
    services = config.taxonomy.services
    canonical = services.canonical(incident.service)
    if canonical is None:
        return None
    return services.platform_values("statuspage").get(canonical)


def should_publish(incident: Incident, config: Config) -> bool:
    """Whether this incident goes on the public page at all."""
    rule = config.settings.publish
    chosen = (incident.major and rule.when_major) or (
        incident.priority is not None and incident.priority.value in rule.priorities
    )
    return bool(chosen) and page_component(incident, config) is not None


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


def utcnow() -> datetime:
    return datetime.now(UTC)


Action = Literal["created", "updated", "resolved", "deferred", "unchanged", "skipped", "blocked"]


@dataclass(frozen=True)
class PublishResult:
    """What `publish` did for one incident."""

    action: Action
    ref: RemoteRef | None = None
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""


RATE_MARGIN = 0.95
_budgets: dict[tuple[str, str], RateBudget] = {}
_budgets_lock = threading.Lock()


def shared_budget(url: str, key: str, requests_per_second: float, sleep: Callable[[float], None]) -> RateBudget:
    """The one RateBudget of an API key: every connector using the key draws from it.

    Keyed by URL and a hash of the key (the key itself is not kept); the first connector to ask
    sets the rate.
    """
    ident = (url.rstrip("/"), hashlib.sha256(key.encode()).hexdigest()[:16])
    with _budgets_lock:
        budget = _budgets.get(ident)
        if budget is None:
            # A hair under the vendor's rate: requests spaced exactly at the limit can arrive a
            # few milliseconds closer together and tip a rolling window over.
            budget = _budgets[ident] = RateBudget(requests_per_second * RATE_MARGIN, sleep=sleep)
        return budget


def status_page_connector(config: Config, **kw: object) -> StatusPageConnector:
    """The connector for the configured provider (`statuspage.provider`)."""
    settings = config.settings.statuspage
    if settings is not None and settings.provider == "cachet":
        from itsm_bridge.connectors.cachet import CachetConnector

        return CachetConnector(config, **kw)  # type: ignore[arg-type]
    from itsm_bridge.connectors.statuspage import StatuspageConnector

    return StatuspageConnector(config, **kw)  # type: ignore[arg-type]


class StatusPageConnector:
    """A page incident's life (create, update at a cadence, resolve), component ownership, drift
    read-back and `check`, for any provider. Providers implement the `_`-primitives."""

    name = "statuspage"
    provider = ""
    carries_impact = True  # whether the provider stores an incident impact to compare against

    def __init__(self, config: Config, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] = utcnow) -> None:  # fmt: skip
        from itsm_bridge.mapping.statuspage import StatuspageMapper  # mapping imports this module

        settings = config.settings.statuspage
        if settings is None:
            raise ConfigError([ConfigProblem("statuspage", "is not configured")])
        self.config, self.settings = config, settings
        self.mapper = StatuspageMapper(config)
        self.cadence = Cadence(settings.min_update_interval_s, clock)
        self.sleep = sleep
        self.http: HttpClient = self._client()
        self._component_cache: dict[str, tuple[str, str]] | None = None
        self._held: dict[str, dict[str, str]] = {}  # page incident id -> holds this process set

    # --- provider primitives
    def _client(self) -> HttpClient:
        raise NotImplementedError

    def _fetch_components(self) -> dict[str, tuple[str, str]]:
        """Page components: name -> (id, current status)."""
        raise NotImplementedError

    def _read(self, incident_id: str) -> PageIncident:
        raise NotImplementedError

    def _open(self) -> list[PageIncident]:
        """Every unresolved incident on the page (ours and people's)."""
        raise NotImplementedError

    def _all(self) -> Iterator[PageIncident]:
        """Every incident on the page, newest first, paged."""
        raise NotImplementedError

    def _send(self, incident_id: str | None, fields: dict[str, Any], components: dict[str, str],
              key: str | None) -> PageIncident:  # fmt: skip
        """Create (no id) or update one incident, component statuses in the same call."""
        raise NotImplementedError

    def _holding(self, incidents: list[PageIncident]) -> list[PageIncident]:
        """`incidents` with holds the page does not state filled in from what this process set."""
        out = []
        for inc in incidents:
            known = self._held.get(inc.id, {})
            holds = {cid: status or known.get(cid) for cid, status in inc.holds.items()}
            out.append(PageIncident(**{**inc.__dict__, "holds": holds}))
        return out

    def _open_holding(self) -> list[PageIncident]:
        return self._holding(self._open())

    def _check_page(self) -> list[CheckResult]:
        """Key accepted and page exists."""
        raise NotImplementedError

    def _components(self, fresh: bool = False) -> dict[str, tuple[str, str]]:
        """Page components by name; ids rarely change, so the list is read once and again only
        when asked for a fresh one (a request saved is a second of rate budget saved)."""
        if fresh or self._component_cache is None:
            self._component_cache = self._fetch_components()
        return self._component_cache

    # --- Connector protocol
    @property
    def calls(self) -> int:
        return self.http.calls

    def record(self, inc: PageIncident) -> RemoteRecord:
        """A page incident as a RemoteRecord: neutral fields, components by name."""
        names = {cid: name for name, (cid, _) in self._components().items()}
        holds = {names.get(cid, cid): status or DEFAULT_COMPONENT_STATUS for cid, status in inc.holds.items()}
        fields = {"name": inc.name, "status": inc.status, "impact": inc.impact, "body": inc.body,
                  "components": holds, "created_at": inc.created, "resolved_at": inc.resolved}  # fmt: skip
        return RemoteRecord(RemoteRef(self.name, inc.id, inc.name), fields, inc.updated.isoformat(), inc.updated, inc.key)

    def get(self, ref: RemoteRef) -> RemoteRecord:
        return self.record(self._read(ref.id))

    def open_incidents(self) -> list[RemoteRecord]:
        """What the page shows as unresolved now, for drift audits."""
        return [self.record(inc) for inc in self._open()]

    def changed_since(self, cursor: Any) -> Iterator[RemoteRecord]:
        """Page incidents updated since the cursor's read-from point, oldest first."""
        from datetime import timedelta

        since = cursor.read_from(timedelta(seconds=60)) if cursor is not None else None
        found: list[PageIncident] = []
        for inc in self._all():
            if since is not None and inc.updated < since:
                break
            if cursor is None or not cursor.already_applied(inc.id, inc.updated.isoformat()):
                found.append(inc)
        for inc in sorted(found, key=lambda i: i.updated):
            yield self.record(inc)

    def find(self, correlation_key: str) -> RemoteRecord | None:
        """The page incident carrying the key: open ones first, then the whole history."""
        for inc in self._open():
            if inc.key == correlation_key:
                return self.record(inc)
        return next((self.record(i) for i in self._all() if i.key == correlation_key), None)

    def create(self, fields: dict[str, Any], correlation_key: str) -> RemoteRecord:
        self._guard(fields, correlation_key)
        wanted = self._wanted(fields)
        components = hold_plan(None, wanted, self._open_holding()) if wanted else {}
        inc = self._send(None, fields, components, correlation_key)
        self._held[inc.id] = wanted
        self.cadence.note(inc.id)
        return self.record(inc)

    def update(self, ref: RemoteRef, fields: dict[str, Any]) -> RemoteRecord:
        """Send `fields`; a resolve releases components; other updates keep the cadence
        (raise `Deferred` when the last one was too recent)."""
        return self.record(self._update(ref, fields, None))

    def transition(self, ref: RemoteRef, state: State, fields: dict[str, Any] | None = None) -> RemoteRecord:
        status = self.config.public_status[state].value
        return self.update(ref, {**(fields or {}), "status": status})

    def add_comment(self, ref: RemoteRef, comment: Comment) -> None:
        """Comments are internal and never reach a public page: nothing is sent."""

    def check(self) -> list[CheckResult]:
        """Key accepted, page exists, every mapped component exists (each missing one named)."""
        results = self._check_page()
        if not all(r.ok for r in results):
            return results
        on_page = self._components(fresh=True)
        mapped = self.config.taxonomy.services.platform_values("statuspage")
        missing = sorted({c for c in mapped.values() if c not in on_page})
        detail = f"missing on the page: {', '.join(missing)}" if missing else f"{len(set(mapped.values()))} mapped"
        fix = "add them to the page or fix taxonomy.services.<name>.statuspage" if missing else ""
        return [*results, CheckResult(self.name, "components", not missing, detail, fix)]

    # --- the whole decision for one incident
    def publish(self, incident: Incident, ref: RemoteRef | None = None) -> PublishResult:
        """Bring the page in line with `incident`: create, update, resolve, or nothing.

        The publish rule decides what gets a page incident; one already on the page (`ref`)
        is kept up to date and resolved even if the incident no longer meets the rule."""
        if ref is None and not should_publish(incident, self.config):
            return PublishResult("skipped", None, detail="not chosen for the page by [publish]")
        fields, findings = self.mapper.to_fields(incident)
        if blocking(findings):
            return PublishResult("blocked", ref, findings, "the leak guard stopped it; nothing was sent")
        if ref is None:
            found = self.find(incident.key)
            ref = found.ref if found else None
        if ref is None:
            if not incident.state.is_open:
                return PublishResult("skipped", None, findings, "resolved before it was ever published")
            return PublishResult("created", self.create(fields, incident.key).ref, findings)
        current = self._holding([self._read(ref.id)])[0]
        changes = self._changes(current, fields)
        if not changes:
            return PublishResult("unchanged", ref, findings)
        try:
            self._update(ref, changes, current)
        except Deferred as exc:
            return PublishResult("deferred", ref, findings, str(exc))
        return PublishResult("resolved" if changes.get("status") == RESOLVED else "updated", ref, findings)

    # --- internals
    def _changes(self, current: PageIncident, fields: dict[str, Any]) -> dict[str, Any]:
        if not current.is_open:
            return {}  # the page says resolved: reopening is a person's call, not ours
        compared = ("status", "impact", "name") if self.carries_impact else ("status", "name")
        changes = {k: fields[k] for k in compared if k in fields and fields[k] != getattr(current, k)}
        wanted = self._wanted(fields)
        if any(current.holds.get(cid) != status for cid, status in wanted.items()):
            changes.update({k: fields[k] for k in ("component", "component_status")})
        if changes and "body" in fields:
            changes["body"] = fields["body"]  # every public change comes with its message
        elif fields.get("body") and fields["body"] != current.body:
            changes["body"] = fields["body"]
        return changes

    def _update(self, ref: RemoteRef, fields: dict[str, Any], current: PageIncident | None) -> PageIncident:
        self._guard(fields, None)
        if fields.get("status") == RESOLVED:
            return self._resolve(ref, fields)
        if not self.cadence.known(ref.id):
            current = current or self._read(ref.id)
        wait = self.cadence.wait_s(ref.id, current.updated if current else None)
        if wait > 0:
            raise Deferred(ref, wait)
        components: dict[str, str] = {}
        if "component_status" in fields or "component" in fields:
            current = current or self._read(ref.id)
            wanted = self._wanted(fields) or {cid: fields.get("component_status") or s or DEFAULT_COMPONENT_STATUS
                                              for cid, s in current.holds.items()}  # fmt: skip
            components = hold_plan(ref.id, wanted, self._open_holding())
            self._held[ref.id] = wanted
        inc = self._send(ref.id, fields, components, None)
        self.cadence.note(ref.id)
        return inc

    def _resolve(self, ref: RemoteRef, fields: dict[str, Any]) -> PageIncident:
        open_now = self._open_holding()
        own = next((i for i in open_now if i.id == ref.id), None) or self._read(ref.id)
        if not own.is_open:
            return own  # already resolved on the page: nothing to send
        components = release_plan(ref.id, own.holds, open_now)
        inc = self._send(ref.id, {**fields, "status": RESOLVED}, components, None)
        self.cadence.note(ref.id)
        return inc

    def _wanted(self, fields: dict[str, Any]) -> dict[str, str]:
        """component id -> status this incident asks for."""
        name = fields.get("component")
        if not name:
            return {}
        components = self._components()
        if name not in components:
            components = self._components(fresh=True)
        if name not in components:
            raise RemoteValidation(f"component {name!r} is not on the page", platform=self.name, fields=["component"])
        return {components[name][0]: fields.get("component_status") or DEFAULT_COMPONENT_STATUS}

    def _guard(self, fields: dict[str, Any], key: str | None) -> None:
        findings = [f for k in TEXT_FIELDS if fields.get(k) for f in self.mapper.guard.check(k, str(fields[k]), key)]
        if findings:
            raise PublishBlocked(findings)
