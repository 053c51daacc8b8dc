"""The Jira sandbox's configuration: fields, priorities, project, issue types, users, workflow.

Everything here is data a Jira admin would configure; `JiraPlatform` holds one `JiraConfig` and
keeps it across `reset()`. Rendering helpers turn these into Jira Cloud REST v3 JSON shapes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from itsm_bridge.sandbox.people import EMAILS, HIDDEN_IN_JIRA
from itsm_bridge.sandbox.vocabulary import CATEGORIES, MAPPED_GROUPS, PEOPLE, SERVICES, UNMAPPED_SERVICE

API_EMAIL = "itsm-bridge@example.com"
CATEGORY_FIELD = "customfield_10050"
SERVICE_FIELD = "customfield_10051"
GROUP_FIELD = "customfield_10052"  # a single select holding the assignment group
# The Atlassian Team field (a site's id for it varies; Jira Cloud sites often have 10001). Create and
# edit take the team id as a plain string; reads give the team object. Off the screens unless a test
# puts it there (`JiraConfig.use_team_field`). Source:
# https://developer.atlassian.com/platform/teams/components/team-field-in-jira-rest-api/
TEAM_FIELD = "customfield_10001"
TEAM_TYPE = "com.atlassian.teams:rm-teams-custom-field-team"

# category key -> (id, name, colorName), as Jira Cloud numbers them.
STATUS_CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
PRIORITIES: list[tuple[str, str]] = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]
RESOLUTIONS: list[tuple[str, str]] = [
    ("10000", "Done"),
    ("10001", "Won't Do"),
    ("10002", "Duplicate"),
    ("10003", "Cannot Reproduce"),
]
ISSUE_TYPES: list[tuple[str, str]] = [("10001", "[System] Incident"), ("10002", "Task")]
COMPONENTS: list[tuple[str, str]] = [
    ("10100", "Database"),
    ("10101", "Network"),
    ("10102", "Email"),
    ("10103", "Storage"),
    ("10104", "Web"),
    ("10105", "Identity"),
    ("10106", "Payments"),
]

# field id -> (name, schema, clause names); the create/edit screens use a subset of these.
FIELDS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "summary": ("Summary", {"type": "string", "system": "summary"}, ["summary"]),
    "description": ("Description", {"type": "string", "system": "description"}, ["description"]),
    "issuetype": ("Issue Type", {"type": "issuetype", "system": "issuetype"}, ["issuetype", "type"]),
    "project": ("Project", {"type": "project", "system": "project"}, ["project"]),
    "priority": ("Priority", {"type": "priority", "system": "priority"}, ["priority"]),
    "status": ("Status", {"type": "status", "system": "status"}, ["status"]),
    "resolution": ("Resolution", {"type": "resolution", "system": "resolution"}, ["resolution"]),
    "resolutiondate": ("Resolved", {"type": "datetime", "system": "resolutiondate"}, ["resolutiondate", "resolved"]),
    "labels": ("Labels", {"type": "array", "items": "string", "system": "labels"}, ["labels"]),
    "components": ("Components", {"type": "array", "items": "component", "system": "components"}, ["component"]),
    "created": ("Created", {"type": "datetime", "system": "created"}, ["created", "createdDate"]),
    "updated": ("Updated", {"type": "datetime", "system": "updated"}, ["updated", "updatedDate"]),
    "reporter": ("Reporter", {"type": "user", "system": "reporter"}, ["reporter"]),
    "assignee": ("Assignee", {"type": "user", "system": "assignee"}, ["assignee"]),
    "comment": ("Comment", {"type": "comments-page", "system": "comment"}, ["comment"]),
    CATEGORY_FIELD: (
        "Incident category",
        {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10050},
        ["cf[10050]", "Incident category"],
    ),
    SERVICE_FIELD: (
        "Affected service",
        {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10051},
        ["cf[10051]", "Affected service"],
    ),
    TEAM_FIELD: ("Team", {"type": "team", "custom": TEAM_TYPE, "customId": 10001}, ["cf[10001]", "Team"]),
    GROUP_FIELD: (
        "Assignment group",
        {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10052},
        ["cf[10052]", "Assignment group"],
    ),
}
# The create screen never holds `comment` (a create refuses it, in `fields` or `update`); the edit
# screen does (`update.comment[].add` on PUT issue). Source: the POST issue and POST issue/bulk
# descriptions in tests/specs/jira-platform-v3.openapi.json ("the fields that can be set ... are
# the same fields that appear on the issue's create screen") and GET issue/{key}/editmeta.
CREATE_SCREEN = (
    "summary",
    "issuetype",
    "project",
    "description",
    "priority",
    "labels",
    "components",
    CATEGORY_FIELD,
    SERVICE_FIELD,
    GROUP_FIELD,
    "reporter",
    "assignee",
)
EDIT_SCREEN = (
    "summary",
    "description",
    "priority",
    "labels",
    "components",
    CATEGORY_FIELD,
    SERVICE_FIELD,
    GROUP_FIELD,
    "reporter",
    "assignee",
    "issuetype",
    "comment",
)
# Jira refuses a description or comment longer than this (measured here on the ADF document as
# sent, the strictest reading): "The entered text is too long. It exceeds the allowed limit of
# 32,767 characters." Sources: https://jira.atlassian.com/browse/JRACLOUD-59124,
# https://github.com/mozilla/jira-bugzilla-integration/issues/180 (the answer, keyed by field).
TEXT_LIMIT = 32767
TEXT_TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
READ_ONLY = ("status", "resolution", "resolutiondate", "created", "updated", "comment")


def team_id(name: str) -> str:
    """A stable team id (Atlassian team ids are UUIDs) for a team name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-team:{name}"))


