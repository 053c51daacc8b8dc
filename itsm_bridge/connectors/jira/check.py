"""`doctor` checks for Jira: credentials, project, issue type, required fields, statuses, priorities.

Sign-in and project are asked through python-jira (`SiteClient`), as its own client: its public
API, its own session with no retries and our timeout and TLS settings, its errors turned into ours
by status and message only (a `JIRAError`'s text carries the request headers, credentials
included). Statuses come from `GET project/{key}/statuses` (the workflow of each issue type),
priorities from the create screen's allowed values (createmeta, read for the issue type anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests
from jira import JIRA, JIRAError

from itsm_bridge.config_schema import JiraSettings
from itsm_bridge.connectors.base import CheckResult
from itsm_bridge.connectors.jira.api import JiraApi
from itsm_bridge.connectors.jira.group_check import group_field_check
from itsm_bridge.connectors.jira.meta import CreateMeta
from itsm_bridge.connectors.jira.records import PLATFORM, jql_value
from itsm_bridge.connectors.jira.transitions import Mover
from itsm_bridge.errors import AuthError, ConnectorError, Forbidden, NotFound, Unreachable
from itsm_bridge.model import RemoteRef


class SiteClient:
    """Who we are signed in as, and whether the project is visible: python-jira's `myself` and
    `project`, made when `doctor` asks (constructing the client reads `serverInfo`)."""

    def __init__(self, settings: JiraSettings, basic: tuple[str, str] | None, pat: str | None) -> None:
        self.settings, self._basic, self._pat = settings, basic, pat
        self._client: JIRA | None = None

    def _jira(self) -> JIRA:
        if self._client is None:
            self._client = self._call(
                lambda: JIRA(
                    self.settings.url,
                    options={"rest_api_version": "3", "verify": self.settings.ca_bundle or True},
                    basic_auth=self._basic,
                    token_auth=self._pat,
                    max_retries=0,
                    timeout=self.settings.timeout_s,
                )
            )
        return self._client

    def myself(self) -> dict[str, Any]:
        me: dict[str, Any] = self._call(lambda: self._jira().myself())
        return me

    def project(self, key: str) -> None:
        self._call(lambda: self._jira().project(key))

    def _call(self, call: Callable[[], Any]) -> Any:
        """`call`, with python-jira's and requests' errors as ours (never their text whole)."""
        url = self.settings.url
        try:
            return call()
        except JIRAError as exc:
            status = exc.status_code
            message = f"{url}: {exc.text or 'no message'}"
            kind = {401: AuthError, 403: Forbidden, 404: NotFound}.get(status or 0, ConnectorError)
            raise kind(message, platform=PLATFORM, status=status) from None
        except requests.RequestException as exc:
            raise Unreachable(f"{url} unreachable: {type(exc).__name__}", platform=PLATFORM) from None


def _result(check: str, ok: bool, detail: str = "", fix: str = "") -> CheckResult:
    return CheckResult(PLATFORM, check, ok, detail, fix if not ok else "")


class Doctor:
    """The `doctor` lines for one Jira site, from the collaborators they read."""

    def __init__(
        self,
        settings: JiraSettings,
        site: SiteClient,
        api: JiraApi,
        createmeta: Callable[[], CreateMeta],
        search: Callable[..., Iterator[dict[str, Any]]],
        mover: Mover,
        priorities: Mapping[str, str],
        groups: Mapping[str, str] | None = None,
    ) -> None:
        self.settings, self.site, self.api, self.createmeta = settings, site, api, createmeta
        self.search, self.mover, self.priorities = search, mover, priorities
        self.groups = groups or {}  # canonical group -> its Jira value

    def written_fields(self) -> set[str]:
        """Create fields the connector fills from the mapping."""
        s = self.settings
        return {
            "project",
            "issuetype",
            "summary",
            "description",
            "priority",
            "labels",
            "assignee",
            s.category_field,
            s.service_field,
            *([s.group_field] if s.group_field else []),
        }

    def run(self) -> list[CheckResult]:
        s = self.settings
        who = "the personal access token" if s.pat_env else f"{s.email} with the API token in ${s.token_env}"
        try:
            me = self.site.myself()
        except ConnectorError as exc:
            return [_result("credentials", False, str(exc), f"check that {who} is valid for {s.url}")]
        out = [
            _result("credentials", True, f"signed in as {me.get('displayName') or me.get('emailAddress') or 'user'}")
        ]
        try:
            self.site.project(s.project)
            out.append(_result("project", True, f"project {s.project} is visible"))
        except ConnectorError as exc:
            out.append(
                _result("project", False, str(exc), f"give the user browse and create permission in {s.project}")
            )
            return out
        try:
            meta = self.createmeta()
        except ConnectorError as exc:
            out.append(
                _result("issue type", False, str(exc), "set jira.issue_type to one of the project's issue types")
            )
            return out
        out.append(_result("issue type", True, f"{meta.issue_type_name} (id {meta.issue_type_id})"))
        unmapped = [f"{f.name} ({f.id})" for f in meta.required() if f.id not in self.written_fields()]
        out.append(
            _result(
                "required fields",
                not unmapped,
                "every required create field is mapped"
                if not unmapped
                else f"required but not mapped: {', '.join(unmapped)}",
                "give these fields a default in Jira, or map them (jira.category_field / service_field)",
            )
        )
        out.append(self._statuses())
        out.append(self._priorities(meta))
        if s.group_field:
            out.append(group_field_check(s.group_field, meta, self.api, self.search, s.project, self.groups))
        return out

    def _priorities(self, meta: CreateMeta) -> CheckResult:
        """Mapped priorities against those the create screen allows (from createmeta, already read:
        `GET /rest/api/3/priority` is deprecated, and the screen's list is what a create may set)."""
        field = meta.fields.get("priority")
        if field is None:
            return _result(
                "priorities",
                False,
                "the priority field is not on the create screen",
                "add Priority to the project's create screen, or map no priorities",
            )
        known = {name.casefold() for name in field.allowed}
        missing = [f"{k}={v}" for k, v in sorted(self.priorities.items()) if v.casefold() not in known]
        return _result(
            "priorities",
            not missing,
            "every mapped priority exists" if not missing else f"no such priority: {', '.join(missing)}",
            "fix [mapping.jira.priorities] to the site's priority names",
        )

    def _statuses(self) -> CheckResult:
        """Mapped statuses against the project's statuses, and the transitions learned from a sample issue."""
        s, workflow = self.settings, self.mover.workflow
        mapped = self.mover.state_map.vendor_values()
        seen: set[str] = set()
        try:
            for issue_type in self.api.get(f"/project/{s.project}/statuses"):
                if str(issue_type.get("name", "")).casefold() == s.issue_type.casefold():
                    seen |= {str(st.get("name", "")).casefold() for st in issue_type.get("statuses") or []}
        except NotFound:  # not offered by every deployment: every status of the site, then the workflow
            try:
                seen |= {str(st.get("name", "")).casefold() for st in self.api.get("/status")}
            except NotFound:
                pass
        jql = f"project = {jql_value(s.project)} ORDER BY updated DESC"
        authoritative = bool(seen)
        for issue in self.search(jql, page_size=1):
            ref = RemoteRef(PLATFORM, str(issue["id"]), str(issue.get("key") or ""))
            status = str(((issue.get("fields") or {}).get("status") or {}).get("name") or "")
            workflow.learn(status, self.mover.transitions_of(ref))
            break
        seen |= {name.casefold() for name in workflow.statuses()}
        missing = [v for v in mapped if v.casefold() not in seen]
        if not missing:
            return _result("statuses", True, "every mapped status is in the workflow")
        if not authoritative:  # only part of the workflow is visible from one issue
            return _result(
                "statuses", True, f"not verified (not seen from the transitions discovered): {', '.join(missing)}"
            )
        return _result(
            "statuses",
            False,
            f"not in the workflow: {', '.join(missing)}",
            "fix [mapping.jira.states] to the workflow's status names",
        )
