"""Vendor time formats read on both sides of the mapping line (connector queries, mapped fields).

Inside, times are timezone-aware UTC datetimes; a vendor's text form is parsed and rendered here.
"""

from __future__ import annotations

from datetime import UTC, datetime

SNOW_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def snow_time(value: datetime) -> str:
    """A UTC `YYYY-MM-DD HH:MM:SS`, the form ServiceNow stores and compares."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no zone; pass an aware UTC time")
    return value.astimezone(UTC).strftime(SNOW_TIME_FORMAT)


def parse_snow_time(text: str | None) -> datetime | None:
    """ServiceNow's stored `YYYY-MM-DD HH:MM:SS` is UTC, whatever this process's time zone."""
    if not text:
        return None
    # strptime + an explicit UTC zone: never the local zone (time.mktime / naive astimezone would be).
    return datetime.strptime(text.strip(), SNOW_TIME_FORMAT).replace(tzinfo=UTC)
