"""`doctor` checks for Jira: credentials, project, issue type, required fields, statuses, priorities.

Statuses come from `GET project/{key}/statuses` (the workflow of each issue type), priorities from
the create screen's allowed values (createmeta, read for the issue type anyway)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsm_bridge.connectors.base import CheckResult
from itsm_bridge.connectors.jira_meta import CreateMeta
from itsm_bridge.connectors.jira_records import jql_value
from itsm_bridge.errors import ConnectorError, NotFound
from itsm_bridge.model import RemoteRef

if TYPE_CHECKING:
    from itsm_bridge.connectors.jira import JiraConnector

PLATFORM = "jira"
API = "/rest/api/3"


def _result(check: str, ok: bool, detail: str = "", fix: str = "") -> CheckResult:
    return CheckResult(PLATFORM, check, ok, detail, fix if not ok else "")


def written_fields(conn: JiraConnector) -> set[str]:
    """Create fields the connector fills from the mapping."""
    s = conn.settings
    return {"project", "issuetype", "summary", "description", "priority", "labels", s.category_field, s.service_field}


def run_checks(conn: JiraConnector) -> list[CheckResult]:
    s = conn.settings
    who = "the personal access token" if s.pat_env else f"{s.email} with the API token in ${s.token_env}"
    try:
        me = conn.client.myself()
    except ConnectorError as exc:
        return [_result("credentials", False, str(exc), f"check that {who} is valid for {s.url}")]
    out = [_result("credentials", True, f"signed in as {me.get('displayName') or me.get('emailAddress') or 'user'}")]
    try:
        conn.client.project(s.project)
        out.append(_result("project", True, f"project {s.project} is visible"))
    except ConnectorError as exc:
        out.append(_result("project", False, str(exc), f"give the user browse and create permission in {s.project}"))
        return out
    try:
        meta = conn.createmeta()
    except ConnectorError as exc:
        out.append(_result("issue type", False, str(exc), "set jira.issue_type to one of the project's issue types"))
        return out
    out.append(_result("issue type", True, f"{meta.issue_type_name} (id {meta.issue_type_id})"))
    unmapped = [f"{f.name} ({f.id})" for f in meta.required() if f.id not in written_fields(conn)]
    out.append(_result("required fields", not unmapped,
                       "every required create field is mapped" if not unmapped else f"required but not mapped: {', '.join(unmapped)}",
                       "give these fields a default in Jira, or map them (jira.category_field / service_field)"))  # fmt: skip
    out.append(_statuses(conn))
    out.append(_priorities(conn, meta))
    return out


def _priorities(conn: JiraConnector, meta: CreateMeta) -> CheckResult:
    """Mapped priorities against those the create screen allows (from createmeta, already read:
    `GET /rest/api/3/priority` is deprecated, and the screen's list is what a create may set)."""
    field = meta.fields.get("priority")
    if field is None:
        return _result("priorities", False, "the priority field is not on the create screen",
                       "add Priority to the project's create screen, or map no priorities")  # fmt: skip
    known = {name.casefold() for name in field.allowed}
    missing = [f"{k}={v}" for k, v in sorted(conn.priorities.items()) if v.casefold() not in known]
    return _result("priorities", not missing,
                   "every mapped priority exists" if not missing else f"no such priority: {', '.join(missing)}",
                   "fix [mapping.jira.priorities] to the site's priority names")  # fmt: skip


def _statuses(conn: JiraConnector) -> CheckResult:
    """Mapped statuses against the project's statuses, and the transitions learned from a sample issue."""
    s = conn.settings
    mapped = conn.state_map.vendor_values()
    seen: set[str] = set()
    try:
        for issue_type in conn.http.request("GET", f"{API}/project/{s.project}/statuses").json():
            if str(issue_type.get("name", "")).casefold() == s.issue_type.casefold():
                seen |= {str(st.get("name", "")).casefold() for st in issue_type.get("statuses") or []}
    except NotFound:  # not offered by every deployment: every status of the site, then the workflow
        try:
            seen |= {str(st.get("name", "")).casefold() for st in conn.http.request("GET", f"{API}/status").json()}
        except NotFound:
            pass
    jql = f"project = {jql_value(s.project)} ORDER BY updated DESC"
    authoritative = bool(seen)
    for issue in conn.search(jql, page_size=1):
        ref = RemoteRef(PLATFORM, str(issue["id"]), str(issue.get("key") or ""))
        status = str(((issue.get("fields") or {}).get("status") or {}).get("name") or "")
        conn.workflow.learn(status, conn.transitions_of(ref))
        break
    seen |= {name.casefold() for name in conn.workflow.statuses()}
    missing = [v for v in mapped if v.casefold() not in seen]
    if not missing:
        return _result("statuses", True, "every mapped status is in the workflow")
    if not authoritative:  # only part of the workflow is visible from one issue
        return _result("statuses", True, f"not verified (not seen from the transitions discovered): {', '.join(missing)}")
    return _result("statuses", False, f"not in the workflow: {', '.join(missing)}",
                   "fix [mapping.jira.states] to the workflow's status names")  # fmt: skip
