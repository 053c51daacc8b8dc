"""Jira Service Management endpoints of the Jira sandbox (`/rest/servicedeskapi`).

Request comments share the issue's comment store: `public: false` is the same internal comment
that `POST /rest/api/3/issue/{key}/comment` makes with the `sd.public.comment` property. Errors
here use JSM's own shape, `{"errorMessage": ...}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itsm_bridge.sandbox.core import HTTPFailure, Request, Response
from itsm_bridge.sandbox.jira.store import FieldErrors, Issue, adf_text, text_adf

if TYPE_CHECKING:
    from itsm_bridge.sandbox.jira.api import JiraPlatform

SD = "/rest/servicedeskapi"


def add_routes(platform: JiraPlatform) -> None:
    """Register the JSM routes on `platform`."""
    platform.route("GET", f"{SD}/servicedesk", lambda req: _service_desks(platform, req))
    platform.route("GET", f"{SD}/request/{{key}}/comment", lambda req: _comments(platform, req))
    platform.route("POST", f"{SD}/request/{{key}}/comment", lambda req: _add_comment(platform, req))


def _error(status: int, message: str) -> Response:
    return Response(status, {"errorMessage": message, "i18nErrorMessage": {"i18nKey": "sd.error", "parameters": []}})


def _issue(platform: JiraPlatform, key: str) -> Issue:
    issue = platform.store.get(key)
    if issue is None:
        raise HTTPFailure(_error(404, "Request does not exist or you do not have permission to see it."))
    return issue


def _page(platform: JiraPlatform, req: Request, values: list[Any]) -> dict[str, Any]:
    try:
        start, limit = int(req.arg("start", "0") or 0), int(req.arg("limit", "50") or 50)
    except ValueError:
        raise HTTPFailure(_error(400, "The start and limit parameters must be integers.")) from None
    page = values[start : start + limit]
    links = {"base": platform.base_url, "context": "", "self": platform.base_url + req.path}
    if start + limit < len(values):
        links["next"] = f"{platform.base_url}{req.path}?start={start + limit}&limit={limit}"
    return {
        "_expands": [],
        "size": len(page),
        "start": start,
        "limit": limit,
        "isLastPage": start + limit >= len(values),
        "_links": links,
        "values": page,
    }


def _service_desks(platform: JiraPlatform, req: Request) -> Response:
    c = platform.config
    desk = {
        "id": "1",
        "projectId": c.project_id,
        "projectKey": c.project_key,
        "projectName": c.project_name,
        "_links": {"self": f"{platform.base_url}{SD}/servicedesk/1"},
    }
    return Response(200, _page(platform, req, [desk]))


def _comment_view(platform: JiraPlatform, comment: dict[str, Any]) -> dict[str, Any]:
    user = platform.views.renderer.user(comment["author"]) or {}
    created = comment["created"]
    internal = bool((comment["properties"].get("sd.public.comment") or {}).get("internal"))
    return {
        "id": comment["id"],
        "body": adf_text(comment["body"]),
        "public": not internal,
        "author": {
            "accountId": user.get("accountId"),
            "displayName": user.get("displayName"),
            "active": True,
            "timeZone": "Etc/UTC",
            "_links": {"jiraRest": user.get("self"), "self": user.get("self")},
        },
        "created": {
            "iso8601": created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "jira": platform.views.time(created),
            "friendly": created.strftime("%d/%b/%y %I:%M %p"),
            "epochMillis": int(created.timestamp() * 1000),
        },
        "_links": {"self": f"{platform.base_url}{SD}/request/{comment.get('issue_id', '')}/comment/{comment['id']}"},
    }


def _comments(platform: JiraPlatform, req: Request) -> Response:
    issue = _issue(platform, req.params["key"])
    want_public = req.arg("public", "true") != "false"
    want_internal = req.arg("internal", "true") != "false"
    views = []
    for comment in issue.comments:
        view = _comment_view(platform, {**comment, "issue_id": issue.id})
        if (view["public"] and want_public) or (not view["public"] and want_internal):
            views.append(view)
    return Response(200, _page(platform, req, views))


def _add_comment(platform: JiraPlatform, req: Request) -> Response:
    issue = _issue(platform, req.params["key"])
    data = req.json() if req.body else None
    if not isinstance(data, dict) or not isinstance(data.get("body"), str) or not data["body"].strip():
        return _error(400, "The comment body must not be empty.")
    if not isinstance(data.get("public", True), bool):
        return _error(400, "The public flag must be a boolean.")
    internal = not data.get("public", True)
    try:
        comment = platform.store.add_comment(
            issue, text_adf(data["body"]), {"sd.public.comment": {"internal": internal}}, platform.config.api_account
        )
    except FieldErrors as err:
        return _error(400, "; ".join([*err.messages, *err.errors.values()]))
    return Response(201, _comment_view(platform, {**comment, "issue_id": issue.id}))
