"""`doctor`'s check of the field the assignment group goes to (`jira.group_field`).

A create sets only fields on the create screen (createmeta) and an edit only fields on the edit
screen (`GET issue/{key}/editmeta`): jira-platform-v3.openapi.json, "Create issue" and "Edit
issue". So the field must be on both, and each group mapped to Jira must be one of the values
the field allows (a component, a select option; a Team field's teams are not listed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from itsm_bridge.connectors.base import CheckResult
from itsm_bridge.connectors.jira.api import JiraApi
from itsm_bridge.connectors.jira.meta import CreateMeta
from itsm_bridge.connectors.jira.records import PLATFORM, jql_value

FIX = "put the field on the project's create and edit screens, or set jira.group_field to one that is"


def group_field_check(
    field: str,
    meta: CreateMeta,
    api: JiraApi,
    search: Callable[..., Iterator[dict[str, Any]]],
    project: str,
    groups: Mapping[str, str],
) -> CheckResult:
    """The group field on the create and edit screens, with every mapped group allowed in it."""
    found = meta.fields.get(field)
    if found is None:
        return CheckResult(PLATFORM, "group field", False, f"{field} is not on the create screen (createmeta)", FIX)
    sample = next(search(f"project = {jql_value(project)} ORDER BY updated DESC", page_size=1), None)
    if sample is not None:
        editable = (api.get(f"/issue/{sample['id']}/editmeta", ref=str(sample.get("key"))) or {}).get("fields") or {}
        if field not in editable:
            detail = f"{field} is not on the edit screen (editmeta of {sample.get('key')})"
            return CheckResult(PLATFORM, "group field", False, detail, FIX)
    # A Team field lists no allowed values in createmeta (teams live in Atlassian's Teams directory,
    # not in field options: team-field-in-jira-rest-api), so only its place on the screens is checked.
    allowed = set() if found.team else {a.casefold() for a in found.allowed}
    missing = sorted(f"{name}={value}" for name, value in groups.items() if allowed and value.casefold() not in allowed)
    if missing:
        fix = f"add them to {found.name} in Jira, or fix [taxonomy.groups] jira values"
        return CheckResult(PLATFORM, "group field", False, f"not allowed in {found.name}: {', '.join(missing)}", fix)
    where = "create and edit screens" if sample is not None else "create screen (no issue yet to read editmeta of)"
    return CheckResult(PLATFORM, "group field", True, f"{found.name} ({field}) is on the {where}")