def account_id(name: str) -> str:
    """A stable Atlassian-looking account id for a display name."""
    return "5b10" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str  # key of STATUS_CATEGORIES


@dataclass(frozen=True)
class Transition:
    """A workflow transition; empty `sources` makes it global (available from every status)."""

    id: str
    name: str
    to: str
    sources: tuple[str, ...] = ()
    screen: tuple[str, ...] = ()  # fields the transition screen takes
    required: tuple[str, ...] = ()  # of those, the ones the screen requires


@dataclass
class Workflow:
    """Statuses and transitions of the project's workflow; `initial` is where issues start."""

    statuses: list[Status]
    transitions: list[Transition]
    initial: str = "Open"

    def status(self, name: str) -> Status | None:
        folded = name.casefold()
        return next((s for s in self.statuses if s.name.casefold() == folded or s.id == name), None)

    def available(self, status: str) -> list[Transition]:
        folded = status.casefold()
        return [t for t in self.transitions if not t.sources or any(s.casefold() == folded for s in t.sources)]


def itsm_workflow() -> Workflow:
    """Open -> Work in progress -> Pending / Resolved -> Closed, plus Cancel; Resolve needs a resolution."""
    return Workflow(
        statuses=[
            Status("1", "Open", "new"),
            Status("10002", "Work in progress", "indeterminate"),
            Status("10003", "Pending", "indeterminate"),
            Status("5", "Resolved", "done"),
            Status("6", "Closed", "done"),
            Status("10004", "Canceled", "done"),
        ],
        transitions=[
            Transition("11", "Start work", "Work in progress", ("Open",)),
            Transition("21", "Pend", "Pending", ("Work in progress",)),
            Transition("31", "Resume", "Work in progress", ("Pending",)),
            Transition("41", "Resolve", "Resolved", ("Work in progress",), ("resolution",), ("resolution",)),
            Transition("51", "Close", "Closed", ("Resolved",)),
            Transition("61", "Reopen", "Work in progress", ("Resolved",)),
            Transition("71", "Cancel", "Canceled", ("Open", "Work in progress", "Pending"), ("resolution",)),
        ],
    )


