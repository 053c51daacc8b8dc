"""A small ServiceNow Table API client over the shared HTTP client (not pysnow; see README).

It knows the Table API's shapes only: one page of a list (with the query's total count), a list
paged by its `Link` header, get, create, patch, auth
(basic, bearer token, OAuth client credentials with one refresh on 401), and how ServiceNow's
errors differ from the shared classifier (a data-policy 403 is a refused record, not a
permission problem; 401/403 name the instance and the user, never the secret).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from itsm_bridge.connectors.base import CheckResult
from itsm_bridge.connectors.servicenow.query import Query
from itsm_bridge.errors import AuthError, ConnectorError, Forbidden, NotFound, RemoteValidation, Unreachable
from itsm_bridge.http import HttpClient, classify_response, error_message
from itsm_bridge.log import register_secret

log = logging.getLogger("itsm_bridge.servicenow")

PLATFORM = "servicenow"
TABLE = "/api/now/table"
TOKEN_PATH = "/oauth_token.do"
JOURNAL_FIELDS = frozenset({"work_notes", "comments"})

# ServiceNow's data policy names fields by label; the columns we write under those labels.
FIELD_LABELS: dict[str, str] = {
    "resolution code": "close_code",
    "resolution notes": "close_notes",
    "close code": "close_code",
    "close notes": "close_notes",
    "short description": "short_description",
    "category": "category",
    "subcategory": "subcategory",
    "assignment group": "assignment_group",
    "configuration item": "cmdb_ci",
    "caller": "caller_id",
}
_MANDATORY = re.compile(r"following fields are mandatory:\s*(?P<labels>[^.\n]+)", re.IGNORECASE)


def mandatory_fields(message: str) -> list[str] | None:
    """Columns a data-policy message says are mandatory, or None when it is not such a message."""
    m = _MANDATORY.search(message)
    if not m:
        return None
    labels = [label.strip() for label in m.group("labels").split(",") if label.strip()]
    return [FIELD_LABELS.get(label.casefold(), label) for label in labels]


def _policy_fields(resp: requests.Response) -> list[str] | None:
    """Mandatory columns named by a data-policy error. The label list comes in `message` or in
    `detail`; each is read on its own, since joined the other part runs on after the last label
    with no full stop between ("...: Resolution notes Operation against file ...")."""
    try:
        body: Any = resp.json()
    except ValueError:
        return mandatory_fields(error_message(resp))
    err = body.get("error") if isinstance(body, dict) else None
    parts = [err.get("message"), err.get("detail")] if isinstance(err, dict) else [error_message(resp)]
    for part in parts:
        fields = mandatory_fields(str(part or ""))
        if fields is not None:
            return fields
    return None


@dataclass
class Auth:
    """How requests are signed. `who` names the principal in messages (never the secret)."""

    kind: str  # "basic" | "token" | "oauth"
    who: str
    user: str | None = None
    password: str | None = None
    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    expires_at: float = 0.0

    @property
    def refreshable(self) -> bool:
        return self.kind == "oauth"


def make_classifier(instance: str, who: str) -> Callable[[str, requests.Response, str | None], ConnectorError | None]:
    """The shared classifier, with ServiceNow's differences: data-policy 403s, and auth messages
    naming the instance and principal."""

    def classify(platform: str, resp: requests.Response, ref: str | None = None) -> ConnectorError | None:
        error = classify_response(platform, resp, ref)
        if error is None or resp.status_code not in (400, 401, 403):
            return error
        msg = error_message(resp)
        fields = _policy_fields(resp)
        kw: dict[str, Any] = {"platform": platform, "ref": ref, "status": resp.status_code}
        if fields is not None:
            return RemoteValidation(f"refused by data policy: {msg}", fields=fields, **kw)
        if resp.status_code == 401:
            return AuthError(f"{instance} refused the credentials of {who}: {msg}", **kw)
        if resp.status_code == 403:
            return Forbidden(f"{instance} denied {who} access: {msg}", **kw)
        return error

    return classify


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, and `X-Total-Count` (what the query matched) when sent."""

    rows: list[dict[str, Any]]
    total: int | None

    def more(self, limit: int) -> bool:
        """Whether rows remain after this page (asked with `limit`, no offset): its query matched
        more than one page, or, without the count, the page was full. A short page is not the end
        when the count says otherwise: the limit applies before ACL evaluation, so rows the user
        may not read leave a page short."""
        return self.total > limit if self.total is not None else len(self.rows) >= limit


