"""Jira issue history for the audit: status and assignee changes from the changelog.

`POST /rest/api/3/changelog/bulkfetch` (jira-platform-v3.openapi.json) gives the changelogs of up
to 1000 issues per request, filtered to the fields asked for, oldest first, paged by
`nextPageToken`: the cheapest documented read (the per-issue `GET issue/{id}/changelog` costs a
call per issue). Jira logs every change from creation on, so with the changelog read a value with
no change behind it was set at creation. Reopens are moves from a resolved or closed status back
to an open one; Jira holds no assignment group, so reassignments are not measured here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from itsm_bridge.connectors.jira.api import JiraApi
from itsm_bridge.connectors.jira.records import parse_time
from itsm_bridge.history import ASSIGNEE, STATE, Change, History
from itsm_bridge.model import State
from itsm_bridge.records import RemoteRecord

BATCH = 1000  # issues per request (BulkChangelogRequestBean.issueIdsOrKeys maxItems)
FIELDS = {"status": STATE, "assignee": ASSIGNEE}
FINISHED = {State.RESOLVED.value, State.CLOSED.value}
OPEN = {State.NEW.value, State.IN_PROGRESS.value, State.ON_HOLD.value}


def read_history(
    api: JiraApi, records: Sequence[RemoteRecord], state_of: Callable[[str], str], detected_field: str | None
) -> dict[str, History]:
    """History per issue id; `state_of` turns a status name into a canonical state name."""
    changes: dict[str, list[Change]] = {}
    ids = [r.ref.id for r in records]
    for at in range(0, len(ids), BATCH):
        body: dict[str, Any] = {"issueIdsOrKeys": ids[at : at + BATCH], "fieldIds": list(FIELDS), "maxResults": 1000}
        while True:
            page = api.changelogs(body)
            for log in page.get("issueChangeLogs") or []:
                out = changes.setdefault(str(log.get("issueId")), [])
                out += [c for h in log.get("changeHistories") or [] for c in _changes(h, state_of)]
            token = page.get("nextPageToken")
            if not token:
                break
            body = {**body, "nextPageToken": token}
    return {r.ref.id: _history(r, changes.get(r.ref.id, []), detected_field) for r in records}


def _changes(history: dict[str, Any], state_of: Callable[[str], str]) -> list[Change]:
    at = parse_time(history.get("created"))
    if at is None:
        return []
    out = []
    for item in history.get("items") or []:
        field = FIELDS.get(str(item.get("fieldId") or item.get("field")))
        if field == STATE:
            out.append(Change(STATE, state_of(item.get("fromString") or ""), state_of(item.get("toString") or ""), at))
        elif field == ASSIGNEE:
            out.append(Change(ASSIGNEE, item.get("from") or "", item.get("to") or "", at))
    return out


def _history(record: RemoteRecord, changes: list[Change], detected_field: str | None) -> History:
    reopens = sum(1 for c in changes if c.field == STATE and c.old in FINISHED and c.new in OPEN)
    raw = record.fields.get(detected_field) if detected_field else None
    return History(
        changes=tuple(changes),
        read=True,
        reopens=reopens,
        detected=_time(raw),
        detected_field=detected_field,
    )


def _time(value: Any) -> Any:
    """A date-time custom field's value; anything else is none (counted apart)."""
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None
