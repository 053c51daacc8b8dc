"""ServiceNow Table API imitation (`/api/now/table/{table}`), served over loopback by `serve()`.

What it keeps faithful, because the connector must cope with it:
- basic auth (user `itsm.bridge`), a bearer token, and OAuth client credentials (`/oauth_token.do`);
  the vendor's 401 and 404 bodies, and `{"error": {"message", "detail"}, "status": "failure"}`;
- encoded queries (`encoded_query`), where a condition on an unknown field is dropped and a value
  holding `^NQ` widens the query; `Link` (first, prev, next, last) and `X-Total-Count` paging;
- display values false | true | all, and reference fields as `{"link", "value"}` unless
  `sysparm_exclude_reference_link=true`;
- the incident rules of `store` (computed priority, write-only journal fields,
  `sys_mod_count`, a data policy answering 403 on resolve without resolution code and notes);
- hourly-style rate limit rules per user (`rate_limit`), answered 429 with `Retry-After` and the
  `X-RateLimit-*` headers; `hourly_rule` (requests per clock hour) is a rate limit rule as an
  instance has them: its headers on every Table API answer, a 429 until the top of the hour;
- the integration user's time zone (`user_timezone`) in display values of date-times, and what
  its ACLs let it read of sys_journal_field (`journal_access`: read, hidden rows, or denied 403)
  and of sys_audit (`audit_access`, the same), as `user` describes with sources.

Tables served: incident, sys_journal_field, sys_audit (state, assignee and group updates), sys_choice, and the reference tables sys_user,
sys_user_group, cmdb_ci, sys_user_role, sys_user_has_role. Another name answers 400 Invalid table.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from itsm_bridge.sandbox.core import HTTPFailure, Platform, Request, Response, basic_auth
from itsm_bridge.sandbox.local_time import zoned
from itsm_bridge.sandbox.servicenow import encoded_query
from itsm_bridge.sandbox.servicenow.encoded_query import Row
from itsm_bridge.sandbox.servicenow.schema import TIME_COLUMNS
from itsm_bridge.sandbox.servicenow.store import SnowStore, Table
from itsm_bridge.sandbox.servicenow.user import AclAccess, HourlyRule, rows_shown

USER = "itsm.bridge"
TABLE_PATHS = ("/api/now/table", "/api/now/v1/table", "/api/now/v2/table")
TOKEN_PATH = "/oauth_token.do"
DEFAULT_LIMIT = 10000
NOMINAL_HOURLY_LIMIT = 5000  # shown in X-RateLimit-Limit by an injected 429 when no rule is set
UNAUTHENTICATED = {
    "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
    "status": "failure",
}
NO_RECORD = {
    "error": {"message": "No Record found", "detail": "Record doesn't exist or ACL restricts the record retrieval"},
    "status": "failure",
}
CONTROL = frozenset(
    {
        "sysparm_query",
        "sysparm_limit",
        "sysparm_offset",
        "sysparm_fields",
        "sysparm_display_value",
        "sysparm_exclude_reference_link",
        "sysparm_no_count",
        "sysparm_suppress_pagination_header",
        "sysparm_view",
        "sysparm_query_category",
        "sysparm_query_no_domain",
    }
)


def _flag(req: Request, name: str) -> bool:
    return (req.arg(name) or "false").strip().lower() == "true"


def _int(req: Request, name: str, default: int, minimum: int) -> int:
    try:
        return max(minimum, int(req.arg(name) or default))
    except ValueError:
        return default


class ServiceNowPlatform(Platform):
    """One ServiceNow instance with the incident table and what the connector reads beside it."""

    name = "servicenow"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.seed = seed
        self.store = SnowStore(self.clock, seed)
        self.data_policy = True  # refuse resolve/close without resolution code and notes (403)
        self.rate_limit: tuple[int, float] | None = None  # (requests, window seconds) per user
        self.rate_limit_rule = hashlib.md5(f"rate-rule-{seed}".encode()).hexdigest()  # a sys_rate_limit_rules sys_id
        self.oauth_ttl_s = 1800
        self.hourly_rule: int | None = None  # requests per clock hour per user (a sys_rate_limit_rules rule)
        self.user_timezone = "UTC"  # the integration user's time zone: display values of date-times are in it
        self.journal_access: AclAccess = "read"  # what the user's ACLs let it read of sys_journal_field
        self.audit_access: AclAccess = "read"  # and of sys_audit
        self._hourly: HourlyRule | None = None
        self._oauth_tokens: dict[str, datetime] = {}
        self._selections: OrderedDict[tuple[str, str], tuple[int, list[Row]]] = OrderedDict()
        for prefix in TABLE_PATHS:
            self.route("GET", prefix + "/{table}", self._list)
            self.route("POST", prefix + "/{table}", self._create)
            self.route("GET", prefix + "/{table}/{sys_id}", self._get)
            self.route("PATCH", prefix + "/{table}/{sys_id}", self._update)
            self.route("PUT", prefix + "/{table}/{sys_id}", self._update)
            self.route("DELETE", prefix + "/{table}/{sys_id}", self._delete)
        self.route("POST", TOKEN_PATH, self._token)

    # --- credentials
    def credentials(self) -> dict[str, str]:
        return {
            "user": USER,
            "password": f"snow-sandbox-{self.seed}",
            "token": f"snow-token-{self.seed}",
            "client_id": f"snow-client-{self.seed}",
            "client_secret": f"snow-secret-{self.seed}",
        }

    def env(self) -> dict[str, str]:
        c = self.credentials()
        return {
            "ITSM_SANDBOX_SNOW_PASSWORD": c["password"],
            "ITSM_SANDBOX_SNOW_TOKEN": c["token"],
            "ITSM_SANDBOX_SNOW_CLIENT_ID": c["client_id"],
            "ITSM_SANDBOX_SNOW_CLIENT_SECRET": c["client_secret"],
        }

    def user_of(self, req: Request) -> str | None:
        """The authenticated user name, or None."""
        creds = self.credentials()
        auth = req.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            token = auth[7:].strip()
            expiry = self._oauth_tokens.get(token)
            ok = token == creds["token"] or (expiry is not None and self.clock.now() < expiry)
            return USER if ok else None
        return USER if basic_auth(req) == (USER, creds["password"]) else None

    def authenticate(self, req: Request) -> Response | None:
        if req.path == TOKEN_PATH or self.user_of(req) is not None:
            return None
        return Response(401, UNAUTHENTICATED, {"WWW-Authenticate": 'BASIC realm="Service-now"'})

    def _token(self, req: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(req.body.decode("utf-8"), keep_blank_values=True).items()}
        creds = self.credentials()
        if form.get("grant_type") != "client_credentials" or (form.get("client_id"), form.get("client_secret")) != (
            creds["client_id"],
            creds["client_secret"],
        ):
            return Response(401, {"error_description": "access_denied", "error": "server_error"})
        token = hashlib.sha256(f"{self.seed}-{len(self._oauth_tokens)}".encode()).hexdigest()
        self._oauth_tokens[token] = self.clock.now() + timedelta(seconds=self.oauth_ttl_s)
        return Response(
            200,
            {"access_token": token, "scope": "useraccount", "token_type": "Bearer", "expires_in": self.oauth_ttl_s - 1},
        )

    # --- vendor answers
    def error(self, status: int, message: str, detail: str = "") -> Response:
        return Response(status, {"error": {"message": message, "detail": detail}, "status": "failure"})

    def _rule(self, req: Request) -> HourlyRule | None:
        """The hourly rule this request matches (Table API requests, when one is set)."""
        if self.hourly_rule is None or not req.path.startswith(TABLE_PATHS):
            return None
        if self._hourly is None or self._hourly.limit != self.hourly_rule:
            self._hourly = HourlyRule(self.hourly_rule, self.rate_limit_rule)
        return self._hourly

    def dispatch(self, req: Request) -> Response:
        """Every answer matching the hourly rule carries its headers, refusals included."""
        rule = self._rule(req)
        try:
            resp = super().dispatch(req)
        except HTTPFailure as failure:
            if rule is not None:
                failure.response.headers.update(rule.headers(self.clock.now()))
            raise
        if rule is not None:
            resp.headers.update(rule.headers(self.clock.now()))
        return resp

    def rate_limited(self, req: Request, retry_after: str | None) -> Response | None:
        rule = self._rule(req)
        if rule is not None:
            wait = rule.admit(self.user_of(req) or "guest", self.clock.now())
            if wait is not None:
                return self.throttled_response(retry_after or wait)
        window_wait = self.over_limit(self.rate_limit, self.user_of(req) or "guest")
        return None if window_wait is None else self.throttled_response(retry_after or window_wait)

    def throttled_response(self, retry_after: str) -> Response:
        limit, window = (
            (self.hourly_rule, 3600.0) if self.hourly_rule else self.rate_limit or (NOMINAL_HOURLY_LIMIT, 3600.0)
        )
        per = "hour" if window == 3600 else f"{window:g} seconds"
        reset = int(self.clock.now().timestamp() + float(retry_after))
        headers = {
            "Retry-After": retry_after,
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Rule": self.rate_limit_rule,
        }
        detail = f"Rate limit of {limit} requests per {per} for Table API exceeded"
        return Response(
            429, {"error": {"message": "Rate limit exceeded", "detail": detail}, "status": "failure"}, headers
        )

    # --- handlers
    def _table(self, req: Request) -> Table:
        table = self.store.tables.get(req.params["table"])
        if table is None:
            raise HTTPFailure(self.error(400, f"Invalid table {req.params['table']}"))
        return table

    def _row(self, table: Table, sys_id: str) -> Row:
        row = table.rows.get(sys_id)
        if row is None:
            raise HTTPFailure(Response(404, NO_RECORD))
        return row

    def _body(self, req: Request) -> dict[str, Any]:
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise HTTPFailure(self.error(400, "Exception while reading request", "The payload is not valid JSON."))
        return body

    def _acl_access(self) -> dict[str, AclAccess]:
        """What the integration user's read ACLs let it see of the tables that have their own."""
        return {"sys_journal_field": self.journal_access, "sys_audit": self.audit_access}

    def _list(self, req: Request) -> Response:
        table = self._table(req)
        limit = _int(req, "sysparm_limit", DEFAULT_LIMIT, 1)
        offset = _int(req, "sysparm_offset", 0, 0)
        shown = rows_shown(table.defn.name, self._acl_access())
        rows = self.select(table, self._query_text(req))
        # a row-level read ACL hides the page: the limit applied first, the count still counts them
        page = rows[offset : offset + limit] if shown else []
        headers: dict[str, str] = {}
        no_count = _flag(req, "sysparm_no_count")
        if not no_count:
            headers["X-Total-Count"] = str(len(rows))
        if not _flag(req, "sysparm_suppress_pagination_header"):
            more = len(page) == limit if no_count else offset + len(page) < len(rows)
            headers["Link"] = self._links(req, offset, limit, None if no_count else len(rows), more)
        return Response(200, {"result": [self._render(req, table, row) for row in page]}, headers)

    def _query_text(self, req: Request) -> str:
        """`sysparm_query`, or the name=value pairs the Table API takes instead of it."""
        text = req.arg("sysparm_query")
        if text is not None:
            return text
        return "^".join(f"{k}={v[-1]}" for k, v in req.query.items() if k not in CONTROL)

    def select(self, table: Table, text: str) -> list[Row]:
        """The rows an encoded query selects, in its order; kept while the table is unchanged, so
        paging through a large result does not filter and sort it again for every page."""
        key = (table.defn.name, text)
        cached = self._selections.get(key)
        if cached is not None and cached[0] == table.version:
            self._selections.move_to_end(key)
            return cached[1]
        rows = encoded_query.run(
            list(table.rows.values()),
            text,
            lambda c: self.store.known(table, c),
            lambda c: self.store.getter(table, c),
            self.store.numeric,
        )
        self._selections[key] = (table.version, rows)
        while len(self._selections) > 8:
            self._selections.popitem(last=False)
        return rows

    def _links(self, req: Request, offset: int, limit: int, total: int | None, more: bool) -> str:
        base = self._base(req) + req.path
        params = {k: v[-1] for k, v in req.query.items()}

        def link(at: int, rel: str) -> str:
            return (
                f'<{base}?{urlencode({**params, "sysparm_offset": str(at), "sysparm_limit": str(limit)})}>;rel="{rel}"'
            )

        links = [link(0, "first")]
        if offset > 0:
            links.append(link(max(0, offset - limit), "prev"))
        if more:
            links.append(link(offset + limit, "next"))
        if total is not None:
            last = (
                offset + ((total - 1 - offset) // limit) * limit
                if total > offset
                else ((max(total, 1) - 1) // limit) * limit
            )
            links.append(link(last, "last"))
        return ",".join(links)

    def _base(self, req: Request) -> str:
        host = req.headers.get("host")
        return f"http://{host}" if host else self.base_url

    def _render(self, req: Request, table: Table, row: Row) -> dict[str, Any]:
        fields = [f.strip() for f in (req.arg("sysparm_fields") or "").split(",") if f.strip()]
        columns = [c for c in fields if self.store.known(table, c)] if fields else table.defn.columns
        display = (req.arg("sysparm_display_value") or "false").strip().lower()
        links = not _flag(req, "sysparm_exclude_reference_link")
        return {c: self._cell(req, table, row, c, display, links) for c in columns}

    def _cell(self, req: Request, table: Table, row: Row, column: str, display: str, links: bool) -> Any:
        value = self.store.getter(table, column)(row)
        target = table.defn.references.get(column)
        if display not in ("true", "all"):
            if target and links and value:
                return {"link": f"{self._base(req)}/api/now/table/{target}/{value}", "value": value}
            return value
        shown = self.store.display(table, row, column)
        if column in TIME_COLUMNS:
            shown = zoned(shown, self.user_timezone)  # the user's time zone (servicenow.user)
        if display == "true":
            if target and links and value:
                return {"display_value": shown, "link": f"{self._base(req)}/api/now/table/{target}/{value}"}
            return shown
        cell = {"display_value": shown, "value": value}
        if target and links and value:
            cell["link"] = f"{self._base(req)}/api/now/table/{target}/{value}"
        return cell

    def _get(self, req: Request) -> Response:
        table = self._table(req)
        if not rows_shown(table.defn.name, self._acl_access()):  # "...or ACL restricts the record retrieval"
            raise HTTPFailure(Response(404, NO_RECORD))  # (../shared/specs/servicenow-examples/table-record-404.json)
        return Response(200, {"result": self._render(req, table, self._row(table, req.params["sys_id"]))})

    def _create(self, req: Request) -> Response:
        table = self._table(req)
        body, user = self._body(req), self.user_of(req) or USER
        if table.defn.name == "incident":
            row = self.store.write_incident(None, body, user, data_policy=self.data_policy)
        else:
            row = self.store.insert(table.defn.name, body, user)
        location = f"{self._base(req)}/api/now/table/{table.defn.name}/{row['sys_id']}"
        return Response(201, {"result": self._render(req, table, row)}, {"Location": location})

    def _update(self, req: Request) -> Response:
        table = self._table(req)
        sys_id = req.params["sys_id"]
        self._row(table, sys_id)
        body, user = self._body(req), self.user_of(req) or USER
        if table.defn.name == "incident":
            row = self.store.write_incident(sys_id, body, user, data_policy=self.data_policy)
        else:
            row = self.store.update(table.defn.name, sys_id, body)
        return Response(200, {"result": self._render(req, table, row)})

    def _delete(self, req: Request) -> Response:
        table = self._table(req)
        self._row(table, req.params["sys_id"])
        self.store.delete(table.defn.name, req.params["sys_id"])
        return Response(204)

    # --- Python API for tests, seeding and benchmarks
    def insert_incident(
        self, fields: Mapping[str, Any], *, updated_on: datetime | None = None, created_by: str = "admin"
    ) -> dict[str, str]:
        """An incident stored as a POST would store it (number, priority, sys fields, journal), bar
        the data policy; `updated_on` sets its sys_updated_on (and creation time, when earlier)."""
        with self.lock:
            row = self.store.write_incident(None, fields, created_by, data_policy=False, at=updated_on)
            return self._values("incident", row)

    def update_incident(
        self, sys_id: str, fields: Mapping[str, Any], *, user: str = "admin", updated_on: datetime | None = None
    ) -> dict[str, str]:
        """The same rules as a PATCH (data policy included: HTTPFailure with the 403)."""
        with self.lock:
            if sys_id not in self.store.tables["incident"].rows:
                raise KeyError(f"no incident {sys_id}")
            row = self.store.write_incident(sys_id, fields, user, data_policy=self.data_policy, at=updated_on)
            return self._values("incident", row)

    def add_column(self, table_name: str, column: str, reference: str | None = None) -> None:
        """An admin adds a custom field to a table (a `u_` name, as the instance prefixes it), read
        and written like the others, a reference to users, groups or CIs when `reference` names
        them (https://www.servicenow.com/docs/r/platform-administration/t_CreatingNewFields.html)."""
        with self.lock:
            self.store.add_column(table_name, column, reference)

    def incident(self, sys_id: str) -> dict[str, str]:
        """Every column's value of one incident (KeyError when there is none)."""
        with self.lock:
            return self._values("incident", self.store.tables["incident"].rows[sys_id])

    def incidents(self) -> list[dict[str, str]]:
        with self.lock:
            return [self._values("incident", row) for row in self.store.rows("incident")]

    def journal(self, sys_id: str) -> list[dict[str, str]]:
        """The sys_journal_field rows of one incident, oldest first."""
        with self.lock:
            return [self._values("sys_journal_field", row) for row in self.store.journal(sys_id)]

    def add_reference(self, kind: str, display: str) -> str:
        """sys_id of the user (`sys_user`), group (`sys_user_group`) or CI (`cmdb_ci`) named `display`."""
        with self.lock:
            return self.store.add_reference(kind, display)

    def add_choice(self, element: str, value: str, label: str, dependent_value: str = "") -> dict[str, str]:
        with self.lock:
            return self._values("sys_choice", self.store.add_choice(element, value, label, dependent_value))

    @property
    def references(self) -> dict[str, str]:
        """sys_id -> display name of every user, group and CI."""
        with self.lock:
            return {
                sys_id: t.value(row, t.defn.display)
                for name in ("sys_user", "sys_user_group", "cmdb_ci")
                for t in [self.store.tables[name]]
                for sys_id, row in t.rows.items()
            }

    def _values(self, table_name: str, row: Row) -> dict[str, str]:
        table = self.store.tables[table_name]
        return {c: table.value(row, c) for c in table.defn.columns}  # journal columns are never stored: ""

    # --- state
    def reset(self) -> None:
        super().reset()
        self.store.reset()
        self._selections.clear()
        self._oauth_tokens.clear()
        self._hourly = None

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return self.store.to_state()

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            self.store.load_state(state)
            self._selections.clear()
