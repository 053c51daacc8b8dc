"""Jira's user search, as `JiraConnector` looks up an assignee by e-mail address.

`GET /rest/api/3/user/search` (../shared/specs/jira-platform-v3.openapi.json, "Find users"):
`query` "is matched against user attributes (displayName, and emailAddress) ... The string can
match the prefix of the attribute's value"; `accountId` is matched exactly; one of `query`,
`accountId` or `property` is required; `startAt`/`maxResults` page the filtered users; the answer
is a plain list of `User`. "Privacy controls are applied to the response based on the users'
preferences. This could mean, for example, that the user's email address is hidden" (User
`emailAddress`: "Depending on the user's privacy setting, this may be returned as null"; see
https://developer.atlassian.com/cloud/jira/platform/profile-visibility/). Taking the strictest
reading, an address a user hides is neither shown nor matched: such a user is found by name only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsm_bridge.sandbox.core import Request, Response

if TYPE_CHECKING:
    from itsm_bridge.sandbox.jira.api import JiraPlatform

API = "/rest/api/3"
MISSING_QUERY = "One of 'query' or 'accountId' or 'property' query parameters must be provided."


def add_routes(platform: JiraPlatform) -> None:
    """Register the user search on `platform`."""
    platform.route("GET", f"{API}/user/search", lambda req: _search(platform, req))


def _search(platform: JiraPlatform, req: Request) -> Response:
    query, account = req.arg("query"), req.arg("accountId")
    if not query and not account:
        return platform.error(400, MISSING_QUERY)
    renderer = platform.views.renderer
    found = []
    for acc in platform.config.users:
        user = renderer.user(acc)
        if user is None or (account and acc != account):
            continue
        if query and not _matches(query, [str(user.get("displayName") or ""), str(user.get("emailAddress") or "")]):
            continue
        found.append(user)
    start = max(0, int(req.arg("startAt", "0") or 0))
    limit = max(1, min(1000, int(req.arg("maxResults", "50") or 50)))
    return Response(200, found[start : start + limit])


def _matches(query: str, attributes: list[str]) -> bool:
    wanted = query.casefold()
    return any(a and a.casefold().startswith(wanted) for a in attributes)
