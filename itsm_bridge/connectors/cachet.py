"""Cachet 2.x (`/api/v1`, header `X-Cachet-Token`): incidents and components.

Cachet differs from Atlassian Statuspage in ways the contract has to absorb:

- Numbers, not words: component status 1 operational, 2 performance issues, 3 partial outage,
  4 major outage (3.x adds 5 unknown, 6 maintenance); incident status 1 investigating,
  2 identified, 3 watching, 4 fixed (0 is a scheduled incident, which we never touch).
- One component per incident (`component_id`, `component_status` on the incident call itself).
- No impact and no metadata: an incident carries no field that could hold the canonical key
  without putting it in public text (the swagger's `vars` only feed Cachet's own templates and
  are not stored). So `find()` returns None and the engine's links table is the only
  correlation. A create whose answer was lost is recognised at once by content: the one open
  incident with the name we sent that was not on the page before. A run killed between the
  create and its journal outcome cannot be recognised by the next run (left for a person).
- What an incident holds on its component is not stored on the page either: holds this process
  set are remembered, and any other open incident on a component is taken to hold it at least
  degraded (DEFAULT_COMPONENT_STATUS).
- A public status change is an incident update (`POST /incidents/{id}/updates`, Cachet 2.4),
  which keeps the timeline; other changes (name) are a PUT of the incident. The swagger lists
  the updates endpoint for reading only; Cachet 2.4 accepts the POST.
- Reads are public (a wrong token reads as a guest), so `check` proves the token with a
  component PUT carrying an empty body: authenticated, and changing nothing people see.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Iterator

from itsm_bridge.connectors.base import CheckResult, RemoteRecord
from itsm_bridge.connectors.statuspage_base import StatusPageConnector
from itsm_bridge.connectors.statuspage_common import PageIncident, parse_page_time, shared_budget
from itsm_bridge.errors import AuthError, ConnectorError, Forbidden, Transient
from itsm_bridge.http import HttpClient, make_session

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



def page_incident(data: dict[str, Any]) -> PageIncident:
    """A Cachet incident object as the neutral PageIncident."""
    status = INCIDENT_STATUS_NAME.get(int(data.get("status") or 0), "investigating")
    component = data.get("component_id")
    holds: dict[str, str | None] = {str(component): None} if component else {}
    updated = parse_page_time(data.get("updated_at")) or parse_page_time(data.get("created_at")) or datetime.now(UTC)
    return PageIncident(
        id=str(data["id"]),
        name=str(data.get("name") or ""),
        status=status,
        holds=holds,
        updated=updated,
        created=parse_page_time(data.get("created_at")),
        resolved=updated if status == "resolved" else None,
        body=str(data.get("message") or ""),
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

    def _client(self) -> HttpClient:
        token = self.config.secret("statuspage", "token_env")
        url = self.settings.url.removesuffix(API)
        session = make_session(self.settings.ca_bundle)
        session.headers["X-Cachet-Token"] = token
        session.headers["Content-Type"] = "application/json"
        return HttpClient(
            self.name,
            url,
            session,
            timeout_s=self.settings.timeout_s,
            budget=shared_budget(url, token, self.settings.requests_per_second, self.sleep),
            workers=self.settings.workers,
            max_retries=self.settings.max_retries,
            sleep=self.sleep,
        )

    def _paged(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            answer = self.http.request("GET", f"{API}{path}", params={**(params or {}), "per_page": PAGE_SIZE, "page": page}).json()
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
        return [page_incident(d) for status in OPEN_STATUSES for d in self._paged("/incidents", {"status": status})]

    def _all(self) -> Iterator[PageIncident]:
        return (page_incident(d) for d in self._paged("/incidents", {"sort": "updated_at", "order": "desc"}))

    def find(self, correlation_key: str) -> RemoteRecord | None:
        """Always None: Cachet 2.x stores no metadata, so the links table is the correlation."""
        return None

    def _send(self, incident_id: str | None, fields: dict[str, Any], components: dict[str, str],
              key: str | None) -> PageIncident:  # fmt: skip
        if incident_id is None:
            known = set(self._open_snapshot())
            try:
                resp = self.http.request("POST", f"{API}/incidents", json=incident_body(fields, components, True), ref=key)
            except Transient:
                found = self._recognise(fields, known)
                if found is None:
                    raise
                log.warning("cachet: create of %s got no answer but made incident %s; taking it", key, found.id)
                return found
            return page_incident(resp.json()["data"])
        path = f"{API}/incidents/{incident_id}"
        rest = dict(fields)
        if fields.get("status") and fields.get("body"):
            # A public status change is an incident update (Cachet 2.4): it keeps the timeline, moves
            # the incident's status and carries the component change in the same call.
            update = incident_body({"status": rest.pop("status"), "body": rest.pop("body")}, components, False)
            self.http.request("POST", f"{path}/updates", json=update, ref=incident_id)
            components = {}
        if any(rest.get(k) is not None for k in ("name", "status", "body")) or components:
            self.http.request("PUT", path, json=incident_body(rest, components, False), ref=incident_id)
        return self._read(incident_id)

    def _recognise(self, fields: dict[str, Any], known: set[str]) -> PageIncident | None:
        """After a lost create answer: the open incident that was not on the page before, with
        the name we sent (Cachet keeps no key, so content is all there is to go by)."""
        fresh = [i for i in self._open() if i.id not in known and i.name == fields.get("name")]
        return fresh[0] if len(fresh) == 1 else None

    def _read(self, incident_id: str) -> PageIncident:
        data = self.http.request("GET", f"{API}/incidents/{incident_id}", ref=incident_id).json()["data"]
        latest = data.get("latest_update_id")
        if latest:  # the public message now is the latest update's, not the incident's first one
            update = self.http.request("GET", f"{API}/incidents/{incident_id}/updates/{latest}", ref=incident_id)
            data = {**data, "message": update.json()["data"].get("message") or data.get("message")}
        return page_incident(data)

    def _check_page(self) -> list[CheckResult]:
        try:
            self.http.request("GET", f"{API}/ping")
            components = self._components(fresh=True)
        except ConnectorError as exc:
            return [CheckResult(self.name, "reachable", False, str(exc), f"check statuspage.url ({self.settings.url})")]
        results = [CheckResult(self.name, "page", True, f"Cachet answers ({len(components)} components)")]
        if not components:
            return [*results, CheckResult(self.name, "credentials", False, "no component to check the token on",
                                          "add a component to the page")]  # fmt: skip
        try:
            # Reads are public on Cachet (a wrong token reads as a guest), so the token is proven
            # by a write that changes nothing people see: a component PUT with an empty body.
            cid = next(iter(components.values()))[0]
            self.http.request("PUT", f"{API}/components/{cid}", json={}, idempotent=True)
        except (AuthError, Forbidden) as exc:
            return [*results, CheckResult(self.name, "credentials", False, str(exc), "check the token in statuspage.token_env")]
        return [*results, CheckResult(self.name, "credentials", True, "token accepted")]
