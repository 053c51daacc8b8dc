"""Atlassian Statuspage (REST v1): page incidents and components.

- Auth: `Authorization: OAuth <key>` (the key from `statuspage.api_key_env`).
- Rate: one request per second per key (`statuspage.requests_per_second`), one budget per key
  shared by every connector using it; 420 and 429 are RateLimited with `Retry-After` (http.py).
- Component statuses travel in the incident call itself (`components` + `component_ids`), never
  as separate component PATCHes.
- Correlation: the canonical key in the incident's `metadata` (`{"itsm_bridge": {"key": ...}}`),
  written at create; `find` reads it back.
- Holds: what an incident holds on its components is derived from its impact
  (IMPACT_COMPONENT_STATUS), so incidents people opened on the page count too.

The lifecycle is in `page.py`, the ownership and cadence rules in `rules.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from itsm_bridge.connectors.base import CheckResult
from itsm_bridge.connectors.statuspage.page import StatusPageConnector
from itsm_bridge.connectors.statuspage.rules import IMPACT_COMPONENT_STATUS, PageIncident, parse_page_time
from itsm_bridge.errors import AuthError, ConnectorError, Forbidden, NotFound
from itsm_bridge.http import HttpClient, shared_budget

PAGE_SIZE = 100  # the API's maximum `limit`
META_KEY = "itsm_bridge"


def page_incident(data: dict[str, Any]) -> PageIncident:
    """A Statuspage incident object as the neutral PageIncident."""
    impact = data.get("impact_override") or data.get("impact")
    held = IMPACT_COMPONENT_STATUS.get(impact or "")
    components = data.get("components") or []
    holds: dict[str, str | None] = {str(c["id"]): held for c in components if isinstance(c, dict) and c.get("id")}
    for cid in data.get("component_ids") or []:
        holds.setdefault(str(cid), held)
    updates = sorted(
        (u for u in data.get("incident_updates") or [] if isinstance(u, dict)),
        key=lambda u: str(u.get("display_at") or u.get("created_at") or ""),
        reverse=True,
    )
    metadata = data.get("metadata") or {}
    ours = metadata.get(META_KEY) if isinstance(metadata, dict) else None
    updated = parse_page_time(data.get("updated_at")) or parse_page_time(data.get("created_at")) or datetime.now(UTC)
    return PageIncident(
        id=str(data["id"]),
        name=str(data.get("name") or ""),
        status=str(data.get("status") or "investigating"),
        holds=holds,
        updated=updated,
        created=parse_page_time(data.get("created_at")),
        resolved=parse_page_time(data.get("resolved_at")),
        impact=impact,
        body=str(updates[0].get("body") or "") if updates else "",
        key=str(ours["key"]) if isinstance(ours, dict) and ours.get("key") else None,
        update_times=tuple(sorted(filter(None, (parse_page_time(u.get("created_at")) for u in updates)))),
    )


def incident_body(fields: dict[str, Any], components: dict[str, str], key: str | None) -> dict[str, Any]:
    """The `{"incident": {...}}` request body for a create (with `key`) or an update."""
    body: dict[str, Any] = {}
    for ours, theirs in (("name", "name"), ("status", "status"), ("body", "body"), ("impact", "impact_override")):
        if fields.get(ours) is not None:
            body[theirs] = fields[ours]
    if components:
        body["components"] = dict(components)
        body["component_ids"] = list(components)
    if key is not None:
        body["metadata"] = {META_KEY: {"key": key}}
        body["deliver_notifications"] = True
    return {"incident": body}


class StatuspageConnector(StatusPageConnector):
    """Atlassian Statuspage, one page (`statuspage.page_id`)."""

    provider = "statuspage"
    lists_updates = True

    def _client(self) -> HttpClient:
        key = self.config.secret("statuspage", "api_key_env")
        url = self.settings.url.removesuffix("/v1")
        self.page_path = f"/v1/pages/{self.settings.page_id}"
        return HttpClient.for_platform(
            self.name,
            self.settings,
            url=url,
            headers={"Authorization": f"OAuth {key}", "Content-Type": "application/json"},
            budget=shared_budget(url, key, self.settings.requests_per_second, self.sleep),
            sleep=self.sleep,
            max_wait_s=self.settings.max_wait_s,
        )

    def _paged(self, path: str, size_param: str) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            rows = self.http.request(
                "GET", f"{self.page_path}{path}", params={size_param: PAGE_SIZE, "page": page}
            ).json()
            yield from rows
            if len(rows) < PAGE_SIZE:
                return
            page += 1

    def _fetch_components(self) -> dict[str, tuple[str, str]]:
        return {
            str(c["name"]): (str(c["id"]), str(c.get("status") or "")) for c in self._paged("/components", "per_page")
        }

    def _read(self, incident_id: str) -> PageIncident:
        resp = self.http.request("GET", f"{self.page_path}/incidents/{incident_id}", ref=incident_id)
        return page_incident(resp.json())

    def _open(self) -> list[PageIncident]:
        return [page_incident(d) for d in self._paged("/incidents/unresolved", "per_page")]

    def _all(self) -> Iterator[PageIncident]:
        return (page_incident(d) for d in self._paged("/incidents", "limit"))

    def _send(
        self, incident_id: str | None, fields: dict[str, Any], components: dict[str, str], key: str | None
    ) -> PageIncident:
        payload = incident_body(fields, components, key)
        if incident_id is None:
            resp = self.http.request("POST", f"{self.page_path}/incidents", json=payload, ref=key)
        else:
            # PATCH sets fields to the values given: sending it twice is harmless, so it may retry.
            resp = self.http.request(
                "PATCH", f"{self.page_path}/incidents/{incident_id}", json=payload, ref=incident_id, idempotent=True
            )
        return page_incident(resp.json())

    def _check_page(self) -> list[CheckResult]:
        try:
            page = self.http.request("GET", self.page_path).json()
        except (AuthError, Forbidden) as exc:
            return [CheckResult(self.name, "credentials", False, str(exc), "check the key in statuspage.api_key_env")]
        except NotFound:
            return [
                CheckResult(self.name, "credentials", True, "key accepted"),
                CheckResult(
                    self.name, "page", False, f"page {self.settings.page_id} not found", "fix statuspage.page_id"
                ),
            ]
        except ConnectorError as exc:
            return [CheckResult(self.name, "reachable", False, str(exc), f"check statuspage.url ({self.settings.url})")]
        name = page.get("name") if isinstance(page, dict) else None
        return [
            CheckResult(self.name, "credentials", True, "key accepted"),
            CheckResult(self.name, "page", True, f"page {self.settings.page_id}" + (f" ({name})" if name else "")),
        ]
