"""Stored UTC times as a vendor shows them in a zone it is set to: ServiceNow's display values in
the user's time zone (`servicenow.user`), Cachet's answers in its `app_timezone`
(`statuspage.cachet_fields`)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # how both store a time: naive, in UTC


def zoned(value: str, zone: str) -> str:
    """A stored UTC `YYYY-MM-DD HH:MM:SS` in `zone`, in the same naive form ("" stays "")."""
    if not value or zone == "UTC":
        return value
    stored = datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
    return stored.astimezone(ZoneInfo(zone)).strftime(TIME_FORMAT)
