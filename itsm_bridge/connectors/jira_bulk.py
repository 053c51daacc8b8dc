"""Initial loads: `POST issue/bulk`, 50 issues per call, partial errors mapped back to their items.

A bulk answer lists the created issues in request order and the refused ones by element number.
Created issues are read back with one search per chunk (`reconcileIssues` makes it consistent).
A bulk call whose answer is lost may have created any of its issues, so each item is then looked
up by its correlation key (until the search lag has passed) before it is created on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itsm_bridge.connectors.base import RemoteRecord
from itsm_bridge.connectors.jira_meta import create_body
from itsm_bridge.connectors.jira_records import PLATFORM, jql_value
from itsm_bridge.errors import ConnectorError, RemoteValidation, Transient
from itsm_bridge.model import RemoteRef

if TYPE_CHECKING:
    from itsm_bridge.connectors.jira import JiraConnector

BULK_SIZE = 50  # Jira's limit per issue/bulk call
Result = RemoteRecord | ConnectorError


def create_many(conn: JiraConnector, items: list[tuple[dict[str, Any], str]]) -> list[Result]:
    results: list[Result | None] = [None] * len(items)
    for start in range(0, len(items), BULK_SIZE):
        _create_chunk(conn, items, list(range(start, min(start + BULK_SIZE, len(items)))), results)
    return [r if r is not None else ConnectorError("no result", platform=PLATFORM) for r in results]


def _create_chunk(conn: JiraConnector, items: list[tuple[dict[str, Any], str]], chunk: list[int],
                  results: list[Result | None]) -> None:  # fmt: skip
    sendable: list[int] = []
    bodies: list[dict[str, Any]] = []
    for i in chunk:
        fields, key = items[i]
        try:
            bodies.append(create_body(conn.createmeta(), conn.settings, fields, key))
            sendable.append(i)
        except RemoteValidation as exc:  # required fields empty: a Finding, nothing sent
            results[i] = exc
    if not bodies:
        return
    try:
        answer = conn.http.request("POST", "/rest/api/3/issue/bulk", json={"issueUpdates": bodies}, idempotent=False).json()
    except Transient:
        for i in sendable:
            fields, key = items[i]
            try:
                results[i] = conn.await_committed(key) or conn.create(fields, key)
            except ConnectorError as exc:
                results[i] = exc
        return
    failed = {int(err["failedElementNumber"]): _element_error(err) for err in answer.get("errors") or []}
    created = iter(answer.get("issues") or [])
    ids: dict[int, str] = {}
    for n, i in enumerate(sendable):
        if n in failed:
            results[i] = failed[n]
            continue
        ids[i] = str(next(created)["id"])
        conn.remember(items[i][1], ids[i])
    records = {r.ref.id: r for r in _read_ids(conn, list(ids.values()))}
    for i, issue_id in ids.items():
        results[i] = records.get(issue_id) or conn.get(RemoteRef(PLATFORM, issue_id))


def _element_error(err: dict[str, Any]) -> RemoteValidation:
    element = err.get("elementErrors") or {}
    errors = element.get("errors") or {}
    parts = list(element.get("errorMessages") or []) + [f"{k}: {v}" for k, v in errors.items()]
    return RemoteValidation("; ".join(parts) or "refused", fields=sorted(errors), platform=PLATFORM, status=err.get("status"))


def _read_ids(conn: JiraConnector, ids: list[str]) -> list[RemoteRecord]:
    if not ids:
        return []
    jql = f"project = {jql_value(conn.settings.project)} AND id in ({', '.join(ids)}) ORDER BY key ASC"
    return [conn.record(issue) for issue in conn.search(jql, reconcile=ids, page_size=len(ids))]