@dataclass
class JiraConfig:
    """What a Jira admin configured; survives `reset()`."""

    project_key: str = "OPS"
    project_id: str = "10000"
    project_name: str = "IT Operations"
    workflow: Workflow = field(default_factory=itsm_workflow)
    createmeta_required: set[str] = field(default_factory=lambda: {"summary", "issuetype", "project"})
    create_screen: tuple[str, ...] = CREATE_SCREEN  # what createmeta lists and a create may set
    edit_screen: tuple[str, ...] = EDIT_SCREEN  # what editmeta lists and PUT issue may set
    options: dict[str, list[str]] = field(
        default_factory=lambda: {
            CATEGORY_FIELD: [jira for _, jira, _ in CATEGORIES.values()] + ["Facilities"],
            SERVICE_FIELD: list(SERVICES) + [UNMAPPED_SERVICE],
            GROUP_FIELD: list(MAPPED_GROUPS),
        }
    )
    users: dict[str, str] = field(
        default_factory=lambda: {account_id(n): n for n in ["ITSM Bridge", *PEOPLE]}
    )  # accountId -> display name
    emails: dict[str, str] = field(
        default_factory=lambda: {account_id(n): e for n, e in EMAILS.items()}
    )  # accountId -> e-mail address
    hidden_emails: set[str] = field(
        default_factory=lambda: {account_id(n) for n in HIDDEN_IN_JIRA}
    )  # accounts whose profile keeps the address private (sandbox.jira.users)

    teams: dict[str, str] = field(default_factory=lambda: {team_id(g): g for g in MAPPED_GROUPS})  # id -> name

    def use_team_field(self) -> None:
        """Put the Team field on the create and edit screens (after the select, which stays)."""
        self.create_screen = (*self.create_screen, TEAM_FIELD)
        self.edit_screen = (*self.edit_screen, TEAM_FIELD)

    @property
    def api_account(self) -> str:
        return account_id("ITSM Bridge")

    def option_id(self, field_id: str, value: str) -> str:
        base = {CATEGORY_FIELD: 10200, GROUP_FIELD: 10400}.get(field_id, 10300)
        return str(base + self.options[field_id].index(value))


# --- timestamps


