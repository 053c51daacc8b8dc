"""The page-incident life every status-page provider shares: create, update at a cadence,
resolve, component ownership read back from the page, drift read-back and `check`.

Providers (`atlassian.py`, `cachet.py`) implement the `_`-primitives; the ownership and cadence
rules live in `rules.py`. What is published and how it reads is the mapping's publish policy,
which the connector receives as its `PagePolicy` (by default the page mapper the platform
registry names), so this package imports nothing from `mapping/`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from itsm_bridge import platforms
from itsm_bridge.connectors.base import CheckResult, PublishResult
from itsm_bridge.connectors.statuspage.rules import (
    DEFAULT_COMPONENT_STATUS,
    RESOLVED,
    TEXT_FIELDS,
    Cadence,
    Deferred,
    PageIncident,
    PublishBlocked,
    hold_plan,
    release_plan,
    utcnow,
)
from itsm_bridge.errors import ConfigError, ConfigProblem, RemoteValidation
from itsm_bridge.findings import Finding, blocking
from itsm_bridge.http import HttpClient
from itsm_bridge.model import Comment, Incident, RemoteRef, State
from itsm_bridge.records import ChangeRead, Pages, RemoteRecord
from itsm_bridge.watermark import Watermark

if TYPE_CHECKING:
    from itsm_bridge.config import Config


class PagePolicy(Protocol):
    """What goes on the public page and how it reads: the mapping's publish policy."""

    def chosen(self, incident: Incident) -> bool:
        """Whether `incident` gets a page incident at all."""
        ...

    def to_fields(
        self, incident: Incident, changed: Iterable[str] | None = None
    ) -> tuple[dict[str, Any], list[Finding]]:
        """The neutral page fields (`name`, `body`, `status`, `impact`, `component`,
        `component_status`), a text the leak guard blocks left out with a blocking Finding."""
        ...

    def check_text(self, field: str, text: str, key: str | None) -> list[Finding]:
        """The leak guard's findings for a text about to be sent."""
        ...

    def update_fields(self, incident: Incident, next_update_at: datetime) -> tuple[dict[str, Any], list[Finding]]:
        """The `body` of a scheduled update naming `next_update_at`, guarded like `to_fields`."""
        ...


