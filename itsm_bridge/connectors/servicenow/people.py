"""ServiceNow users by e-mail address, for `assigned_to`.

Reads take the assignee's address with the incident, by dot-walking (`assigned_to.email` in
`sysparm_fields`; servicenow-docs/c_TableAPI.md: sysparm_fields takes dot-walked fields, and with
`sysparm_display_value=all` each comes as `{"value", "display_value"}`), so a read costs no
lookup. A write names a person by address: the user is looked up once in `sys_user`
(`email=ADDRESS`, `sysparm_fields=sys_id,email`) and `assigned_to` is written as the sys_id (a
reference field takes the referenced record's sys_id). An address no user has is left out of
the write (never the integration user in its place).
"""

from __future__ import annotations

from typing import Any

from itsm_bridge.connectors.people import PeopleLookups
from itsm_bridge.connectors.servicenow.client import PLATFORM, TableClient
from itsm_bridge.connectors.servicenow.query import Query
from itsm_bridge.connectors.servicenow.rows import split_row
from itsm_bridge.people import Directory, email_of

COLUMN = "assigned_to"
EMAIL = f"{COLUMN}.email"


class ServiceNowPeople(PeopleLookups):
    """sys_user sys_ids from people's addresses, and addresses the map gives users who have none."""

    def __init__(self, client: TableClient, directory: Directory) -> None:
        super().__init__(directory, COLUMN, EMAIL)
        self.client = client

    def account_for(self, person: str | None) -> str | None:
        """The sys_id of a canonical person: by address, or a `servicenow:<sys_id>` read here."""
        text = str(person or "")
        if text.startswith(f"{PLATFORM}:"):
            return text.split(":", 1)[1] or None
        email = email_of(text)
        return None if email is None else self.directory.id_for(email, self._lookup)

    def _lookup(self, email: str) -> str | None:
        params = {
            "sysparm_query": Query().where("email", "=", email).encode(),
            "sysparm_fields": "sys_id,email",
            "sysparm_limit": "2",
        }
        rows = next(self.client.pages("sys_user", params), [])
        found = [split_row(r)[0] for r in rows]
        return found[0]["sys_id"] if len(found) == 1 else None

    def outgoing(self, fields: dict[str, Any]) -> dict[str, Any]:
        """`fields` with `assigned_to` (a person from the mapper) as a sys_id, "" to unassign, or
        left out when no user has the address."""
        if COLUMN not in fields:
            return fields
        out = dict(fields)
        person = out.pop(COLUMN)
        if not person:
            out[COLUMN] = ""
            return out
        sys_id = self.account_for(str(person))
        if sys_id is not None:
            out[COLUMN] = sys_id
        return out
