"""Cachet 2.x JSON API imitation (`/api/v1`, header `X-Cachet-Token`): components and incidents.

What it keeps faithful, because the connector must cope with it:
- numbers, not words: component status 0 unknown, 1 operational, 2 performance issues, 3 partial
  outage, 4 major outage; incident status 0 scheduled, 1 investigating, 2 identified, 3 watching,
  4 fixed;
- one component per incident: `component_id` with `component_status` (each requires the other, as
  Cachet's `required_with` rules do) sets that component's status in the incident call itself;
- incident updates (`/incidents/{id}/updates`) carry a status and message and move the incident's
  status; a PUT of the incident replaces its message and adds no update;
- reads are public, as in Cachet (`auth.api` without `required`): no token, or one Cachet does
  not know, reads as a guest, who sees visible incidents only; writes need the token, else 401;
  `public_reads = False` asks for the token on reads too;
- lists page with `per_page` (default 20) and `page` under `meta.pagination`, sort with `sort`
  and `order`; refusals are `{"errors": [{"id", "status", "title", "detail"}]}`, 400 for
  validation with each field's message in `detail` and `meta.details`;
- no rate limit unless `rate_limit` is set (requests, window seconds): 429 with `Retry-After`;
- times in answers are naive `Y-m-d H:i:s` in the instance's `app_timezone` (`app_timezone`,
  default UTC), not UTC (see `cachet_fields.in_zone`);
- `sort` takes only the model's `$sortable` columns; any other is ignored, with `order`, and the
  list comes in id order (app/Models/Traits/SortableTrait.php; Incident: id, user_id, name,
  status, visible, stickied, message, occurred_at; Component: id, name, status, order, group_id,
  enabled; IncidentUpdate: id, status, user_id);
- `version` (`GET /api/v1/version`, default 2.4.1) picks the release: 2.4 keeps an incident's
  `meta` (a key -> value object given on create, shown on every read: IncidentController@store
  and IncidentPresenter::meta) and serves `/incidents/{id}/updates`; 2.3 has neither (its
  app/Http/Routes/ApiRoutes.php at v2.3.18 routes no updates: 404).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from itsm_bridge.sandbox.core import Platform, Request, Response
from itsm_bridge.sandbox.statuspage.cachet_fields import (
    body_of,
    cachet_error,
    filtered,
    find,
    flag,
    in_zone,
    integer,
    invalid,
    not_found,
    query_int,
    sorted_rows,
    text,
    timestamp,
)
from itsm_bridge.sandbox.vocabulary import SERVICES

API = "/api/v1"
DEFAULT_COMPONENTS = (*dict.fromkeys(SERVICES.values()), "Database")  # the Statuspage sandbox's page too
COMPONENT_STATUS = {0: "Unknown", 1: "Operational", 2: "Performance Issues", 3: "Partial Outage", 4: "Major Outage"}
INCIDENT_STATUS = {0: "Scheduled", 1: "Investigating", 2: "Identified", 3: "Watching", 4: "Fixed"}
INCIDENT_SORTS = ("id", "user_id", "name", "status", "visible", "stickied", "message", "occurred_at")
COMPONENT_SORTS = ("id", "name", "status", "order", "group_id", "enabled")
UPDATE_SORTS = ("id", "status", "user_id")
DEFAULT_PER_PAGE = 20


class CachetPlatform(Platform):
    """One Cachet 2.x installation with the seeded components (`DEFAULT_COMPONENTS`)."""

    name = "cachet"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.seed = seed
        self.token = f"cachet-sandbox-{seed}"
        self.public_reads = True
        self.app_timezone = "UTC"  # the instance's `app_timezone` setting: times in answers are in it
        self.version = "2.4.1"  # what GET /api/v1/version says; "2.3.x" has no incident updates or meta
        self.rate_limit: tuple[int, float] | None = None  # (requests, window seconds) per token
        self._components: dict[int, dict[str, Any]] = {}
        self._incidents: dict[int, dict[str, Any]] = {}
        self._updates: dict[int, dict[str, Any]] = {}
        self._counters = {"component": 0, "incident": 0, "update": 0}
        for name in DEFAULT_COMPONENTS:
            self.add_component(name)
        for method, path, handler in (
            ("GET", "/ping", lambda req: Response(200, {"data": "Pong!"})),
            ("GET", "/version", lambda req: Response(200, {"meta": {"on_latest": True}, "data": self.version})),
            ("GET", "/components", self._list_components),
            ("GET", "/components/{component}", self._get_component),
            ("PUT", "/components/{component}", self._put_component),
            ("GET", "/incidents", self._list_incidents),
            ("POST", "/incidents", self._post_incident),
            ("GET", "/incidents/{incident}", self._get_incident),
            ("PUT", "/incidents/{incident}", self._put_incident),
            ("GET", "/incidents/{incident}/updates", self._list_updates),
            ("POST", "/incidents/{incident}/updates", self._post_update),
            ("GET", "/incidents/{incident}/updates/{update}", self._get_update),
        ):
            self.route(method, API + path, handler)

    def credentials(self) -> dict[str, str]:
        return {"token": self.token}

    def env(self) -> dict[str, str]:
        return {"ITSM_SANDBOX_CACHET_TOKEN": self.token}

    # --- vendor hooks
    def authenticate(self, req: Request) -> Response | None:
        if self._authed(req) or req.path.rstrip("/") == API + "/ping":
            return None
        if req.method in ("GET", "HEAD") and self.public_reads:
            return None  # a guest
        return cachet_error(401)

    def error(self, status: int, message: str, detail: str = "") -> Response:
        return cachet_error(status, f"{message} {detail}".strip() or None)

    def rate_limited(self, req: Request, retry_after: str | None) -> Response | None:
        limit = self.rate_limit
        wait = self.over_limit(limit, req.headers.get("x-cachet-token", "guest"))
        if limit is None or wait is None:
            return None
        answer = self.throttled_response(wait)
        answer.headers.update({"X-RateLimit-Limit": str(limit[0]), "X-RateLimit-Remaining": "0"})
        return answer

    def throttled_response(self, retry_after: str) -> Response:
        answer = cachet_error(429)
        answer.headers["Retry-After"] = retry_after
        return answer

    def _authed(self, req: Request) -> bool:
        return req.headers.get("x-cachet-token") == self.token

    # --- Python API for tests and seeding (each call takes the platform lock)
    def add_component(self, name: str, status: int = 1) -> int:
        """Add a component; returns its id (1, 2, ... in order of adds)."""
        if status not in COMPONENT_STATUS:
            raise ValueError(f"unknown component status {status!r}")
        with self.lock:
            self._counters["component"] += 1
            cid = self._counters["component"]
            now = timestamp(self.clock.now())
            self._components[cid] = {
                "id": cid,
                "name": name,
                "description": "",
                "link": "",
                "status": status,
                "initial_status": status,
                "order": cid,
                "group_id": 0,
                "enabled": True,
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
            }
            return cid

    def components(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._component_view(c) for c in self._components.values()]

    def component(self, component_id: int | str) -> dict[str, Any]:
        with self.lock:
            return self._component_view(find(self._components, component_id))

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident, hidden ones too, in id order."""
        with self.lock:
            return [self._incident_view(i) for i in self._incidents.values()]

    def incident(self, incident_id: int | str) -> dict[str, Any]:
        with self.lock:
            return self._incident_view(find(self._incidents, incident_id))

    def updates(self, incident_id: int | str) -> list[dict[str, Any]]:
        """The incident's updates, oldest first."""
        with self.lock:
            inc = find(self._incidents, incident_id)
            return [self._update_view(u) for u in self._updates.values() if u["incident_id"] == inc["id"]]

    def create_incident(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create as `POST /api/v1/incidents` would; HTTPFailure (400) when refused."""
        with self.lock:
            return self._incident_view(self._create(fields))

    def reset(self) -> None:
        """Drop incidents, updates, calls and rate history; components back to their first status."""
        super().reset()
        with self.lock:
            self._incidents.clear()
            self._updates.clear()
            self._counters["incident"] = self._counters["update"] = 0
            for comp in self._components.values():
                comp["status"] = comp["initial_status"]

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "components": list(self._components.values()),
                "incidents": list(self._incidents.values()),
                "updates": list(self._updates.values()),
                "counters": dict(self._counters),
            }

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            for key, store in (
                ("components", self._components),
                ("incidents", self._incidents),
                ("updates", self._updates),
            ):
                store.clear()
                store.update({int(row["id"]): dict(row) for row in state.get(key, [])})
            self._counters.update(state.get("counters", {}))

    # --- views
    def _component_view(self, comp: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in comp.items() if k != "initial_status"}
        view.update(status_name=COMPONENT_STATUS[comp["status"]], tags={})
        return in_zone(view, self.app_timezone)

    def _incident_view(self, inc: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in inc.items() if k != "meta"}
        view.update(human_status=INCIDENT_STATUS[inc["status"]], permalink=f"{self.base_url}/incidents/{inc['id']}")
        if self._release_24():
            latest = [u for u in self._updates.values() if u["incident_id"] == inc["id"]][-1:]
            view.update(latest_update_id=latest[0]["id"] if latest else None, meta=dict(inc.get("meta") or {}))
        return in_zone(view, self.app_timezone)

    def _update_view(self, update: dict[str, Any]) -> dict[str, Any]:
        permalink = f"{self.base_url}/incidents/{update['incident_id']}#update-{update['id']}"
        return in_zone(
            {**update, "human_status": INCIDENT_STATUS[update["status"]], "permalink": permalink}, self.app_timezone
        )

    def _release_24(self) -> bool:
        """Whether this is Cachet 2.4 (incident updates, meta) rather than 2.3."""
        return not self.version.startswith("2.3")

    def _updates_routed(self) -> None:
        if not self._release_24():
            raise not_found()  # Cachet 2.3 routes no /incidents/{id}/updates at all

    # --- handlers: components
    def _list_components(self, req: Request) -> Response:
        rows = filtered(list(self._components.values()), req, ("id", "status", "group_id"), ("enabled",))
        if req.arg("name"):
            rows = [c for c in rows if str(req.arg("name")).lower() in c["name"].lower()]
        return self._paged(req, sorted_rows(rows, req, COMPONENT_SORTS), self._component_view)

    def _get_component(self, req: Request) -> Response:
        return Response(200, {"data": self._component_view(find(self._components, req.params["component"]))})

    def _put_component(self, req: Request) -> Response:
        comp = find(self._components, req.params["component"])
        body = body_of(req)
        changes: dict[str, Any] = {}
        if "name" in body:
            changes["name"] = text(body["name"], "name", required=True)
        for key in ("description", "link"):
            if key in body:
                changes[key] = text(body[key], key)
        if "status" in body:
            changes["status"] = integer(body["status"], "status", 0, 4)
        for key in ("order", "group_id"):
            if key in body:
                changes[key] = integer(body[key], key, 0, 2**31 - 1)
        if "enabled" in body:
            changes["enabled"] = flag(body["enabled"], "enabled")
        _save(comp, changes, timestamp(self.clock.now()))
        return Response(200, {"data": self._component_view(comp)})

    # --- handlers: incidents
    def _list_incidents(self, req: Request) -> Response:
        rows = [i for i in self._incidents.values() if i["visible"] or self._authed(req)]
        rows = filtered(rows, req, ("id", "component_id", "status", "visible"), ())
        if req.arg("name"):
            rows = [i for i in rows if str(req.arg("name")).lower() in i["name"].lower()]
        return self._paged(req, sorted_rows(rows, req, INCIDENT_SORTS), self._incident_view)

    def _visible(self, req: Request, incident_id: str) -> dict[str, Any]:
        inc = find(self._incidents, incident_id)
        if not inc["visible"] and not self._authed(req):
            raise not_found()
        return inc

    def _get_incident(self, req: Request) -> Response:
        return Response(200, {"data": self._incident_view(self._visible(req, req.params["incident"]))})

    def _post_incident(self, req: Request) -> Response:
        return Response(200, {"data": self._incident_view(self._create(body_of(req)))})  # Cachet answers 200

    def _put_incident(self, req: Request) -> Response:
        inc = find(self._incidents, req.params["incident"])
        body = body_of(req)
        changes: dict[str, Any] = {}
        if "name" in body:
            changes["name"] = text(body["name"], "name", required=True, limit=255)
        if "message" in body:
            changes["message"] = text(body["message"], "message")
        if "status" in body:
            changes["status"] = integer(body["status"], "status", 0, 4)
        for key, target in (("visible", "visible"), ("notify", "notifications"), ("stickied", "stickied")):
            if key in body:
                changes[target] = int(flag(body[key], key)) if key == "visible" else flag(body[key], key)
        component = self._component_change(body)
        if component:
            changes["component_id"] = component[0]
        _save(inc, changes, timestamp(self.clock.now()))
        return Response(200, {"data": self._incident_view(inc)})

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.")
        missing = [f"The {key} field is required." for key in ("name", "status") if body.get(key) in (None, "")]
        if missing:
            raise invalid(*missing)
        name = text(body["name"], "name", required=True, limit=255)
        status = integer(body["status"], "status", 0, 4)
        message = text(body.get("message", ""), "message")
        visible = int(flag(body.get("visible", True), "visible"))
        notify = flag(body.get("notify", True), "notify")
        meta = body.get("meta")
        if meta is not None and not isinstance(meta, dict):
            meta = None  # StoresMeta::storeMeta ignores anything but an array
        component = self._component_change(body)
        self._counters["incident"] += 1
        iid = self._counters["incident"]
        now = timestamp(self.clock.now())
        self._incidents[iid] = {
            "id": iid,
            "component_id": component[0] if component else 0,
            "name": name,
            "status": status,
            "visible": visible,
            "stickied": False,
            "notifications": notify,
            "message": message,
            "occurred_at": now,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        if meta and self._release_24():  # empty values are not stored (StoresMeta::removeEmptyValues)
            self._incidents[iid]["meta"] = {str(k): v for k, v in meta.items() if v not in (None, "", [], {})}
        return self._incidents[iid]

    def _component_change(self, body: dict[str, Any]) -> tuple[int, int] | None:
        """Apply `component_id` + `component_status` (each required with the other); None if absent."""
        cid, status = body.get("component_id"), body.get("component_status")
        if cid in (None, "", 0, "0") and status in (None, ""):
            return None
        if cid in (None, "", 0, "0"):
            raise invalid("The component id field is required when component status is present.")
        if status in (None, ""):
            raise invalid("The component status field is required when component id is present.")
        cid = integer(cid, "component id", 1, 2**31 - 1)
        status = integer(status, "component status", 0, 4)
        if cid not in self._components:
            raise invalid("The selected component id is invalid.")
        comp = self._components[cid]
        comp.update(status=status, updated_at=timestamp(self.clock.now()))
        return cid, status

    # --- handlers: incident updates
    def _list_updates(self, req: Request) -> Response:
        self._updates_routed()
        inc = self._visible(req, req.params["incident"])
        rows = [u for u in self._updates.values() if u["incident_id"] == inc["id"]]
        return self._paged(req, sorted_rows(rows, req, UPDATE_SORTS), self._update_view)

    def _get_update(self, req: Request) -> Response:
        self._updates_routed()
        inc = self._visible(req, req.params["incident"])
        update = find(self._updates, req.params["update"])
        if update["incident_id"] != inc["id"]:
            raise not_found()
        return Response(200, {"data": self._update_view(update)})

    def _post_update(self, req: Request) -> Response:
        self._updates_routed()
        inc = find(self._incidents, req.params["incident"])
        body = body_of(req)
        missing = [f"The {key} field is required." for key in ("status", "message") if body.get(key) in (None, "")]
        if missing:
            raise invalid(*missing)
        status = integer(body["status"], "status", 1, 4)
        message = text(body["message"], "message", required=True)
        self._component_change(body)
        self._counters["update"] += 1
        uid = self._counters["update"]
        now = timestamp(self.clock.now())
        self._updates[uid] = {
            "id": uid,
            "incident_id": inc["id"],
            "status": status,
            "message": message,
            "user_id": 1,
            "created_at": now,
            "updated_at": now,
        }
        inc.update(status=status, updated_at=now)  # an update moves the incident, as in Cachet 2.4
        return Response(200, {"data": self._update_view(self._updates[uid])})

    # --- paging
    def _paged(
        self, req: Request, rows: list[dict[str, Any]], view: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Response:
        per_page = max(1, query_int(req, "per_page", DEFAULT_PER_PAGE))
        page = max(1, query_int(req, "page", 1))
        total_pages = max(1, math.ceil(len(rows) / per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]

        def link(n: int) -> str | None:
            if n < 1 or n > total_pages:
                return None
            query = {k: v[-1] for k, v in req.query.items() if k not in ("page", "per_page")}
            pairs = "&".join(f"{k}={v}" for k, v in {**query, "per_page": per_page, "page": n}.items())
            return f"{self.base_url}{req.path}?{pairs}"

        pagination = {
            "total": len(rows),
            "count": len(chunk),
            "per_page": per_page,
            "current_page": page,
            "total_pages": total_pages,
            "links": {"next_page": link(page + 1), "previous_page": link(page - 1)},
        }
        return Response(200, {"meta": {"pagination": pagination}, "data": [view(r) for r in chunk]})


def _save(row: dict[str, Any], changes: dict[str, Any], now: str) -> None:
    """Apply `changes`; like Eloquent, `updated_at` moves only when a value really changed."""
    if any(row.get(k) != v for k, v in changes.items()):
        row.update(changes, updated_at=now)