class TableClient:
    """Table API calls; every response body is `{"result": ...}`."""

    def __init__(self, http: HttpClient, auth: Auth, clock: Callable[[], float] = time.time) -> None:
        self.http = http
        self.auth = auth
        self._clock = clock
        if auth.kind == "basic":
            http.session.auth = (auth.user or "", auth.password or "")

    # --- auth
    def _auth_headers(self) -> dict[str, str]:
        if self.auth.kind == "token":
            return {"Authorization": f"Bearer {self.auth.token}"}
        if self.auth.kind == "oauth":
            if not self.auth.token or self._clock() >= self.auth.expires_at:
                self.refresh_token()
            return {"Authorization": f"Bearer {self.auth.token}"}
        return {}

    def refresh_token(self) -> None:
        """Client-credentials grant; the token is cached until shortly before it expires."""
        resp = self.http.request(
            "POST",
            TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": self.auth.client_id or "",
                "client_secret": self.auth.client_secret or "",
            },
            idempotent=True,  # asking for a token twice is harmless
        )
        body = resp.json()
        for issued in ("access_token", "refresh_token"):  # credentials too: never in any output
            if body.get(issued):
                register_secret(str(body[issued]))
        self.auth.token = str(body["access_token"])
        self.auth.expires_at = self._clock() + max(0.0, float(body.get("expires_in", 1800)) - 30.0)

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        """One call, signed; an OAuth token refused with 401 is renewed and the call sent once more."""
        try:
            return self.http.request(method, path, headers=self._auth_headers(), **kw)
        except AuthError:
            if not self.auth.refreshable:
                raise
            log.info("servicenow: OAuth token refused; requesting a new one")
            self.refresh_token()
            return self.http.request(method, path, headers=self._auth_headers(), **kw)

    # --- Table API
    def page(self, table: str, params: Mapping[str, Any]) -> Page:
        """One GET of a list; no link is followed (the caller says where the next page starts)."""
        resp = self.request("GET", f"{TABLE}/{table}", params=params)
        return Page(resp.json().get("result") or [], _total(resp))

    def pages(
        self, table: str, params: Mapping[str, Any], counted: list[int] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list, following `Link: <...>; rel="next"` until there is none; the first
        answer's `X-Total-Count` goes into `counted` when given."""
        url: str | None = f"{TABLE}/{table}"
        query: Mapping[str, Any] | None = params
        while url:
            resp = self.request("GET", url, params=query)
            total = _total(resp)
            if counted is not None and query is not None and total is not None:
                counted.append(total)
            rows = resp.json().get("result") or []
            if not rows:
                return
            yield rows
            url = self._next_url(resp)
            query = None  # the next link carries the whole query

    def _next_url(self, resp: requests.Response) -> str | None:
        nxt = resp.links.get("next", {}).get("url")
        if not nxt:
            return None
        if not nxt.startswith(self.http.base_url + "/"):
            # Credentials go to the configured instance only, whatever a header says.
            raise ConnectorError(
                f"refusing to follow a next-page link off {self.http.base_url}: {nxt}", platform=PLATFORM
            )
        return nxt

    def get(self, table: str, sys_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        resp = self.request("GET", f"{TABLE}/{table}/{sys_id}", params=params, ref=sys_id)
        result: dict[str, Any] = resp.json()["result"]
        return result

    def create(self, table: str, body: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        """POST once; the caller decides what a lost answer means (look up before sending again)."""
        resp = self.request("POST", f"{TABLE}/{table}", params=params, json=dict(body), idempotent=False)
        result: dict[str, Any] = resp.json()["result"]
        return result

    def patch(self, table: str, sys_id: str, body: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        """A PATCH of plain fields is idempotent and retried where safe; one carrying a journal
        field is not (a resent note is a second note), unless ServiceNow said it did not process it."""
        idempotent = not (JOURNAL_FIELDS & body.keys())
        resp = self.request(
            "PATCH", f"{TABLE}/{table}/{sys_id}", params=params, json=dict(body), ref=sys_id, idempotent=idempotent
        )
        result: dict[str, Any] = resp.json()["result"]
        return result


def _total(resp: requests.Response) -> int | None:
    """The answer's `X-Total-Count` (what the query matched), when it carries one."""
    total = resp.headers.get("X-Total-Count", "").strip()
    return int(total) if total.isdigit() else None


# --- doctor
WRITE_ROLES = ("itil", "sn_incident_write", "admin")


def check_instance(
    client: TableClient, instance: str, expected: Mapping[str, set[tuple[str, str]]]
) -> list[CheckResult]:
    """`doctor` lines: reachable, credentials accepted, incident readable and writable, and every
    expected (value, depends-on value) of each sys_choice element present on incident."""
    auth = client.auth

    def line(check: str, ok: bool, detail: str = "", fix: str = "") -> CheckResult:
        return CheckResult(PLATFORM, check, ok, detail, fix)

    try:
        client.request("GET", f"{TABLE}/incident", params={"sysparm_limit": "1", "sysparm_fields": "sys_id"})
    except Unreachable as exc:
        return [line("reachable", False, str(exc), f"check servicenow.url ({instance}), DNS, proxy and ca_bundle")]
    except AuthError as exc:
        return [
            line("reachable", True, instance),
            line("credentials", False, str(exc), f"check the credentials of {auth.who}"),
        ]
    except Forbidden as exc:
        return [
            line("reachable", True, instance),
            line("credentials", True, auth.who),
            line("read incident", False, str(exc), "grant the itil role (or an ACL to read incident)"),
        ]
    except ConnectorError as exc:
        return [line("reachable", False, str(exc), "retry later; the instance answered with an error")]
    out = [line("reachable", True, instance), line("credentials", True, auth.who), line("read incident", True)]
    out.append(_write_check(client, line))
    out.append(_journal_check(client, line))
    out.append(_history_check(client))
    out += _choice_checks(client, expected, line)
    return out


def _journal_check(client: TableClient, line: Callable[..., CheckResult]) -> CheckResult:
    """Notes come from sys_journal_field, which a read ACL may deny (403) or hide row by row (200
    with the rows left out: the limit and `X-Total-Count` apply before ACL evaluation, c_TableAPI.md
    sysparm_limit). Either way notes would silently never sync."""
    query = Query().where("name", "=", "incident").where("element", "IN", sorted(JOURNAL_FIELDS))
    fix = f"grant {client.auth.who} read on sys_journal_field (an ACL, or the itil role)"
    problem, shown = _acl_read(client, "sys_journal_field", query, "incident note(s)")
    if problem is None:
        return line("read notes", True, shown)
    return line("read notes", False, f"{problem}, so work notes and comments would never sync", fix)


def _history_check(client: TableClient) -> CheckResult:
    """The audit reads state, assignee and group changes from sys_audit, which has read ACLs of its
    own (as sys_journal_field has). Sync does not need it, so a refusal is a warning: the audit
    then measures acknowledgement from notes and resolves only (`servicenow/history.py`)."""
    query = Query().where("tablename", "=", "incident")
    problem, shown = _acl_read(client, "sys_audit", query, "incident change(s)")
    if problem is None:
        return CheckResult(PLATFORM, "read history", True, shown)
    return CheckResult(
        PLATFORM,
        "read history",
        True,
        f"{problem}: the audit would measure acknowledgement from notes and resolves only",
        f"grant {client.auth.who} read on sys_audit (an ACL) for the audit's acknowledgement and reassignment figures",
        warning=True,
    )


def _acl_read(client: TableClient, table: str, query: Query, rows: str) -> tuple[str | None, str]:
    """Why the user cannot read `table`'s `rows` matching `query` (None when it can), and what it
    read: a read ACL denies the table (403, or 404 on a row), or hides rows one by one (200 with
    them left out: the limit and `X-Total-Count` apply before ACL evaluation, c_TableAPI.md
    sysparm_limit)."""
    params = {"sysparm_query": query.encode(), "sysparm_fields": "sys_id", "sysparm_limit": "20"}
    try:
        page = client.page(table, params)
    except (NotFound, Forbidden) as exc:
        return f"cannot read {table}: {exc}", ""
    if not page.total:
        return None, f"{table} readable (no {rows} yet to check the ACLs against)"
    wanted = min(page.total, 20)
    if len(page.rows) < wanted:
        shown = f"{len(page.rows)} of the first {wanted}"
        return f"{table} holds {page.total} {rows} but showed {client.auth.who} {shown}: a read ACL hides them", ""
    return None, f"{table} readable ({page.total} {rows})"


def _write_check(client: TableClient, line: Callable[..., CheckResult]) -> CheckResult:
    """ServiceNow has no dry-run write: the user's roles are checked, not a write."""
    user = client.auth.user
    if client.auth.kind != "basic" or not user:
        return line(
            "write incident",
            True,
            f"not verified: {client.auth.who} has no user name to look roles up by; the first write proves it",
        )
    query = Query().where("user.user_name", "=", user).where("role.name", "IN", list(WRITE_ROLES))
    try:
        resp = client.request(
            "GET",
            f"{TABLE}/sys_user_has_role",
            params={"sysparm_query": query.encode(), "sysparm_fields": "sys_id", "sysparm_limit": "1"},
        )
    except (NotFound, Forbidden) as exc:
        return line(
            "write incident", True, f"not verified: cannot read sys_user_has_role ({exc}); the first write proves it"
        )
    if resp.json().get("result"):
        return line(
            "write incident",
            True,
            f"{user} holds one of the roles {', '.join(WRITE_ROLES)} (roles checked, no write made)",
        )
    return line(
        "write incident",
        False,
        f"{user} holds none of the roles {', '.join(WRITE_ROLES)}",
        f"grant {user} the itil role",
    )


def _choice_checks(
    client: TableClient, expected: Mapping[str, set[tuple[str, str]]], line: Callable[..., CheckResult]
) -> list[CheckResult]:
    query = (
        Query().where("name", "=", "incident").where("element", "IN", sorted(expected)).where("inactive", "=", "false")
    )
    params = {
        "sysparm_query": query.encode(),
        "sysparm_fields": "element,value,dependent_value",
        "sysparm_limit": "1000",
    }
    present: dict[str, set[tuple[str, str]]] = {e: set() for e in expected}
    try:
        for rows in client.pages("sys_choice", params):
            for row in rows:
                present.setdefault(str(row.get("element")), set()).add(
                    (str(row.get("value") or ""), str(row.get("dependent_value") or ""))
                )
    except (NotFound, Forbidden) as exc:
        return [
            line("choices", False, f"cannot read sys_choice: {exc}", "grant read on sys_choice to check mapped values")
        ]
    out = []
    for element, wanted in sorted(expected.items()):
        have = present.get(element, set())
        missing = sorted(v for v, dep in wanted if (v, dep) not in have and (v, "") not in have)
        if missing:
            out.append(
                line(
                    f"choices {element}",
                    False,
                    f"missing on incident.{element}: {', '.join(missing)}",
                    f"add these {element} choices in ServiceNow or fix the taxonomy in the config",
                )
            )
        else:
            out.append(line(f"choices {element}", True, f"all {len(wanted)} mapped value(s) present"))
    return out
