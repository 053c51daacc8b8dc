"""Atlassian Statuspage (REST v1) imitation: one page, its components and realtime incidents.

What it keeps faithful, because the connector must cope with it:
- `Authorization: OAuth <key>` (or `?api_key=`), answers `{"error": "..."}` on every refusal;
- one request per second per key on a 60 s rolling window (`rate_limit`), refused with 429, or
  420 as older pages did (`throttle_status`), with `Retry-After` in whole seconds (the limit and
  both codes: ../shared/specs/statuspage-v1.openapi.json, `info.description`, "Rate Limiting");
- an incident call sets component statuses itself (`components` + `component_ids`); each call
  carrying a body or a status change appends an incident update recording affected components;
- `resolved_at` and `monitoring_at` stamped on the status change; the impact is kept after resolve;
- lists newest first: incidents page with `limit` (at most 100) and `page`, components and
  unresolved incidents with `per_page` (at most 100) and `page`.

Scheduled maintenance is not imitated: its statuses and the `maintenance` impact are refused.
"""

from __future__ import annotations

from typing import Any

from itsm_bridge.sandbox.core import Platform, Request, Response
from itsm_bridge.sandbox.statuspage.rules import (
    COMPONENT_STATUSES,
    IMPACTS,
    STATUS_IMPACT,
    check_component,
    check_incident,
    ident,
    page_of,
    refuse,
    searchable,
    timestamp,
    wrapped,
)
from itsm_bridge.sandbox.vocabulary import SERVICES

API = "/v1/pages/{page_id}"
DEFAULT_COMPONENTS = (*dict.fromkeys(SERVICES.values()), "Database")  # "Database": on the page only