def jira_time(moment: datetime) -> str:
    """Jira's timestamp format: `2024-01-01T12:34:56.789+0000`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_jira_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


# --- rendering of configuration objects


class Renderer:
    """Turns configuration objects into Jira JSON with `self` links under `base_url`."""

    def __init__(self, config: JiraConfig, base_url: str) -> None:
        self.config = config
        self.api = base_url + "/rest/api/3"
        self.base_url = base_url

    def user(self, acc: str | None) -> dict[str, Any] | None:
        if acc is None:
            return None
        name = self.config.users.get(acc, acc)
        email = API_EMAIL if acc == self.config.api_account else self.config.emails.get(acc)
        if acc in self.config.hidden_emails:
            email = None  # the profile hides it: `emailAddress` is left out (sandbox.jira.users)
        user: dict[str, Any] = {
            "self": f"{self.api}/user?accountId={acc}",
            "accountId": acc,
            "displayName": name,
            "active": True,
            "timeZone": "Etc/UTC",
            "accountType": "atlassian",
        }
        if email:
            user["emailAddress"] = email
        return user

    def status(self, name: str) -> dict[str, Any]:
        status = self.config.workflow.status(name) or Status("0", name, "new")
        cat_id, cat_name, color = STATUS_CATEGORIES[status.category]
        return {
            "self": f"{self.api}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/status.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": {
                "self": f"{self.api}/statuscategory/{cat_id}",
                "id": cat_id,
                "key": status.category,
                "colorName": color,
                "name": cat_name,
            },
        }

    def priority(self, name: str | None) -> dict[str, Any] | None:
        found = next(((i, n) for i, n in PRIORITIES if n == name), None)
        if found is None:
            return None
        return {
            "self": f"{self.api}/priority/{found[0]}",
            "iconUrl": f"{self.base_url}/images/icons/priorities/{found[1].lower()}.svg",
            "name": found[1],
            "id": found[0],
        }

    def priorities(self) -> list[dict[str, Any]]:
        return [
            p | {"description": n, "statusColor": "#ffffff"}
            for _, n in PRIORITIES
            if (p := self.priority(n)) is not None
        ]

    def resolution(self, name: str | None) -> dict[str, Any] | None:
        found = next(((i, n) for i, n in RESOLUTIONS if n == name), None)
        if found is None:
            return None
        return {"self": f"{self.api}/resolution/{found[0]}", "id": found[0], "description": found[1], "name": found[1]}

    def issuetype(self, name: str) -> dict[str, Any]:
        type_id = next((i for i, n in ISSUE_TYPES if n == name), "0")
        return {
            "self": f"{self.api}/issuetype/{type_id}",
            "id": type_id,
            "description": name,
            "name": name,
            "iconUrl": f"{self.base_url}/images/icons/issuetypes/{type_id}.svg",
            "subtask": False,
            "hierarchyLevel": 0,
        }

    def component(self, name: str) -> dict[str, Any]:
        comp_id = next((i for i, n in COMPONENTS if n == name), "0")
        return {"self": f"{self.api}/component/{comp_id}", "id": comp_id, "name": name}

    def option(self, field_id: str, value: str | None) -> dict[str, Any] | None:
        if value is None:
            return None
        opt = self.config.option_id(field_id, value) if value in self.config.options[field_id] else "0"
        return {"self": f"{self.api}/customFieldOption/{opt}", "value": value, "id": opt}

    def team(self, ident: str | None) -> dict[str, Any] | None:
        """A Team field's value as get issue and search return it (team-field-in-jira-rest-api)."""
        if ident is None:
            return None
        name = self.config.teams.get(ident, ident)
        return {"id": ident, "name": name, "avatarUrl": "", "isVisible": True, "title": name, "isShared": True}

    def project(self) -> dict[str, Any]:
        c = self.config
        return {
            "self": f"{self.api}/project/{c.project_id}",
            "id": c.project_id,
            "key": c.project_key,
            "name": c.project_name,
            "projectTypeKey": "service_desk",
            "simplified": False,
        }

    def project_full(self) -> dict[str, Any]:
        return self.project() | {
            "description": "IT operations service desk",
            "lead": self.user(self.config.api_account),
            "components": [self.component(n) | {"isAssigneeTypeValid": False} for _, n in COMPONENTS],
            "issueTypes": [self.issuetype(n) for _, n in ISSUE_TYPES],
            "assigneeType": "UNASSIGNED",
            "versions": [],
            "roles": {},
        }

    def fields(self) -> list[dict[str, Any]]:
        out = []
        for fid, (name, schema, clauses) in FIELDS.items():
            out.append(
                {
                    "id": fid,
                    "key": fid,
                    "name": name,
                    "custom": fid.startswith("customfield_"),
                    "orderable": fid not in READ_ONLY,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": clauses,
                    "schema": schema,
                }
            )
        return out

    def field_meta(self, fid: str, required: bool, with_id: bool = True) -> dict[str, Any]:
        name, schema, _ = FIELDS[fid]
        meta: dict[str, Any] = {
            "required": required,
            "schema": schema,
            "name": name,
            "key": fid,
            "hasDefaultValue": False,
            "operations": ["set"],
        }
        if with_id:
            meta["fieldId"] = fid
        if fid in ("labels", "components"):
            meta["operations"] = ["add", "set", "remove"]
        allowed = self.allowed_values(fid)
        if allowed is not None:
            meta["allowedValues"] = allowed
        return meta

    def allowed_values(self, fid: str) -> list[Any] | None:
        if fid == "priority":
            return self.priorities()
        if fid == "components":
            return [self.component(n) for _, n in COMPONENTS]
        if fid == "resolution":
            return [self.resolution(n) for _, n in RESOLUTIONS]
        if fid == "issuetype":
            return [self.issuetype(n) for _, n in ISSUE_TYPES]
        if fid == "project":
            return [self.project()]
        if fid in self.config.options:
            return [self.option(fid, v) for v in self.config.options[fid]]
        return None
