"""Creates, bulk reads and create metadata of the Jira sandbox (a mixin of `JiraPlatform`).

What it keeps faithful (sources in tests/specs/jira-platform-v3.openapi.json unless named):
- a create sets only what the create screen holds (createmeta lists it), per field, in `fields`
  and `update` alike; `comment` is never on it: `{"errors": {"comment": "Field 'comment' cannot be
  set. It is not on the appropriate screen, or unknown."}}` (POST issue, POST issue/bulk);
- a transition riding a create is applied after the issue exists and never refuses the create:
  its outcome is the 201's `transition: {status, errorCollection}` (CreatedIssue, NestedResponse);
- `issue/bulk` answers 201 when any element was created, else 400 with `issues: []` and every
  element's `{status, elementErrors, failedElementNumber}` (its 400 example);
- `issue/bulkfetch` answers `{issues, issueErrors}` (BulkIssueResults: no `expand` key); issues not
  found are left out of both lists; at most 100 issues and 5 property keys (BulkFetchIssueRequestBean);
- `GET issue/createmeta` (all projects) is gone from Jira Cloud: it answers 404 (CHANGE-1304,
  https://developer.atlassian.com/cloud/jira/platform/changelog/#CHANGE-1304; seen by
  https://github.com/ankitpokhrel/jira-cli/issues/757); the per-project endpoints replace it.
"""

from __future__ import annotations

from typing import Any

from itsm_bridge.sandbox.core import Request, Response
from itsm_bridge.sandbox.jira import issue_properties
from itsm_bridge.sandbox.jira.parts import JiraParts
from itsm_bridge.sandbox.jira.schema import FIELDS, ISSUE_TYPES
from itsm_bridge.sandbox.jira.store import FieldErrors, Issue

API = "/rest/api/3"
FETCH_MAX = 100
CREATEMETA_REMOVED = (
    "The requested API has been removed. Use GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes and "
    "GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId} instead: "
    "https://developer.atlassian.com/cloud/jira/platform/changelog/#CHANGE-1304"
)


