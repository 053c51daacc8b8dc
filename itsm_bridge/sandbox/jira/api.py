"""Jira Cloud (REST v3) and Jira Service Management imitation, served over loopback by `serve()`.

What it keeps faithful, because the connector must cope with it:
- createmeta-driven required fields and Jira's `{"errorMessages", "errors"}` answers naming each field;
- a workflow graph where some targets need several transitions and Resolve needs a resolution;
- ADF comments, internal ones marked by the `sd.public.comment` property or JSM's `public: false`;
- `search/jql` with `nextPageToken` paging, ids only by default, a lagging index (`search_lag_s`)
  that `reconcileIssues` bypasses, minute-precision date bounds; the old `search` answers 410;
- 429 with `Retry-After`, `X-RateLimit-Reset` and `RateLimit-Reason` when `rate_limit` is set.

Paging: `maxResults` defaults to 50 and is capped, as documented for Jira Cloud, at 5000 when only
`id`/`key` are requested and at 100 otherwise; a client must follow `nextPageToken`, not count.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from itsm_bridge.sandbox.core import HTTPFailure, Platform, Request, Response, basic_auth
from itsm_bridge.sandbox.jira import changelog, edits, issue_properties, servicedesk, users
from itsm_bridge.sandbox.jira.create import CreateRoutes
from itsm_bridge.sandbox.jira.schema import (
    API_EMAIL,
    FIELDS,
    ISSUE_TYPES,
    RESOLUTIONS,
    JiraConfig,
    Renderer,
    Workflow,
)
from itsm_bridge.sandbox.jira.search import SearchRoutes
from itsm_bridge.sandbox.jira.store import FieldErrors, Issue, JiraStore, Record
from itsm_bridge.sandbox.jira.views import IssueViews, field_list

API = "/rest/api/3"
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


class JiraPlatform(CreateRoutes, SearchRoutes, Platform):
    """One Jira Cloud site with a Jira Service Management project (`OPS` by default)."""

    name = "jira"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.seed = seed
        self.config = JiraConfig()
        self.store = JiraStore(self.config, self.clock)
        self.rate_limit: tuple[int, float] | None = None  # (requests, window seconds) per user
        self.retry_after_missing = False  # answer 429 without Retry-After
        self._pages: OrderedDict[str, list[Record]] = OrderedDict()
        self._searches = 0
        self._routes_api()
        servicedesk.add_routes(self)
        issue_properties.add_routes(self)
        users.add_routes(self)
        edits.add_routes(self)
        changelog.add_routes(self)

    # --- configuration, as attributes tests set
    @property
    def search_lag_s(self) -> float:
        return self.store.search_lag_s

    @search_lag_s.setter
    def search_lag_s(self, value: float) -> None:
        self.store.search_lag_s = value

    @property
    def workflow(self) -> Workflow:
        return self.config.workflow

    @workflow.setter
    def workflow(self, value: Workflow) -> None:
        self.config.workflow = value

    @property
    def createmeta_required(self) -> set[str]:
        return self.config.createmeta_required

    @createmeta_required.setter
    def createmeta_required(self, value: set[str]) -> None:
        self.config.createmeta_required = set(value)

    @property
    def project_key(self) -> str:
        return self.config.project_key

    @property
    def views(self) -> IssueViews:
        return IssueViews(Renderer(self.config, self.base_url), self.config)

    def credentials(self) -> dict[str, str]:
        return {"email": API_EMAIL, "token": f"jira-sandbox-{self.seed}", "pat": f"jira-pat-{self.seed}"}

    def env(self) -> dict[str, str]:
        creds = self.credentials()
        return {"ITSM_SANDBOX_JIRA_TOKEN": creds["token"], "ITSM_SANDBOX_JIRA_PAT": creds["pat"]}

    # --- Python API for tests and seeding (each call takes the platform lock)
    def create_issue(self, fields: dict[str, Any], *, updated: datetime | None = None) -> str:
        """Create from REST-shaped `fields` (project and issue type default); returns the key."""
        with self.lock:
            given = {"project": {"key": self.config.project_key}, "issuetype": {"id": ISSUE_TYPES[0][0]}, **fields}
            return self.store.create(self.store.validate_create(given), updated=updated).key

    def edit_issue(self, key: str, fields: dict[str, Any], *, updated: datetime | None = None) -> None:
        """Set REST-shaped `fields` (resolution too, unlike the REST edit screen)."""
        with self.lock:
            values, errors = self.store.check_fields(fields, self.config.edit_screen + ("resolution",))
            if errors:
                raise FieldErrors(errors)
            self.store.write(self._issue(key), values, updated=updated)

    def transition_to(self, key: str, status_name: str, resolution: str | None = None) -> None:
        """Put the issue in `status_name` directly, ignoring the workflow graph, as a person
        would: into a done status with `resolution`, else the one it has, else Done (the person
        picks one on the transition screen). Only this Python API picks; REST never invents one."""
        with self.lock:
            issue = self._issue(key)
            status = self.workflow.status(status_name)
            if status is not None and status.category == "done":
                resolution = resolution or issue.fields.get("resolution") or "Done"
            self.store.set_status(issue, status_name, resolution)

    def issue(self, key: str) -> dict[str, Any]:
        with self.lock:
            issue = self._issue(key)
            return self.views.issue(issue, issue.fields, ["*all"])

    def issues(self) -> list[dict[str, Any]]:
        with self.lock:
            views = self.views
            return [views.issue(i, i.fields, ["*all"]) for i in self.store]

    def comments(self, key: str) -> list[dict[str, Any]]:
        with self.lock:
            views = self.views
            return [views.comment(c, with_properties=True) for c in self._issue(key).comments]

    def set_property(self, key: str, prop: str, value: Any) -> None:
        with self.lock:
            self._issue(key).fields["properties"][prop] = value

    def properties(self, key: str) -> dict[str, Any]:
        with self.lock:
            return dict(self._issue(key).fields["properties"])

    def clone_issue(self, key: str) -> str:
        """What a person's Clone does (see issue_properties.clone); returns the new issue's key."""
        return issue_properties.clone(self, key)

    def reindex(self) -> None:
        """Make every write visible to search now, whatever the lag."""
        with self.lock:
            self.store.reindex()

    def reset(self) -> None:
        super().reset()
        self.store.clear()
        self._pages.clear()

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return self.store.to_state()

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            self.store.load_state(state)

    # --- vendor hooks
    def error(self, status: int, message: str, detail: str = "") -> Response:
        return Response(status, {"errorMessages": [message], "errors": {}})

    def authenticate(self, req: Request) -> Response | None:
        creds = self.credentials()
        auth = req.headers.get("authorization", "")
        if basic_auth(req) == (creds["email"], creds["token"]) or auth == f"Bearer {creds['pat']}":
            return None
        headers = {"WWW-Authenticate": 'Basic realm="protected-area"', "X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
        if req.path.startswith("/rest/servicedeskapi/"):
            return Response(
                401,
                {"errorMessage": "You are not authenticated. Authentication required to perform this operation."},
                headers,
            )
        return Response(
            401,
            {
                "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
                "errors": {},
            },
            headers,
        )

    def rate_limited(self, req: Request, retry_after: str | None) -> Response | None:
        wait = self.over_limit(self.rate_limit, self.config.api_account)
        return None if wait is None else self.throttled_response(wait)

    def throttled_response(self, retry_after: str) -> Response:
        reset = self.clock.now() + timedelta(seconds=float(retry_after))
        headers = {
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "RateLimit-Reason": "jira-quota-global-based",
            "X-RateLimit-Limit": str(self.rate_limit[0] if self.rate_limit else 0),
            "X-RateLimit-Remaining": "0",
        }
        if not self.retry_after_missing:
            headers["Retry-After"] = retry_after
        return Response(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, headers)

    # --- helpers
    def _issue(self, key: str) -> Issue:
        issue = self.store.get(key)
        if issue is None:
            raise HTTPFailure(self.error(404, "Issue does not exist or you do not have permission to see it."))
        return issue

    @staticmethod
    def _body(req: Request) -> Any:
        if not req.body:
            raise HTTPFailure(
                Response(400, {"errorMessages": ["No content to map to Object due to end of input"], "errors": {}})
            )
        return req.json()

    @staticmethod
    def _refused(err: FieldErrors) -> Response:
        return Response(err.status, {"errorMessages": err.messages, "errors": err.errors})

    # --- routes
    def _routes_api(self) -> None:
        r = self.route
        r("GET", f"{API}/serverInfo", self._server_info)
        r("GET", f"{API}/myself", lambda req: Response(200, self.views.renderer.user(self.config.api_account)))
        r("GET", f"{API}/field", lambda req: Response(200, self.views.renderer.fields()))
        r("GET", f"{API}/priority", lambda req: Response(200, self.views.renderer.priorities()))
        r(
            "GET",
            f"{API}/resolution",
            lambda req: Response(200, [self.views.renderer.resolution(n) for _, n in RESOLUTIONS]),
        )
        r(
            "GET",
            f"{API}/issuetype",
            lambda req: Response(200, [self.views.renderer.issuetype(n) for _, n in ISSUE_TYPES]),
        )
        r(
            "GET",
            f"{API}/status",
            lambda req: Response(200, [self.views.renderer.status(s.name) for s in self.workflow.statuses]),
        )
        r("GET", f"{API}/project/{{project}}", self._project)
        r(
            "GET",
            f"{API}/project/{{project}}/components",
            lambda req: Response(200, self._project(req).body["components"]),
        )
        self.add_create_routes(r)
        r("GET", f"{API}/issue/{{key}}", self._get_issue)
        r("PUT", f"{API}/issue/{{key}}", self._edit)
        r("GET", f"{API}/issue/{{key}}/editmeta", self._editmeta)
        r("GET", f"{API}/issue/{{key}}/transitions", self._transitions)
        r("POST", f"{API}/issue/{{key}}/transitions", self._transition)
        r("GET", f"{API}/issue/{{key}}/comment", self._comments)
        r("POST", f"{API}/issue/{{key}}/comment", self._add_comment)
        r("GET", f"{API}/search/jql", self._search)
        r("POST", f"{API}/search/jql", self._search)
        r("POST", f"{API}/search/approximate-count", self._count)
        for version in ("2", "3"):
            for method in ("GET", "POST"):
                r(method, f"/rest/api/{version}/search", lambda req: self.error(410, REMOVED_SEARCH))

    def _server_info(self, req: Request) -> Response:
        return Response(
            200,
            {
                "baseUrl": self.base_url,
                "displayUrl": self.base_url,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100282,
                "buildDate": "2025-01-01T00:00:00.000+0000",
                "serverTime": self.views.time(self.clock.now()),
                "scmInfo": "sandbox",
                "serverTitle": "Jira",
            },
        )

    def _project(self, req: Request) -> Response:
        """The project `req` names; an unknown key or id is answered 404 (raised, as `_issue` does)."""
        if req.params["project"] not in (self.config.project_key, self.config.project_id):
            raise HTTPFailure(self.error(404, "No project could be found with key '{}'.".format(req.params["project"])))
        return Response(200, self.views.renderer.project_full())

    def _get_issue(self, req: Request) -> Response:
        issue = self._issue(req.params["key"])
        wanted = field_list(req.query.get("fields"), ["*all"])
        view = self.views.issue(
            issue, issue.fields, wanted, req.arg("expand"), field_list(req.query.get("properties"), [])
        )
        if "transitions" in (req.arg("expand") or ""):
            view["transitions"] = [
                self.views.transition(t, False) for t in self.workflow.available(issue.fields["status"])
            ]
        return Response(200, view)

    def _editmeta(self, req: Request) -> Response:
        """The edit screen's fields: what `PUT issue/{key}` may set (IssueUpdateMetadata)."""
        self._issue(req.params["key"])
        meta = {f: self.views.renderer.field_meta(f, False, with_id=False) for f in self.config.edit_screen}
        # `comment` takes verbs only, no `set` ("Some fields cannot be updated this way (for example,
        # comments)": https://developer.atlassian.com/server/jira/platform/updating-an-issue-via-the-jira-rest-apis-6848604)
        if "comment" in meta:
            meta["comment"]["operations"] = ["add", "edit", "remove"]
        return Response(200, {"fields": meta})

    def _edit(self, req: Request) -> Response:
        issue = self._issue(req.params["key"])
        body = self._body(req)
        if not isinstance(body, dict):
            return self._refused(FieldErrors(messages=["Issue data must be an object."]))
        try:
            screen = self.config.edit_screen  # what editmeta lists: checked per field
            values, errors = self.store.check_fields(body.get("fields", {}), screen)
            if errors:
                raise FieldErrors(errors)
            changes, comments = self.store.apply_update(issue.fields, body.get("update") or {}, screen)
            for body_doc, props in comments:
                self.store.add_comment(issue, body_doc, props, self.config.api_account)
        except FieldErrors as err:
            return self._refused(err)
        self.store.write(issue, {**values, **changes})
        if req.arg("returnIssue") == "true":  # 200 with the issue "in the same format as in the Get issue
            # API" (Edit issue, `returnIssue`: ../shared/specs/jira-platform-v3.openapi.json), whose fields default to *all
            return Response(200, self.views.issue(issue, issue.fields, ["*all"]))
        return Response(204)

    def _transitions(self, req: Request) -> Response:
        issue = self._issue(req.params["key"])
        with_fields = "transitions.fields" in (req.arg("expand") or "")
        wanted = req.arg("transitionId")
        found = [t for t in self.workflow.available(issue.fields["status"]) if wanted in (None, t.id)]
        return Response(
            200, {"expand": "transitions", "transitions": [self.views.transition(t, with_fields) for t in found]}
        )

    def _transition(self, req: Request) -> Response:
        issue = self._issue(req.params["key"])
        body = self._body(req)
        if not isinstance(body, dict) or not isinstance(body.get("transition"), dict):
            return self._refused(FieldErrors(messages=["Missing 'transition' identifier"]))
        wanted = str(body["transition"].get("id", ""))
        step = next((t for t in self.workflow.available(issue.fields["status"]) if t.id == wanted), None)
        if step is None:
            return self.error(400, f"Transition id '{wanted}' is not valid for this issue.")
        try:
            values, errors = self.store.check_fields(body.get("fields") or {}, step.screen)
            for fid in step.required:
                if values.get(fid) is None and fid not in errors:
                    errors[fid] = f"{FIELDS[fid][0]} is required."
            if errors:
                raise FieldErrors(errors)
            # `update.comment[].add` rides a transition whatever its screen: the request example of
            # POST issue/{issueIdOrKey}/transitions in ../shared/specs/jira-platform-v3.openapi.json
            _, comments = self.store.apply_update(issue.fields, body.get("update") or {}, ("comment",))
            for body_doc, props in comments:
                self.store.add_comment(issue, body_doc, props, self.config.api_account)
        except FieldErrors as err:
            return self._refused(err)
        self.store.set_status(issue, step.to, values.get("resolution"))  # only what the screen set
        return Response(204)

    def _comments(self, req: Request) -> Response:
        issue = self._issue(req.params["key"])
        start, limit = int(req.arg("startAt", "0") or 0), int(req.arg("maxResults", "100") or 100)
        ordered = issue.comments[::-1] if req.arg("orderBy") == "-created" else issue.comments
        with_props = "properties" in (req.arg("expand") or "")
        page = [self.views.comment(c, with_props) for c in ordered[start : start + limit]]
        return Response(200, {"startAt": start, "maxResults": limit, "total": len(ordered), "comments": page})

    def _add_comment(self, req: Request) -> Response:
        issue = self._issue(req.params["key"])
        body = self._body(req)
        if not isinstance(body, dict):
            return self._refused(FieldErrors(messages=["Comment data must be an object."]))
        props = {p["key"]: p.get("value") for p in body.get("properties") or [] if isinstance(p, dict) and "key" in p}
        try:
            comment = self.store.add_comment(issue, body.get("body"), props, self.config.api_account)
        except FieldErrors as err:
            return self._refused(err)
        return Response(201, self.views.comment(comment, "properties" in (req.arg("expand") or "")))
