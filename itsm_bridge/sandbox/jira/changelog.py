"""Issue changelogs of the Jira sandbox: `POST /rest/api/3/changelog/bulkfetch`.

Source: ../shared/specs/jira-platform-v3.openapi.json. The request is a BulkChangelogRequestBean
(`issueIdsOrKeys` 1..1000, `fieldIds` up to 10, `maxResults` 1..10000 default 1000,
`nextPageToken`); the answer a BulkChangelogResponseBean: `issueChangeLogs` of
`{issueId, changeHistories}`, "sorted by changelog date and issue IDs, starting from the oldest
changelog and smallest issue ID", and `nextPageToken` (absent on the last page). A history is a
Changelog `{id, author, created, items}`, each item a ChangeDetails `{field, fieldtype, fieldId,
from, fromString, to, toString}`: ids in `from`/`to` (status id, account id), names in the
`...String`s. Issues not found are left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from itsm_bridge.sandbox.core import Request, Response
from itsm_bridge.sandbox.jira.schema import jira_time
from itsm_bridge.sandbox.jira.store import FieldErrors, Issue

if TYPE_CHECKING:
    from itsm_bridge.sandbox.jira.api import JiraPlatform

API = "/rest/api/3"
MAX_ISSUES, MAX_FIELDS, MAX_RESULTS = 1000, 10, 10000


def add_routes(platform: JiraPlatform) -> None:
    platform.route("POST", f"{API}/changelog/bulkfetch", lambda req: _bulkfetch(platform, req))


def _bulkfetch(platform: JiraPlatform, req: Request) -> Response:
    body = platform._body(req)
    ids = body.get("issueIdsOrKeys") if isinstance(body, dict) else None
    fields = (body.get("fieldIds") or []) if isinstance(body, dict) else []
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_ISSUES:
        return platform._refused(FieldErrors({"issueIdsOrKeys": f"Provide between 1 and {MAX_ISSUES} issues."}))
    if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
        return platform._refused(FieldErrors({"fieldIds": f"Provide at most {MAX_FIELDS} field ids."}))
    limit = body.get("maxResults", 1000)
    if not isinstance(limit, int) or not 1 <= limit <= MAX_RESULTS:
        return platform._refused(FieldErrors({"maxResults": f"maxResults must be between 1 and {MAX_RESULTS}."}))
    start = int(body.get("nextPageToken") or 0)
    issues = [i for i in (platform.store.get(str(x)) for x in ids) if i is not None]
    entries = sorted(
        ((at, issue.id, n, issue, items) for issue in issues for n, (at, items) in enumerate(issue.changelog)),
        key=lambda e: (e[0], e[1], e[2]),
    )
    wanted = set(fields)
    matching = [e for e in entries if not wanted or any(f in wanted for f, _, _ in e[4])]
    page = matching[start : start + limit]
    out: dict[int, dict[str, Any]] = {}
    for at, issue_id, n, issue, items in page:
        log = out.setdefault(issue_id, {"issueId": str(issue_id), "changeHistories": []})
        log["changeHistories"].append(_history(platform, issue, n, at, items, wanted))
    answer: dict[str, Any] = {"issueChangeLogs": list(out.values())}
    if start + limit < len(matching):
        answer["nextPageToken"] = str(start + limit)
    return Response(200, answer)


def _history(
    platform: JiraPlatform, issue: Issue, n: int, at: datetime, items: tuple[Any, ...], wanted: set[str]
) -> dict[str, Any]:
    return {
        "id": str(issue.id * 1000 + n),
        "author": platform.views.renderer.user(platform.config.api_account),
        "created": jira_time(at),
        "items": [_item(platform, f, old, new) for f, old, new in items if not wanted or f in wanted],
    }


def _item(platform: JiraPlatform, field: str, old: Any, new: Any) -> dict[str, Any]:
    def shown(value: Any) -> tuple[str | None, str | None]:
        if value is None:
            return None, None
        if field == "status":
            status = platform.workflow.status(str(value))
            return (status.id if status else None), str(value)
        if field == "assignee":
            return str(value), platform.config.users.get(str(value), str(value))
        return None, str(value)

    (from_id, from_text), (to_id, to_text) = shown(old), shown(new)
    return {
        "field": field,
        "fieldtype": "jira",
        "fieldId": field,
        "from": from_id,
        "fromString": from_text,
        "to": to_id,
        "toString": to_text,
    }