class CreateRoutes(JiraParts):
    """Handlers for creates, bulkfetch and metadata; expects the attributes `JiraPlatform` has."""

    base_url: str

    @staticmethod
    def _refused(err: FieldErrors) -> Response:
        raise NotImplementedError

    def _project(self, req: Request) -> Response:
        raise NotImplementedError

    def add_create_routes(self, route: Any) -> None:
        route("GET", f"{API}/issue/createmeta", lambda req: self.error(404, CREATEMETA_REMOVED))
        route("GET", f"{API}/issue/createmeta/{{project}}/issuetypes", self._createmeta_types)
        route("GET", f"{API}/issue/createmeta/{{project}}/issuetypes/{{type_id}}", self._createmeta_fields)
        route("GET", f"{API}/project/{{project}}/statuses", self._project_statuses)
        route("POST", f"{API}/issue/bulk", self._create_bulk)
        route("POST", f"{API}/issue/bulkfetch", self._bulk_fetch)
        route("POST", f"{API}/issue", self._create)

    # --- metadata
    def _createmeta_types(self, req: Request) -> Response:
        self._project(req)  # 404 for an unknown project
        types = [self.views.renderer.issuetype(n) for _, n in ISSUE_TYPES]
        return Response(200, {"issueTypes": types, "maxResults": 50, "startAt": 0, "total": len(types)})

    def _createmeta_fields(self, req: Request) -> Response:
        self._project(req)  # 404 for an unknown project
        if req.params["type_id"] not in [i for i, _ in ISSUE_TYPES]:
            return self.error(404, "Issue type with id '{}' does not exist.".format(req.params["type_id"]))
        required = self.config.createmeta_required
        fields = [self.views.renderer.field_meta(f, f in required) for f in self.config.create_screen]
        return Response(200, {"fields": fields, "maxResults": 50, "startAt": 0, "total": len(fields)})

    def _project_statuses(self, req: Request) -> Response:
        """Every issue type of the project with the statuses of its workflow (IssueTypeWithStatus)."""
        self._project(req)  # 404 for an unknown project
        r = self.views.renderer
        statuses = [r.status(s.name) for s in self.workflow.statuses]
        return Response(
            200,
            [
                {"id": i, "name": n, "self": f"{r.api}/issuetype/{i}", "subtask": False, "statuses": statuses}
                for i, n in ISSUE_TYPES
            ],
        )

    # --- creates
    def _create_one(self, data: Any) -> tuple[Issue, dict[str, Any] | None]:
        """Create one issue; returns it and the outcome of the transition that rode it, if any."""
        if not isinstance(data, dict):
            raise FieldErrors(messages=["Issue data must be an object."])
        values = self.store.validate_create(data.get("fields", {}))
        changes, comments = self.store.apply_update(values, data.get("update") or {}, self.config.create_screen)
        properties = issue_properties.from_create(data.get("properties"))  # not a field: no screen governs it
        issue = self.store.create({**values, **changes})
        for body, props in comments:  # none on the default screens: `comment` is never on a create screen
            self.store.add_comment(issue, body, props, self.config.api_account)
        issue.fields["properties"].update(properties)
        return issue, (None if data.get("transition") is None else self._ride(issue, data["transition"]))

    def _ride(self, issue: Issue, wanted: Any) -> dict[str, Any]:
        """Apply the transition a create carries, as Jira does once the issue exists: one the start
        step offers whose screen requires nothing (a create cannot fill a transition screen, so
        nothing is set on it: no resolution). A refusal leaves the issue where it started."""
        ident = str(wanted.get("id", "")) if isinstance(wanted, dict) else ""
        step = next((t for t in self.workflow.available(issue.fields["status"]) if t.id == ident), None)
        errors: dict[str, Any] = {"errorMessages": [], "errors": {}}
        if step is None:
            errors["errorMessages"] = [f"Transition id '{ident}' is not valid for this issue."]
        elif step.required:
            errors["errors"] = {f: f"{FIELDS[f][0]} is required." for f in step.required}
        else:
            self.store.set_status(issue, step.to)
            return {"status": 200, "errorCollection": errors}
        return {"status": 400, "errorCollection": errors}

    def _created(self, issue: Issue, ride: dict[str, Any] | None) -> dict[str, Any]:
        view = self.views.created(issue)
        if ride is not None:
            view["transition"] = ride
        return view

    def _create(self, req: Request) -> Response:
        try:
            issue, ride = self._create_one(self._body(req))
        except FieldErrors as err:
            return self._refused(err)
        return Response(201, self._created(issue, ride))

    def _create_bulk(self, req: Request) -> Response:
        body = self._body(req)
        updates = body.get("issueUpdates") if isinstance(body, dict) else None
        if not isinstance(updates, list):
            return self._refused(FieldErrors(messages=["Field 'issueUpdates' must be a list."]))
        if len(updates) > 50:
            return self._refused(
                FieldErrors(messages=["The number of issues to be created exceeds the maximum of 50."])
            )
        created, errors = [], []
        for number, data in enumerate(updates):
            try:
                created.append(self._created(*self._create_one(data)))
            except FieldErrors as err:
                element = {"errorMessages": err.messages, "errors": err.errors, "status": 400}
                errors.append({"status": 400, "elementErrors": element, "failedElementNumber": number})
        return Response(201 if created else 400, {"issues": created, "errors": errors})

    # --- bulk read
    def _bulk_fetch(self, req: Request) -> Response:
        """Up to 100 issues by id or key, read from the store (never from the lagging index), in
        ascending id order; those not found are left out (not listed in `issueErrors`)."""
        body = self._body(req)
        wanted = body.get("issueIdsOrKeys") if isinstance(body, dict) else None
        if not isinstance(wanted, list) or not wanted:
            return self._refused(FieldErrors(messages=["issueIdsOrKeys must be a non-empty list."]))
        if len(wanted) > FETCH_MAX:
            return self._refused(FieldErrors(messages=["You can request up to 100 issues."]))
        try:
            properties = issue_properties.requested(body.get("properties"))
        except FieldErrors as err:
            return self._refused(err)
        fields = [str(f) for f in body.get("fields") or ["*navigable"]]
        found = {issue.id: issue for issue in (self.store.get(str(i)) for i in wanted) if issue is not None}
        views = [self.views.issue(i, i.fields, fields, None, properties) for _, i in sorted(found.items())]
        return Response(200, {"issues": views, "issueErrors": []})
