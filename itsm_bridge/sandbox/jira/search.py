"""`search/jql` and `search/approximate-count` of the Jira sandbox (a mixin of `JiraPlatform`).

A search runs once, on its first page: the ordered records (as the lagging index saw them, or
fresh for `reconcileIssues`) are kept under an opaque `nextPageToken` for the following pages, so
a paging client sees each issue once even while issues change.
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from typing import Any

from itsm_bridge.sandbox.core import Clock, HTTPFailure, Request, Response
from itsm_bridge.sandbox.jira import issue_properties, jql
from itsm_bridge.sandbox.jira.parts import JiraParts
from itsm_bridge.sandbox.jira.store import FieldErrors, Record
from itsm_bridge.sandbox.jira.views import field_list

SEARCH_KEYS = {
    "jql",
    "nextPageToken",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "reconcileIssues",
    "failFast",
}
KEPT_SEARCHES = 32


class SearchRoutes(JiraParts):
    """Handlers for the search endpoints; expects the attributes `JiraPlatform` has."""

    clock: Clock
    _pages: OrderedDict[str, list[Record]]
    _searches: int

    def _search_params(self, req: Request) -> dict[str, Any]:
        if req.method == "GET":
            reconcile = [int(v) for raw in req.query.get("reconcileIssues", []) for v in raw.split(",") if v]
            return {
                "jql": req.arg("jql"),
                "nextPageToken": req.arg("nextPageToken"),
                "maxResults": req.arg("maxResults"),
                "fields": req.query.get("fields"),
                "properties": req.query.get("properties"),
                "reconcileIssues": reconcile,
            }
        body = self._body(req)
        if not isinstance(body, dict):
            raise HTTPFailure(self.error(400, "The request body must be an object."))
        for name, value in body.items():
            if name not in SEARCH_KEYS:
                raise HTTPFailure(self.error(400, f'Unrecognized field "{name}", not marked as ignorable.'))
            expected = {
                "jql": str,
                "nextPageToken": str,
                "expand": str,
                "maxResults": int,
                "fields": list,
                "properties": list,
                "reconcileIssues": list,
                "fieldsByKeys": bool,
                "failFast": bool,
            }[name]
            if value is not None and (not isinstance(value, expected) or isinstance(value, bool) != (expected is bool)):
                raise HTTPFailure(self.error(400, f"Field '{name}' has an invalid type."))
        return body

    def _query(self, text: str | None) -> jql.Query:
        try:
            query = jql.parse(text or "", now=self.clock.now())
        except jql.JQLError as exc:
            message = str(exc)
            prefixed = message if message.startswith("Field '") else f"Error in the JQL Query: {message}"
            raise HTTPFailure(self.error(400, prefixed)) from None
        if query.predicate is None:
            raise HTTPFailure(
                self.error(
                    400, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
                )
            )
        known = {
            "project": {self.config.project_key.casefold(), self.config.project_id},
            "status": {s.name.casefold() for s in self.workflow.statuses} | {s.id for s in self.workflow.statuses},
        }
        for name, values in query.clauses:
            for value in values:
                if name in known and value.casefold() not in known[name]:
                    raise HTTPFailure(self.error(400, f"The value '{value}' does not exist for the field '{name}'."))
        return query

    def _search(self, req: Request) -> Response:
        params = self._search_params(req)
        reconcile = params.get("reconcileIssues") or []
        if len(reconcile) > 50:
            return self.error(400, "The number of issues to reconcile cannot exceed 50.")
        wanted = field_list(params.get("fields"), ["id"])
        cap = 5000 if set(wanted) <= {"id", "key"} else 100
        limit = min(cap, max(1, int(params.get("maxResults") or 50)))
        records, offset = self._page_source(params, {int(i) for i in reconcile})
        page = records[offset : offset + limit]
        try:
            props = issue_properties.requested(field_list(params.get("properties"), []))
        except FieldErrors as err:
            return self.error(400, "; ".join(err.messages))
        issues = [self.views.issue(self.store.by_id[r["id"]], r, wanted, params.get("expand"), props) for r in page]
        answer: dict[str, Any] = {"issues": issues, "isLast": offset + limit >= len(records)}
        if not answer["isLast"]:
            answer["nextPageToken"] = self._token(params["_search_id"], offset + limit)
        return Response(200, answer)

    def _page_source(self, params: dict[str, Any], reconcile: set[int]) -> tuple[list[Record], int]:
        """The ordered result of this search, computed once and kept for its next pages."""
        token = params.get("nextPageToken")
        if token:
            try:
                search_id, offset = json.loads(base64.urlsafe_b64decode(token.encode() + b"==").decode())
            except ValueError:
                raise HTTPFailure(self.error(400, "The nextPageToken is invalid.")) from None
            if search_id in self._pages:
                params["_search_id"] = search_id
                return self._pages[search_id], int(offset)
        else:
            offset = 0
        records = self.store.search(self._query(params.get("jql")), reconcile)
        self._searches += 1
        params["_search_id"] = f"s{self._searches}"
        self._pages[params["_search_id"]] = records
        while len(self._pages) > 32:
            self._pages.popitem(last=False)
        return records, int(offset)

    @staticmethod
    def _token(search_id: str, offset: int) -> str:
        return base64.urlsafe_b64encode(json.dumps([search_id, offset]).encode()).decode().rstrip("=")

    def _count(self, req: Request) -> Response:
        body = self._body(req)
        return Response(200, {"count": len(self.store.search(self._query((body or {}).get("jql")), set()))})
