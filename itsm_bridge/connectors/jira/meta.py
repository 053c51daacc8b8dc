"""Create metadata (issue type, required fields) and the bodies of Jira create and edit calls.

Required fields come from createmeta (`issue/createmeta/{project}/issuetypes[/{id}]`) and are
checked before any create: a required field left empty is a blocking Finding and no call is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from itsm_bridge import correlation
from itsm_bridge.config_schema import JiraSettings
from itsm_bridge.connectors.jira.adf import text_to_adf_within
from itsm_bridge.connectors.jira.api import JiraApi
from itsm_bridge.errors import NotFound, RemoteValidation
from itsm_bridge.findings import Finding

SUMMARY_MAX = 255
CUT_MARKER = "…"
NOT_EDITED = ("update", "resolution", "status")  # ops handled apart; resolution and status by transition
# The Atlassian Team field's schema type: create and edit set it with the team id as a plain string,
# reads give an object whose `id` is that team id.
# Source: https://developer.atlassian.com/platform/teams/components/team-field-in-jira-rest-api/
TEAM_TYPE = "com.atlassian.teams:rm-teams-custom-field-team"


@dataclass(frozen=True)
class FieldMeta:
    id: str
    name: str
    required: bool
    has_default: bool
    allowed: tuple[str, ...] = ()  # names / values of allowed options, when the field lists them
    cascading: bool = False  # a cascading select: an option may carry a child option
    team: bool = False  # the Atlassian Team field: its value is a team id (TEAM_TYPE)


@dataclass(frozen=True)
class CreateMeta:
    issue_type_id: str
    issue_type_name: str
    fields: dict[str, FieldMeta] = field(default_factory=dict)

    def required(self) -> list[FieldMeta]:
        """Fields a create must carry (required, with no default the server fills in)."""
        return [f for f in self.fields.values() if f.required and not f.has_default]


class MissingRequiredFields(RemoteValidation):
    """A create that would be refused: required fields empty. Carries one Finding per field."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        names = ", ".join(f.field for f in findings)
        super().__init__(f"required field(s) empty: {names}", fields=[f.field for f in findings], platform="jira")


def _pages(api: JiraApi, path: str, key: str) -> Iterator[dict[str, Any]]:
    start = 0
    while True:
        page = api.get(path, {"startAt": start, "maxResults": 50})
        values = page.get(key) or page.get("values") or []
        yield from values
        start += len(values)
        if not values or start >= int(page.get("total") or 0):
            return


def load_createmeta(api: JiraApi, project: str, issue_type: str) -> CreateMeta:
    """The configured issue type of `project` and its create fields."""
    types = list(_pages(api, f"/issue/createmeta/{project}/issuetypes", "issueTypes"))
    match = next((t for t in types if str(t.get("name", "")).casefold() == issue_type.casefold()), None)
    if match is None:
        names = ", ".join(str(t.get("name")) for t in types) or "none"
        raise NotFound(f"issue type {issue_type!r} not in project {project} (types: {names})", platform="jira")
    type_id = str(match["id"])
    fields: dict[str, FieldMeta] = {}
    for f in _pages(api, f"/issue/createmeta/{project}/issuetypes/{type_id}", "fields"):
        fid = str(f.get("fieldId") or f.get("key"))
        allowed = tuple(
            str(v.get("name") or v.get("value")) for v in f.get("allowedValues") or [] if isinstance(v, dict)
        )
        custom = str((f.get("schema") or {}).get("custom") or "")
        fields[fid] = FieldMeta(
            fid,
            str(f.get("name") or fid),
            bool(f.get("required")),
            bool(f.get("hasDefaultValue")),
            allowed,
            custom.endswith(":cascadingselect"),
            custom == TEAM_TYPE,
        )
    return CreateMeta(type_id, str(match.get("name")), fields)


def cut_summary(text: str) -> str:
    """One line of at most 255 characters, cut with a visible marker."""
    line = " ".join(str(text).splitlines()).strip()
    return line if len(line) <= SUMMARY_MAX else line[: SUMMARY_MAX - len(CUT_MARKER)] + CUT_MARKER


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def team_id(value: Any) -> Any:
    """A Team field takes the team id as a plain string, not an option (TEAM_TYPE's source)."""
    return value.get("value") if isinstance(value, dict) else value


def _convert(meta: CreateMeta | None, name: str, value: Any) -> Any:
    if name == "summary":
        return cut_summary(value or "")
    if name == "description":
        return text_to_adf_within(value) if isinstance(value, str) or value is None else value
    field_meta = meta.fields.get(name) if meta else None
    if field_meta is not None and field_meta.team:
        return team_id(value)
    if isinstance(value, dict) and "child" in value:
        if field_meta is None or not field_meta.cascading:  # a plain select takes no child option
            return {k: v for k, v in value.items() if k != "child"}
    return value


def create_body(meta: CreateMeta, settings: JiraSettings, fields: dict[str, Any], key: str) -> dict[str, Any]:
    """`POST issue` body: project, issue type, the mapped fields, the correlation label and
    property. Raises MissingRequiredFields (no call is made) when createmeta's required fields
    are left empty."""
    out: dict[str, Any] = {"project": {"key": settings.project}, "issuetype": {"id": meta.issue_type_id}}
    for name, value in fields.items():
        if name not in NOT_EDITED:
            out[name] = _convert(meta, name, value)
    ops = fields.get("update") or {}
    labels = [correlation.label_for(key), *(out.pop("labels", None) or [])]
    labels += [op["add"] for op in ops.get("labels", []) if "add" in op]
    out["labels"] = list(dict.fromkeys(labels))
    components = list(out.get("components") or []) + [op["add"] for op in ops.get("components", []) if "add" in op]
    if components:
        out["components"] = components
    missing = [f for f in meta.required() if _empty(out.get(f.id))]
    if missing:
        raise MissingRequiredFields(
            [
                Finding(
                    rule_id=f"required.create.{f.id}",
                    platform="jira",
                    field=f.id,
                    severity="block",
                    key=key,
                    message=f"cannot create in Jira project {settings.project}: {f.name} ({f.id}) is required by "
                    f"the {meta.issue_type_name} create screen and nothing maps to it",
                )
                for f in missing
            ]
        )
    return {"fields": out, "properties": [{"key": correlation.PROPERTY_KEY, "value": {"key": key}}]}


def edit_body(meta: CreateMeta | None, fields: dict[str, Any]) -> dict[str, Any]:
    """`PUT issue` body: only the given fields; list fields as add/remove operations. `meta` says
    which select fields are cascading (needed only when a value carries a child option)."""
    body: dict[str, Any] = {}
    edited = {name: _convert(meta, name, value) for name, value in fields.items() if name not in NOT_EDITED}
    if edited:
        body["fields"] = edited
    if fields.get("update"):
        body["update"] = fields["update"]
    return body
