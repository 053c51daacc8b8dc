"""What a ServiceNow instance does differently for one integration user: its hourly rate limit
rule, the time zone its display values are in, and what the ACLs let it read of sys_journal_field
and sys_audit (each table has read ACLs of its own).

Sources (under ../shared/specs/servicenow-docs unless a URL):
- Rate limit rules (inbound-REST-API-rate-limiting.md): limits are requests per hour per user;
  "if the request matches a rate limit rule", every answer carries `X-RateLimit-Limit` (requests
  allowed per hour), `X-RateLimit-Reset` (UNIX time of the next scheduled reset of the window)
  and `X-RateLimit-Rule` (the rule's sys_id); a request over the limit is answered 429 with
  `Retry-After` (seconds) and `{"error": {"message": "Rate limit exceeded", "detail": "Rate limit
  of N requests per hour for Table API exceeded"}, "status": "failure"}`. The window here is the
  clock hour: the reset is at the top of the next hour, so a 429 can mean almost an hour's wait.
- Display values (c_TableAPI.md, sysparm_display_value): "Date fields: The database value is in
  UTC format, while the display value is based on the user's time zone"; the query and the
  values stay UTC (KB0534905, https://support.servicenow.com/kb?id=kb_article_view&sysparm_article=KB0534905).
- ACLs (c_TableAPI.md, sysparm_limit): "This limit is applied before ACL evaluation": rows a
  read ACL hides leave the page short, and `X-Total-Count` still counts them. A table-level
  read ACL answers 403 `{"error": {"message": "User Not Authorized", "detail": "Failed API level
  ACL Validation"}, "status": "failure"}` (KB2466644,
  https://support.servicenow.com/kb?id=kb_article_view&sysparm_article=KB2466644).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from itsm_bridge.sandbox.core import HTTPFailure, Response

AclAccess = Literal["read", "hidden", "denied"]
NOT_AUTHORIZED = {
    "error": {"message": "User Not Authorized", "detail": "Failed API level ACL Validation"},
    "status": "failure",
}


class HourlyRule:
    """One rate limit rule: `limit` requests per clock hour per user."""

    def __init__(self, limit: int, rule_id: str) -> None:
        self.limit, self.rule_id = limit, rule_id
        self._counts: dict[tuple[str, int], int] = {}

    @staticmethod
    def reset_at(now: datetime) -> int:
        """UNIX time of the next scheduled reset: the top of the next hour."""
        return (int(now.timestamp()) // 3600 + 1) * 3600

    def headers(self, now: datetime) -> dict[str, str]:
        """What every answer matching the rule carries."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Reset": str(self.reset_at(now)),
            "X-RateLimit-Rule": self.rule_id,
        }

    def admit(self, user: str, now: datetime) -> str | None:
        """Count one request of `user`; None when within the rule, else the Retry-After seconds."""
        hour = int(now.timestamp()) // 3600
        self._counts = {k: v for k, v in self._counts.items() if k[1] == hour}
        count = self._counts.get((user, hour), 0) + 1
        self._counts[(user, hour)] = count
        if count <= self.limit:
            return None
        return str(max(1, math.ceil(self.reset_at(now) - now.timestamp())))


def rows_shown(table: str, access: Mapping[str, AclAccess]) -> bool:
    """Whether a read of `table` shows its rows: those of a table in `access` are refused as a
    table-level read ACL does (403) when `denied`, and left out as a row-level one does when
    `hidden`."""
    level = access.get(table, "read")
    if level == "denied":
        raise HTTPFailure(Response(403, NOT_AUTHORIZED))
    return level != "hidden"
