"""Jira accounts by e-mail address, for the assignee.

The lookup is `GET /rest/api/3/user/search?query=ADDRESS` (jira-platform-v3.openapi.json, "Find
users": `query` "is matched against user attributes (displayName, and emailAddress)", by prefix;
"Privacy controls are applied to the response based on the users' preferences. This could mean
... that the user's email address is hidden", and `User.emailAddress` "may be returned as null").
So an account is taken only when the address it shows is the one asked for: a prefix match on
another address or a display name is not the person, and an account whose address is hidden is
found only through the people map. One lookup per person, kept (`itsm_bridge.people.Directory`).
"""

from __future__ import annotations

from typing import Any

from itsm_bridge.connectors.jira.api import JiraApi
from itsm_bridge.connectors.people import PeopleLookups
from itsm_bridge.people import Directory, email_of

SEARCH_SIZE = 20  # accounts per lookup: an address is matched by prefix, so a few may share it


class JiraPeople(PeopleLookups):
    """The assignee's account from a person's address, and a person's address from an account."""

    def __init__(self, api: JiraApi, directory: Directory) -> None:
        super().__init__(directory, "assignee", "assignee.email")
        self.api = api

    def account_for(self, person: str | None) -> str | None:
        """The accountId of a canonical person (None: not an address, or no account has it)."""
        email = email_of(person)
        return None if email is None else self.directory.id_for(email, self._lookup)

    def _lookup(self, email: str) -> str | None:
        users = self.api.get("/user/search", {"query": email, "maxResults": SEARCH_SIZE}) or []
        matches = {
            str(u["accountId"])
            for u in users
            if isinstance(u, dict) and u.get("accountId") and email_of(u.get("emailAddress")) == email
        }
        return matches.pop() if len(matches) == 1 else None

    def outgoing(self, fields: dict[str, Any], creating: bool) -> dict[str, Any]:
        """`fields` with the assignee (an address from the mapper) as the account Jira takes:
        `{"accountId": ...}`, null to unassign an issue, or left out when nobody has the address
        (never the API user in their place) or a new issue has nobody to assign."""
        if "assignee" not in fields:
            return fields
        out = dict(fields)
        person = out.pop("assignee")
        if person is None:
            if not creating:
                out["assignee"] = None
            return out
        account = self.account_for(str(person))
        if account is not None:
            out["assignee"] = {"accountId": account}
        return out