class StatuspagePlatform(Platform):
    """One Statuspage page (`page_id`) with seeded components (`DEFAULT_COMPONENTS`)."""

    name = "statuspage"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.seed = seed
        self.api_key = f"statuspage-sandbox-{seed}"
        self.page_id = ident(seed, "page", 0)
        self.page_name = "Example Corp Status"
        self.throttle_status = 429  # 420 on older pages
        self.rate_limit = (60, 60.0)  # (requests, window seconds) per key, Atlassian's (above); 0 requests: off
        self._components: dict[str, dict[str, Any]] = {}
        self._incidents: dict[str, dict[str, Any]] = {}
        self._counters = {"component": 0, "incident": 0, "update": 0}
        self._created = timestamp(self.clock.now())
        for name in DEFAULT_COMPONENTS:
            self.add_component(name)
        self._add_routes()

    def _add_routes(self) -> None:
        self.route("GET", API, self._get_page)
        self.route("GET", API + "/components", self._list_components)
        self.route("GET", API + "/components/{component_id}", self._get_component)
        self.route("PATCH", API + "/components/{component_id}", self._patch_component)
        self.route("PUT", API + "/components/{component_id}", self._patch_component)
        self.route("GET", API + "/incidents/unresolved", self._list_unresolved)  # before {incident_id}
        self.route("GET", API + "/incidents", self._list_incidents)
        self.route("POST", API + "/incidents", self._post_incident)
        self.route("GET", API + "/incidents/{incident_id}", self._get_incident)
        self.route("PATCH", API + "/incidents/{incident_id}", self._patch_incident)
        self.route("PUT", API + "/incidents/{incident_id}", self._patch_incident)

    # --- configuration
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key}

    def env(self) -> dict[str, str]:
        return {"ITSM_SANDBOX_STATUSPAGE_KEY": self.api_key}

    # --- vendor hooks
    def authenticate(self, req: Request) -> Response | None:
        if self._key(req) == self.api_key:
            return None
        return self.error(401, "Could not authenticate")

    def error(self, status: int, message: str, detail: str = "") -> Response:
        return Response(status, {"error": f"{message} {detail}".strip()})

    def rate_limited(self, req: Request, retry_after: str | None) -> Response | None:
        wait = self.over_limit(self.rate_limit, self._key(req) or "")
        return None if wait is None else self.throttled_response(wait)

    def throttled_response(self, retry_after: str) -> Response:
        body = {"error": f"Rate limit exceeded: 1 request per second per API key. Retry in {retry_after} s."}
        return Response(self.throttle_status, body, {"Retry-After": retry_after})

    @staticmethod
    def _key(req: Request) -> str | None:
        value = req.headers.get("authorization", "")
        if value[:6].lower() == "oauth ":
            return value[6:].strip()
        return req.arg("api_key")

    # --- Python API for tests and seeding (each call takes the platform lock)
    def add_component(self, name: str, status: str = "operational") -> str:
        """Add a component to the page; returns its id (stable for the seed and order of adds)."""
        if status not in COMPONENT_STATUSES:
            raise ValueError(f"unknown component status {status!r}")
        with self.lock:
            n = self._counters["component"]
            self._counters["component"] += 1
            cid = ident(self.seed, "component", n)
            now = timestamp(self.clock.now())
            self._components[cid] = {
                "id": cid,
                "name": name,
                "status": status,
                "initial_status": status,
                "position": n + 1,
                "description": None,
                "created_at": now,
                "updated_at": now,
            }
            return cid

    def components(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._component_view(c) for c in self._components.values()]

    def component(self, component_id: str) -> dict[str, Any]:
        with self.lock:
            return self._component_view(self._find_component(component_id))

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident, newest first, as `GET .../incidents` shows it."""
        with self.lock:
            return [self._incident_view(i) for i in self._newest_first()]

    def incident(self, incident_id: str) -> dict[str, Any]:
        with self.lock:
            return self._incident_view(self._find_incident(incident_id))

    def create_incident(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create as `POST .../incidents` would from `{"incident": fields}`; HTTPFailure when refused."""
        with self.lock:
            return self._incident_view(self._create(fields))

    def update_incident(self, incident_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Update as `PATCH .../incidents/{id}` would; HTTPFailure when refused."""
        with self.lock:
            inc = self._find_incident(incident_id)
            self._apply(inc, check_incident(fields, False, self._components), creating=False)
            return self._incident_view(inc)

    def reset(self) -> None:
        """Drop incidents, calls and rate history; put every component back to its first status."""
        super().reset()
        with self.lock:
            self._incidents.clear()
            self._counters["incident"] = self._counters["update"] = 0
            for comp in self._components.values():
                comp["status"] = comp["initial_status"]

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "components": list(self._components.values()),
                "incidents": list(self._incidents.values()),
                "counters": dict(self._counters),
            }

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            self._components = {c["id"]: dict(c) for c in state.get("components", [])}
            self._incidents = {i["id"]: dict(i) for i in state.get("incidents", [])}
            self._counters.update(state.get("counters", {}))

    # --- views
    def _page_view(self) -> dict[str, Any]:
        sub = f"sandbox-{self.page_id[:6]}"
        return {
            "id": self.page_id,
            "created_at": self._created,
            "updated_at": self._created,
            "name": self.page_name,
            "page_description": "Status of Example Corp services",
            "headline": "",
            "branding": "basic",
            "subdomain": sub,
            "domain": "",
            "url": f"https://{sub}.statuspage.io",
            "support_url": "",
            "hidden_from_search": False,
            "allow_page_subscribers": True,
            "allow_incident_subscribers": True,
            "allow_email_subscribers": True,
            "allow_sms_subscribers": False,
            "allow_rss_atom_feeds": True,
            "allow_webhook_subscribers": True,
            "time_zone": "Etc/UTC",
            "viewers_must_be_team_members": False,
        }

    def _component_view(self, comp: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in comp.items() if k != "initial_status"}
        view.update(
            page_id=self.page_id,
            group_id=None,
            group=False,
            showcase=True,
            only_show_if_degraded=False,
            automation_email=f"component+{comp['id']}@notifications.statuspage.io",
            start_date=None,
        )
        return view

    def _incident_view(self, inc: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in inc.items() if k not in ("component_ids", "updates", "seq")}
        view.update(
            page_id=self.page_id,
            components=[
                self._component_view(self._components[c]) for c in inc["component_ids"] if c in self._components
            ],
            incident_updates=[dict(u) for u in reversed(inc["updates"])],  # newest first, as Statuspage lists them
            shortlink=f"https://stspg.io/{inc['id'][:6]}",
            postmortem_body=None,
            postmortem_body_last_updated_at=None,
            postmortem_ignored=False,
            postmortem_notified_subscribers=False,
            postmortem_notified_twitter=False,
            postmortem_published_at=None,
            scheduled_for=None,
            scheduled_until=None,
            scheduled_remind_prior=False,
            scheduled_reminded_at=None,
            scheduled_auto_in_progress=False,
            scheduled_auto_completed=False,
            reminder_intervals=None,
        )
        return view

    # --- lookups
    def _check_page(self, req: Request) -> None:
        if req.params.get("page_id") != self.page_id:
            raise refuse(404, "The requested resource could not be found.")

    def _find_component(self, component_id: str) -> dict[str, Any]:
        comp = self._components.get(component_id)
        if comp is None:
            raise refuse(404, "The requested resource could not be found.")
        return comp

    def _find_incident(self, incident_id: str) -> dict[str, Any]:
        inc = self._incidents.get(incident_id)
        if inc is None:
            raise refuse(404, "The requested resource could not be found.")
        return inc

    def _newest_first(self) -> list[dict[str, Any]]:
        return sorted(self._incidents.values(), key=lambda i: (i["created_at"], i["seq"]), reverse=True)

    # --- handlers
    def _get_page(self, req: Request) -> Response:
        self._check_page(req)
        return Response(200, self._page_view())

    def _list_components(self, req: Request) -> Response:
        self._check_page(req)
        rows = sorted(self._components.values(), key=lambda c: c["position"])
        return Response(200, [self._component_view(c) for c in page_of(rows, req, "per_page")])

    def _get_component(self, req: Request) -> Response:
        self._check_page(req)
        return Response(200, self._component_view(self._find_component(req.params["component_id"])))

    def _patch_component(self, req: Request) -> Response:
        self._check_page(req)
        comp = self._find_component(req.params["component_id"])
        fields = check_component(wrapped(req, "component"))
        comp.update({k: fields[k] for k in ("name", "description") if k in fields})
        if fields.get("status"):
            comp["status"] = fields["status"]
        comp["updated_at"] = timestamp(self.clock.now())
        return Response(200, self._component_view(comp))

    def _list_incidents(self, req: Request) -> Response:
        self._check_page(req)
        rows = self._newest_first()
        query = (req.arg("q") or "").strip().lower()
        if query:
            rows = [i for i in rows if query in searchable(i)]
        return Response(200, [self._incident_view(i) for i in page_of(rows, req, "limit")])

    def _list_unresolved(self, req: Request) -> Response:
        self._check_page(req)
        rows = [i for i in self._newest_first() if i["status"] != "resolved"]
        return Response(200, [self._incident_view(i) for i in page_of(rows, req, "per_page")])

    def _post_incident(self, req: Request) -> Response:
        self._check_page(req)
        return Response(201, self._incident_view(self._create(wrapped(req, "incident"))))

    def _get_incident(self, req: Request) -> Response:
        self._check_page(req)
        return Response(200, self._incident_view(self._find_incident(req.params["incident_id"])))

    def _patch_incident(self, req: Request) -> Response:
        self._check_page(req)
        inc = self._find_incident(req.params["incident_id"])
        self._apply(inc, check_incident(wrapped(req, "incident"), False, self._components), creating=False)
        return Response(200, self._incident_view(inc))

    # --- incident rules
    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        checked = check_incident(fields, True, self._components)
        n = self._counters["incident"]
        self._counters["incident"] += 1
        now = timestamp(self.clock.now())
        inc: dict[str, Any] = {
            "id": ident(self.seed, "incident", n),
            "seq": n,
            "name": "",
            "status": "investigating",
            "impact": "none",
            "impact_override": None,
            "metadata": {},
            "created_at": now,
            "updated_at": now,
            "started_at": now,
            "resolved_at": None,
            "monitoring_at": None,
            "component_ids": [],
            "updates": [],
        }
        self._apply(inc, checked, creating=True)
        self._incidents[inc["id"]] = inc
        return inc

    def _apply(self, inc: dict[str, Any], fields: dict[str, Any], creating: bool) -> None:
        now = timestamp(self.clock.now())
        before = inc["status"]
        for key in ("name", "status", "impact_override"):
            if fields.get(key) is not None:
                inc[key] = fields[key]
        if fields.get("metadata") is not None:
            inc["metadata"] = {**inc["metadata"], **fields["metadata"]}
        affected = self._set_components(inc, fields, now)
        if inc["status"] == "resolved":
            inc["resolved_at"] = inc["resolved_at"] or now
        else:
            inc["resolved_at"] = None  # reopened
        if inc["status"] == "monitoring" and not inc["monitoring_at"]:
            inc["monitoring_at"] = now
        if creating or fields.get("body") is not None or inc["status"] != before:
            self._add_update(inc, fields, affected, now)
        inc["updated_at"] = now

    def _set_components(self, inc: dict[str, Any], fields: dict[str, Any], now: str) -> list[dict[str, Any]]:
        """Apply the call's component statuses; returns them as the update's affected components."""
        statuses = {cid: s for cid, s in (fields.get("components") or {}).items() if s}
        affected = []
        for cid, status in statuses.items():
            comp = self._components[cid]
            affected.append({"code": cid, "name": comp["name"], "old_status": comp["status"], "new_status": status})
            if comp["status"] != status:
                comp["status"], comp["updated_at"] = status, now
        ids = fields.get("component_ids")
        base = inc["component_ids"] if ids is None else ids
        inc["component_ids"] = list(dict.fromkeys([*base, *statuses]))
        worst = max((IMPACTS.index(STATUS_IMPACT.get(s, "none")) for s in statuses.values()), default=0)
        inc["impact"] = IMPACTS[max(IMPACTS.index(inc["impact"]), worst)]  # kept after resolve, like the page
        if inc["impact_override"]:
            inc["impact"] = inc["impact_override"]
        return affected

    def _add_update(
        self, inc: dict[str, Any], fields: dict[str, Any], affected: list[dict[str, Any]], now: str
    ) -> None:
        n = self._counters["update"]
        self._counters["update"] += 1
        inc["updates"].append(
            {
                "id": ident(self.seed, "update", n),
                "incident_id": inc["id"],
                "status": inc["status"],
                "body": fields.get("body") or "",
                "affected_components": affected,
                "deliver_notifications": fields.get("deliver_notifications", True),
                "created_at": now,
                "updated_at": now,
                "display_at": now,
                "custom_tweet": None,
                "tweet_id": None,
                "twitter_updated_at": None,
                "wants_twitter_update": False,
            }
        )
