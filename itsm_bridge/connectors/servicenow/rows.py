"""ServiceNow incident rows: which columns are read, where a row sits in the read order, and a
row (read with display values `all`) as a RemoteRecord."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from itsm_bridge.connectors.servicenow.client import PLATFORM
from itsm_bridge.connectors.servicenow.query import Query
from itsm_bridge.correlation import CORRELATION_DISPLAY
from itsm_bridge.errors import RemoteValidation
from itsm_bridge.model import Comment, RemoteRef
from itsm_bridge.records import RemoteRecord
from itsm_bridge.vendor_time import parse_snow_time

INCIDENT_COLUMNS = (
    "correlation_id",
    "short_description",
    "description",
    "state",
    "impact",
    "urgency",
    "priority",
    "category",
    "subcategory",
    "cmdb_ci",
    "assignment_group",
    "assigned_to",
    "caller_id",
    "major_incident_state",
    "opened_at",
    "resolved_at",
    "closed_at",
    "sys_updated_on",
    "close_code",
    "close_notes",
)
"""The incident columns a record carries (every column the mapping reads or writes)."""
READ_FIELDS = ",".join(
    sorted(
        {
            *INCIDENT_COLUMNS,
            *("sys_id", "number", "sys_mod_count", "correlation_display", "sys_updated_by"),
            *("reassignment_count", "reopen_count"),  # for the audit's first-contact and reopen rates
            "assigned_to.email",  # the assignee's address, by dot-walking: matched with other platforms
        }
    )
)


Position = tuple[datetime, str]  # (sys_updated_on, sys_id): a row's place in the read order


def page_query(read_from: datetime | None, after: Position | None) -> Query:
    """The query of one page of `changed_since`: the watermark condition, then the rows strictly
    after `after` in (sys_updated_on, sys_id) order. `^OR` binds to the condition just before it,
    so this reads (updated > E or sys_id > S) and updated >= E."""
    query = Query()
    if read_from is not None:
        query.where("sys_updated_on", ">=", read_from)
    if after is not None:
        updated, sys_id = after
        query.where("sys_updated_on", ">", updated).or_where("sys_id", ">", sys_id).where(
            "sys_updated_on", ">=", updated
        )
    return query.order_by("sys_updated_on").order_by("sys_id")


def position(values: Mapping[str, str]) -> Position:
    """Where a row sits in the read order."""
    updated = parse_snow_time(values.get("sys_updated_on"))
    if updated is None:
        raise RemoteValidation("incident row without sys_updated_on", platform=PLATFORM, ref=values.get("sys_id"))
    return updated, values["sys_id"]


def split_row(row: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(values, display values that differ) from a row read with display values `all` or `false`."""
    values: dict[str, str] = {}
    display: dict[str, str] = {}
    for name, cell in row.items():
        if isinstance(cell, dict):
            value = "" if cell.get("value") is None else str(cell.get("value"))
            shown = cell.get("display_value")
            values[name] = value
            if shown is not None and str(shown) != value:
                display[name] = str(shown)
        else:
            values[name] = "" if cell is None else str(cell)
    return values, display


def to_record(values: dict[str, str], display: dict[str, str], comments: tuple[Comment, ...] = ()) -> RemoteRecord:
    """A RemoteRecord from one incident row."""
    updated = parse_snow_time(values.get("sys_updated_on"))
    if updated is None:
        raise RemoteValidation("incident row without sys_updated_on", platform=PLATFORM, ref=values.get("sys_id"))
    ours = values.get("correlation_display") == CORRELATION_DISPLAY and values.get("correlation_id")
    return RemoteRecord(
        ref=RemoteRef(PLATFORM, values["sys_id"], values.get("number", "")),
        fields=values,
        version=values.get("sys_mod_count", "0"),
        updated=updated,
        correlation_key=values["correlation_id"] if ours else None,
        display=display,
        comments=comments,
    )
