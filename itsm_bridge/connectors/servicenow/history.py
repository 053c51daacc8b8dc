"""ServiceNow incident history for the audit: state, assignee and group changes from `sys_audit`.

`sys_audit` keeps one row per changed field of an audited table (incident is), for ever, with the
old and new value as stored (choice values, reference sys_ids) and the time in UTC
(servicenow docs, platform-security/c_UnderstandingTheSysAuditTable). It is the cheapest durable
source of "when did it leave New, when was a person first assigned": the incident row has no such
column, history sets (`sys_history_line`) are built on demand and rotated away, and
`metric_instance` exists only where metric definitions are active. Inserts are not audited by
default (glide.sys.audit_inserts, c_TrackingInserts), so a value with no change behind it was set
when the incident was created. One query per AUDIT_BATCH incidents, filtered to three fields.

Counts come from the incident row itself: `reassignment_count` and `reopen_count`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from itsm_bridge.connectors.servicenow.client import TableClient
from itsm_bridge.connectors.servicenow.query import Query
from itsm_bridge.connectors.servicenow.rows import split_row
from itsm_bridge.errors import Forbidden
from itsm_bridge.history import ASSIGNEE, GROUP, STATE, Change, History
from itsm_bridge.records import RemoteRecord
from itsm_bridge.vendor_time import parse_snow_time

log = logging.getLogger("itsm_bridge.servicenow")

AUDIT_BATCH = 100  # incidents per sys_audit query, as for sys_journal_field: the IN list is in the URL
AUDIT_FIELDS = "documentkey,fieldname,oldvalue,newvalue,sys_created_on"
CANONICAL = {"state": STATE, "assigned_to": ASSIGNEE, "assignment_group": GROUP}


def read_history(
    client: TableClient,
    records: Sequence[RemoteRecord],
    state_of: Callable[[str], str],
    page_size: int,
    detected_field: str | None,
) -> dict[str, History]:
    """History per incident sys_id; `state_of` turns a state value into a canonical state name."""
    changes: dict[str, list[Change]] = {}
    read = True
    ids = [r.ref.id for r in records]
    try:
        for at in range(0, len(ids), AUDIT_BATCH):
            _batch(client, ids[at : at + AUDIT_BATCH], state_of, page_size, changes)
    except Forbidden as exc:  # sys_audit has its own read ACL: the audit goes on with what it has
        log.warning(
            "servicenow: cannot read sys_audit (%s): acknowledgement comes from notes and resolves only; "
            "grant the user read on sys_audit",
            exc,
        )
        read, changes = False, {}
    return {r.ref.id: _history(r, changes.get(r.ref.id, []), read, detected_field) for r in records}


def _batch(
    client: TableClient,
    ids: list[str],
    state_of: Callable[[str], str],
    page_size: int,
    out: dict[str, list[Change]],
) -> None:
    query = (
        Query()
        .where("tablename", "=", "incident")
        .where("documentkey", "IN", ids)
        .where("fieldname", "IN", list(CANONICAL))
        .order_by("sys_created_on")
    )
    params = {"sysparm_query": query.encode(), "sysparm_fields": AUDIT_FIELDS, "sysparm_limit": str(page_size)}
    for rows in client.pages("sys_audit", params):
        for row in rows:
            values, _ = split_row(row)
            at = parse_snow_time(values.get("sys_created_on"))
            field = CANONICAL.get(values.get("fieldname", ""))
            if at is None or field is None:
                continue
            old, new = values.get("oldvalue", ""), values.get("newvalue", "")
            if field == STATE:
                old, new = state_of(old), state_of(new)
            out.setdefault(values.get("documentkey", ""), []).append(Change(field, old, new, at))


def _history(record: RemoteRecord, changes: list[Change], read: bool, detected_field: str | None) -> History:
    f = record.fields
    return History(
        changes=tuple(changes),
        read=read,
        reassignments=_count(f.get("reassignment_count")),
        reopens=_count(f.get("reopen_count")),
        detected=_time(f.get(detected_field)) if detected_field else None,
        detected_field=detected_field,
    )


def _time(value: object) -> datetime | None:
    """The detected-at field's time; a value that is no ServiceNow time is none (counted apart)."""
    try:
        return parse_snow_time(None if value is None else str(value))
    except ValueError:
        return None


def _count(value: object) -> int | None:
    text = "" if value is None else str(value).strip()
    return int(text) if text.isdigit() else None
