"""Deleting an issue and editing a comment, the two Jira writes the webhooks report beyond create,
edit, transition and comment.

Sources (../shared/specs/jira-platform-v3.openapi.json): `DELETE /rest/api/3/issue/{issueIdOrKey}`
answers 204 (an issue with subtasks needs `deleteSubtasks`; the sandbox has none);
`PUT /rest/api/3/issue/{issueIdOrKey}/comment/{id}` takes a Comment (`body` in ADF) and answers 200
with the updated Comment, 404 when the issue or comment is not there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsm_bridge.sandbox.core import Request, Response
from itsm_bridge.sandbox.jira.store import FieldErrors

if TYPE_CHECKING:
    from itsm_bridge.sandbox.jira.api import JiraPlatform

API = "/rest/api/3"


def add_routes(platform: JiraPlatform) -> None:
    platform.route("DELETE", f"{API}/issue/{{key}}", lambda req: _delete(platform, req))
    platform.route("PUT", f"{API}/issue/{{key}}/comment/{{comment_id}}", lambda req: _edit_comment(platform, req))


def _delete(platform: JiraPlatform, req: Request) -> Response:
    platform.store.delete(platform._issue(req.params["key"]))
    return Response(204)


def _edit_comment(platform: JiraPlatform, req: Request) -> Response:
    issue = platform._issue(req.params["key"])
    comment = next((c for c in issue.comments if c["id"] == req.params["comment_id"]), None)
    if comment is None:
        return platform.error(404, f"Can not find a comment for the id: {req.params['comment_id']}.")
    body = platform._body(req)
    if not isinstance(body, dict):
        return platform._refused(FieldErrors(messages=["Comment data must be an object."]))
    try:
        platform.store.edit_comment(issue, comment, body.get("body"), platform.config.api_account)
    except FieldErrors as err:
        return platform._refused(err)
    return Response(200, platform.views.comment(comment, "properties" in (req.arg("expand") or "")))
