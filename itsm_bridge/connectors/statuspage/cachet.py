"""Cachet 2.x (`/api/v1`, header `X-Cachet-Token`): incidents and components.

Cachet differs from Atlassian Statuspage in ways the contract has to absorb:

- Numbers, not words: component status 1 operational, 2 performance issues, 3 partial outage,
  4 major outage (3.x adds 5 unknown, 6 maintenance); incident status 1 investigating,
  2 identified, 3 watching, 4 fixed (0 is a scheduled incident, which we never touch).
- One component per incident (`component_id`, `component_status` on the incident call itself).
- No impact. Cachet 2.4 keeps an incident's `meta` (key -> value, given on create, shown on
  every read: IncidentController@store, IncidentPresenter::meta), so the canonical key rides
  there (`meta.itsm_bridge_key`) and `find()` and a lost create answer go by it. Cachet 2.3 keeps
  no meta: there the links table is the only correlation, and a create whose answer was lost is
  recognised by content (the one open incident with the name we sent that was not on the page
  before); a run killed between that create and its journal outcome is left for a person.
- Times come as naive `Y-m-d H:i:s` in the instance's `app_timezone`, not UTC
  (TimestampsTrait + DateFactory::make): `statuspage.timezone` names that zone, and every time
  is turned into UTC as it is read.
- The release is read once (`GET /api/v1/version`) before the first write and by `check`:
  2.4 and 2.3 are supported (SUPPORTED), anything else is refused with the version named.
- What an incident holds on its component is not stored on the page either: holds this process
  set are remembered, and any other open incident on a component is taken to hold it at least
  degraded (DEFAULT_COMPONENT_STATUS).
- A public status change is an incident update (`POST /incidents/{id}/updates`, Cachet 2.4),
  which keeps the timeline; other changes (name) are a PUT of the incident. The swagger lists
  the updates endpoint for reading only; Cachet 2.4 accepts the POST. Cachet 2.3 has no updates
  endpoint (its ApiRoutes at v2.3.18): there the incident itself is PUT with status and message.
- Lists sort only by the model's `$sortable` columns (SortableTrait; `updated_at` is not one):
  incidents are read newest id first and every one is looked at, not cut off by update time.
- Reads are public (a wrong token reads as a guest), so `check` proves the token with a
  component PUT carrying an empty body: authenticated, and changing nothing people see.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from itsm_bridge.connectors.base import CheckResult
from itsm_bridge.connectors.statuspage.page import StatusPageConnector
from itsm_bridge.connectors.statuspage.rules import PageIncident, parse_page_time
from itsm_bridge.errors import AuthError, ConnectorError, Forbidden, Transient
from itsm_bridge.http import HttpClient, shared_budget
from itsm_bridge.records import RemoteRecord

log = logging.getLogger("itsm_bridge.connectors.cachet")

API = "/api/v1"
PAGE_SIZE = 100

COMPONENT_STATUS: dict[str, int] = {
    "operational": 1,
    "degraded_performance": 2,
    "partial_outage": 3,
    "major_outage": 4,
    "under_maintenance": 2,  # 2.x has no maintenance status; closest is "performance issues"
}
COMPONENT_STATUS_NAME: dict[int, str] = {
    0: "",
    1: "operational",
    2: "degraded_performance",
    3: "partial_outage",
    4: "major_outage",
    5: "",
    6: "under_maintenance",
}
INCIDENT_STATUS: dict[str, int] = {"investigating": 1, "identified": 2, "monitoring": 3, "resolved": 4}
INCIDENT_STATUS_NAME: dict[int, str] = {v: k for k, v in INCIDENT_STATUS.items()}
OPEN_STATUSES = (1, 2, 3)
META_KEY = "itsm_bridge_key"  # the incident meta entry carrying the canonical key (Cachet 2.4)
SUPPORTED = ((2, 3), (2, 4))  # (major, minor) releases of Cachet this connector speaks to


class UnsupportedVersion(ConnectorError):
    """The Cachet release is not one this connector supports (see SUPPORTED)."""

    disposition = "abort"
    exit_code = 4


def release(version: str) -> tuple[int, int]:
    """(major, minor) of a version string as `GET /api/v1/version` gives it ("2.4.1", "v2.3.18")."""
    m = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    if not m:
        raise UnsupportedVersion(
            f"Cachet answered version {version!r}, which is not a version number", platform="statuspage"
        )
    return int(m.group(1)), int(m.group(2))


def page_incident(data: dict[str, Any], zone: tzinfo = UTC) -> PageIncident:
    """A Cachet incident object as the neutral PageIncident; its naive times are in `zone`."""
    status = INCIDENT_STATUS_NAME.get(int(data.get("status") or 0), "investigating")
    component = data.get("component_id")
    holds: dict[str, str | None] = {str(component): None} if component else {}
    created = parse_page_time(data.get("created_at"), zone)
    updated = parse_page_time(data.get("updated_at"), zone) or created or datetime.now(UTC)
    meta = data.get("meta")
    key = meta.get(META_KEY) if isinstance(meta, dict) else None
    return PageIncident(
        id=str(data["id"]),
        name=str(data.get("name") or ""),
        status=status,
        holds=holds,
        updated=updated,
        created=created,
        resolved=updated if status == "resolved" else None,
        body=str(data.get("message") or ""),
        key=str(key) if key else None,
    )


def incident_body(fields: dict[str, Any], components: dict[str, str], create: bool) -> dict[str, Any]:
    """The request body of a create (POST) or update (PUT)."""
    body: dict[str, Any] = {}
    if fields.get("name") is not None:
        body["name"] = fields["name"]
    if fields.get("body") is not None:
        body["message"] = fields["body"]
    if fields.get("status") is not None:
        body["status"] = INCIDENT_STATUS[fields["status"]]
    for cid, status in list(components.items())[:1]:  # Cachet 2.x: one component per incident
        body["component_id"] = int(cid) if cid.isdigit() else cid
        body["component_status"] = COMPONENT_STATUS[status]
    if create:
        body["visible"] = 1
        body["notify"] = True
    return body


class CachetConnector(StatusPageConnector):
    """Cachet 2.x, one installation (`statuspage.url`)."""

    provider = "cachet"
    carries_impact = False
    newest_first = False  # `updated_at` is not sortable on Cachet: newest id first, all read
    _version: tuple[int, int] | None = None

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.settings.timezone)

    def version(self) -> tuple[int, int]:
        """The release (major, minor), read once; UnsupportedVersion for one not in SUPPORTED."""
        with self._loading:
            if self._version is None:
                text = str(self.http.request("GET", f"{API}/version").json().get("data") or "")
                found = release(text)
                if found not in SUPPORTED:
                    names = " and ".join(f"{a}.{b}" for a, b in SUPPORTED)
                    raise UnsupportedVersion(
                        f"Cachet {text} at {self.settings.url} is not supported (supported: {names})",
                        platform=self.name,
                    )
                self._version = found
            return self._version

    def preflight(self) -> None:
        """At the start of a run: refuse an unsupported release before anything is written."""
        self.version()

    @property
    def keeps_meta(self) -> bool:
        """Cachet 2.4 keeps incident meta and has incident updates; 2.3 has neither."""
        return self.version() >= (2, 4)

    def _client(self) -> HttpClient:
        token = self.config.secret("statuspage", "token_env")
        url = self.settings.url.removesuffix(API)
        return HttpClient.for_platform(
            self.name,
            self.settings,
            url=url,
            headers={"X-Cachet-Token": token, "Content-Type": "application/json"},
            budget=shared_budget(url, token, self.settings.requests_per_second, self.sleep),
            sleep=self.sleep,
            max_wait_s=self.settings.max_wait_s,
        )

    def _paged(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            answer = self.http.request(
                "GET", f"{API}{path}", params={**(params or {}), "per_page": PAGE_SIZE, "page": page}
            ).json()
            rows = answer.get("data") or []
            yield from rows
            pagination = (answer.get("meta") or {}).get("pagination") or {}
            last = int(pagination.get("total_pages") or 1)
            if page >= last or not rows:
                return
            page += 1

    def _fetch_components(self) -> dict[str, tuple[str, str]]:
        return {
            str(c["name"]): (str(c["id"]), COMPONENT_STATUS_NAME.get(int(c.get("status") or 0), ""))
            for c in self._paged("/components")
        }

    def _open(self) -> list[PageIncident]:
        zone = self.zone
        return [
            page_incident(d, zone) for status in OPEN_STATUSES for d in self._paged("/incidents", {"status": status})
        ]

    def _all(self) -> Iterator[PageIncident]:
        zone = self.zone
        return (page_incident(d, zone) for d in self._paged("/incidents", {"sort": "id", "order": "desc"}))

    def find(self, correlation_key: str) -> RemoteRecord | None:
        """The incident whose meta carries the key (Cachet 2.4); None on 2.3, which keeps no
        meta (the links table is the only correlation there)."""
        return super().find(correlation_key) if self.keeps_meta else None

    def _send(
        self, incident_id: str | None, fields: dict[str, Any], components: dict[str, str], key: str | None
    ) -> PageIncident:
        if incident_id is None:
            known = set(self._open_snapshot())
            body = incident_body(fields, components, True)
            if key and self.keeps_meta:
                body["meta"] = {META_KEY: key}
            try:
                resp = self.http.request("POST", f"{API}/incidents", json=body, ref=key)
            except Transient:
                found = self._recognise(fields, known, key)
                if found is None:
                    raise
                log.warning("cachet: create of %s got no answer but made incident %s; taking it", key, found.id)
                return found
            return page_incident(resp.json()["data"], self.zone)
        path = f"{API}/incidents/{incident_id}"
        rest = dict(fields)
        if fields.get("status") and fields.get("body") and self.keeps_meta:
            # A public status change is an incident update (Cachet 2.4): it keeps the timeline, moves
            # the incident's status and carries the component change in the same call.
            update = incident_body({"status": rest.pop("status"), "body": rest.pop("body")}, components, False)
            self.http.request("POST", f"{path}/updates", json=update, ref=incident_id)
            components = {}
        if any(rest.get(k) is not None for k in ("name", "status", "body")) or components:
            self.http.request("PUT", path, json=incident_body(rest, components, False), ref=incident_id)
        return self._read(incident_id)

    def _recognise(self, fields: dict[str, Any], known: set[str], key: str | None) -> PageIncident | None:
        """After a lost create answer: the open incident carrying the key in its meta (2.4), else
        (2.3 keeps no meta) the one that was not on the page before, with the name we sent."""
        if key and self.keeps_meta:
            keyed = [i for i in self._open() if i.key == key]
            return keyed[0] if len(keyed) == 1 else None
        fresh = [i for i in self._open() if i.id not in known and i.name == fields.get("name")]
        return fresh[0] if len(fresh) == 1 else None

    def _read(self, incident_id: str) -> PageIncident:
        data = self.http.request("GET", f"{API}/incidents/{incident_id}", ref=incident_id).json()["data"]
        latest = data.get("latest_update_id")
        if latest:  # the public message now is the latest update's, not the incident's first one
            update = self.http.request("GET", f"{API}/incidents/{incident_id}/updates/{latest}", ref=incident_id)
            data = {**data, "message": update.json()["data"].get("message") or data.get("message")}
        return page_incident(data, self.zone)

    def _check_page(self) -> list[CheckResult]:
        try:
            self.http.request("GET", f"{API}/ping")
            components = self._components(fresh=True)
        except ConnectorError as exc:
            return [CheckResult(self.name, "reachable", False, str(exc), f"check statuspage.url ({self.settings.url})")]
        results = [CheckResult(self.name, "page", True, f"Cachet answers ({len(components)} components)")]
        try:
            major, minor = self.version()
        except UnsupportedVersion as exc:
            return [
                *results,
                CheckResult(self.name, "version", False, str(exc), "upgrade Cachet to 2.4 (2.3 works, without meta)"),
            ]
        how = "incident meta and updates" if (major, minor) >= (2, 4) else "no meta: status changes PUT the incident"
        results.append(CheckResult(self.name, "version", True, f"Cachet {major}.{minor} ({how})"))
        if not components:
            return [
                *results,
                CheckResult(
                    self.name, "credentials", False, "no component to check the token on", "add a component to the page"
                ),
            ]
        try:
            # Reads are public on Cachet (a wrong token reads as a guest), so the token is proven
            # by a write that changes nothing people see: a component PUT with an empty body.
            cid = next(iter(components.values()))[0]
            self.http.request("PUT", f"{API}/components/{cid}", json={}, idempotent=True)
        except (AuthError, Forbidden) as exc:
            return [
                *results,
                CheckResult(self.name, "credentials", False, str(exc), "check the token in statuspage.token_env"),
            ]
        return [*results, CheckResult(self.name, "credentials", True, "token accepted")]