class StatusPageConnector:
    """A page incident's life (create, update at a cadence, resolve), component ownership, drift
    read-back and `check`, for any provider. Providers implement the `_`-primitives."""

    name = "statuspage"
    provider = ""
    carries_impact = True  # whether the provider stores an incident impact to compare against
    newest_first = True  # whether `_all` comes newest update first (else every incident is read)
    lists_updates = False  # whether a page incident read lists the times of its public updates

    def __init__(
        self,
        config: Config,
        *,
        policy: PagePolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        settings = config.settings.statuspage
        if settings is None:
            raise ConfigError([ConfigProblem("statuspage", "is not configured")])
        self.config, self.settings = config, settings
        self.policy: PagePolicy = policy if policy is not None else platforms.spec(self.name).mapper_factory()(config)
        self.cadence = Cadence(settings.min_update_interval_s, clock)
        self.sleep = sleep
        self.http: HttpClient = self._client()
        self._component_cache: dict[str, tuple[str, str]] | None = None
        self._held: dict[str, dict[str, str]] = {}  # page incident id -> holds this process set
        self._loading = threading.RLock()  # lazy reads (components, open incidents) made once, not per worker
        self._looked_for: set[str] = set()  # component names missing from the page, already read afresh for
        self._open_now: dict[str, PageIncident] | None = None  # unresolved incidents, kept up to date by our sends

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

    def _send(
        self, incident_id: str | None, fields: dict[str, Any], components: dict[str, str], key: str | None
    ) -> PageIncident:
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
        return self._holding(list(self._open_snapshot().values()))

    def _open_snapshot(self) -> dict[str, PageIncident]:
        """The unresolved page incidents: read once per run, then kept up to date by what we
        send (the page's budget is a request a second; a read per publish would halve it)."""
        with self._loading:
            if self._open_now is None:
                self._open_now = {inc.id: inc for inc in self._open()}
            return self._open_now

    def open_keys(self) -> set[str]:
        """The keys the page's unresolved incidents carry (this run's snapshot): what `publish`
        of a resolved, never-published incident would find to resolve."""
        return {inc.key for inc in self._open_snapshot().values() if inc.key}

    def last_public_updates(self) -> dict[str, datetime]:
        """When each unresolved page incident (by id) last had a public update, as the page's
        own timeline says (this run's snapshot, kept up to date by our sends)."""
        return {inc.id: inc.last_public_update for inc in self._open_snapshot().values()}

    def _sent(self, inc: PageIncident) -> PageIncident:
        if self._open_now is not None:
            if inc.is_open:
                self._open_now[inc.id] = inc
            else:
                self._open_now.pop(inc.id, None)
        return inc

    def _check_page(self) -> list[CheckResult]:
        """Key accepted and page exists."""
        raise NotImplementedError

    def _components(self, fresh: bool = False) -> dict[str, tuple[str, str]]:
        """Page components by name; ids rarely change, so the list is read once and again only
        when asked for a fresh one (a request saved is a second of rate budget saved)."""
        with self._loading:  # workers share one read
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
        fields = {
            "name": inc.name,
            "status": inc.status,
            "impact": inc.impact,
            "body": inc.body,
            "components": holds,
            "created_at": inc.created,
            "resolved_at": inc.resolved,
            "updates": list(inc.update_times) if self.lists_updates else None,  # None: not listed by the page
        }
        return RemoteRecord(
            RemoteRef(self.name, inc.id, inc.name), fields, inc.updated.isoformat(), inc.updated, inc.key
        )

    def get(self, ref: RemoteRef) -> RemoteRecord:
        return self.record(self._read(ref.id))

    def open_incidents(self) -> list[RemoteRecord]:
        """What the page shows as unresolved now, for drift audits."""
        return [self.record(inc) for inc in self._open()]

    def changed_since(self, cursor: Watermark | None) -> ChangeRead:
        """Page incidents updated since the cursor's read-from point, oldest first."""
        return ChangeRead(self._read_changes(cursor))

    def _read_changes(self, cursor: Watermark | None) -> Pages:
        since = cursor.read_from(timedelta(seconds=60)) if cursor is not None else None
        found: list[PageIncident] = []
        for inc in self._all():
            if since is not None and inc.updated < since:
                if self.newest_first:
                    break
                continue
            if cursor is None or not cursor.already_applied(inc.id, inc.updated.isoformat()):
                found.append(inc)
        for inc in sorted(found, key=lambda i: i.updated):
            yield self.record(inc)
        return None

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
        inc = self._sent(self._send(None, fields, components, correlation_key))
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
    def publish(
        self, incident: Incident, ref: RemoteRef | None = None, *, next_update_at: datetime | None = None
    ) -> PublishResult:
        """Bring the page in line with `incident`: create, update, resolve, or nothing.

        The publish rule decides what gets a page incident; one already on the page (`ref`)
        is kept up to date and resolved even if the incident no longer meets the rule.
        `next_update_at`: a scheduled update instead (`scheduled_update`)."""
        if next_update_at is not None:
            return self.scheduled_update(incident, ref, next_update_at)
        if ref is None and not self.policy.chosen(incident):
            return PublishResult("skipped", None, detail="not chosen for the page by [publish]")
        fields, findings = self.policy.to_fields(incident)
        if blocking(findings):
            return PublishResult("blocked", ref, findings, "the leak guard stopped it; nothing was sent")
        open_now = self._open_snapshot()
        if ref is None:  # one published before we knew it is open on the page, carrying its key
            ref = next((self.record(i).ref for i in open_now.values() if i.key == incident.key), None)
        if ref is None:
            if not incident.state.is_open:
                return PublishResult("skipped", None, findings, "resolved before it was ever published")
            return PublishResult("created", self.create(fields, incident.key).ref, findings)
        if ref.id not in open_now:
            return PublishResult("unchanged", ref, findings, "resolved on the page: reopening is a person's call")
        current = self._holding([open_now[ref.id]])[0]
        changes = self._changes(current, fields)
        if not changes:
            return PublishResult("unchanged", ref, findings)
        try:
            self._update(ref, changes, current)
        except Deferred as exc:
            return PublishResult("deferred", ref, findings, str(exc))
        return PublishResult("resolved" if changes.get("status") == RESOLVED else "updated", ref, findings)

    def scheduled_update(self, incident: Incident, ref: RemoteRef | None, next_update_at: datetime) -> PublishResult:
        """Post the scheduled update (`communication.update_template`) on the open page incident
        `ref`, keeping its status: a new entry on its public timeline. The leak guard and the
        update interval apply as to any update; a resolved incident gets none."""
        if ref is None or not incident.state.is_open:
            return PublishResult("skipped", ref, detail="no scheduled update: not open or not on the page")
        fields, findings = self.policy.update_fields(incident, next_update_at)
        if blocking(findings):
            return PublishResult("blocked", ref, findings, "the leak guard stopped it; nothing was sent")
        # Read afresh: the update carries the page's status, and a snapshot (or a saved plan) may
        # predate a person resolving it on the page, which this update must not undo.
        current = self._sent(self._read(ref.id))
        if not current.is_open:
            return PublishResult("unchanged", ref, findings, "resolved on the page: no scheduled update")
        try:
            self._update(ref, {"status": current.status, **fields}, current)
        except Deferred as exc:
            return PublishResult("deferred", ref, findings, str(exc))
        return PublishResult("updated", ref, findings, "scheduled update")

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
            wanted = self._wanted(fields) or {
                cid: fields.get("component_status") or s or DEFAULT_COMPONENT_STATUS for cid, s in current.holds.items()
            }
            components = hold_plan(ref.id, wanted, self._open_holding())
            self._held[ref.id] = wanted
        inc = self._sent(self._send(ref.id, fields, components, None))
        self.cadence.note(ref.id)
        return inc

    def _resolve(self, ref: RemoteRef, fields: dict[str, Any]) -> PageIncident:
        open_now = self._open_holding()
        own = next((i for i in open_now if i.id == ref.id), None)
        if own is None:
            return self._read(ref.id)  # already resolved on the page: nothing to send
        components = release_plan(ref.id, own.holds, open_now)
        inc = self._sent(self._send(ref.id, {**fields, "status": RESOLVED}, components, None))
        self.cadence.note(ref.id)
        return inc

    def _wanted(self, fields: dict[str, Any]) -> dict[str, str]:
        """component id -> status this incident asks for."""
        name = fields.get("component")
        if not name:
            return {}
        components = self._components()
        if name not in components and name not in self._looked_for:
            self._looked_for.add(name)  # read the list afresh once per missing name, not per publish
            components = self._components(fresh=True)
        if name not in components:
            raise RemoteValidation(f"component {name!r} is not on the page", platform=self.name, fields=["component"])
        return {components[name][0]: fields.get("component_status") or DEFAULT_COMPONENT_STATUS}

    def _guard(self, fields: dict[str, Any], key: str | None) -> None:
        findings = [f for k in TEXT_FIELDS if fields.get(k) for f in self.policy.check_text(k, str(fields[k]), key)]
        if findings:
            raise PublishBlocked(findings)
