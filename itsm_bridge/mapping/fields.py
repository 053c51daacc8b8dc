"""Per-platform field names and state maps (canonical <-> vendor).

Field names are vendor facts and fixed here; state names differ between workflows, so state maps
come from config, with each platform's defaults in its `PlatformSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsm_bridge.model import PublicStatus, State

SERVICENOW_FIELDS: dict[str, str] = {
    "key": "correlation_id",
    "title": "short_description",
    "description": "description",
    "state": "state",
    "impact": "impact",
    "urgency": "urgency",
    "priority": "priority",
    "category": "category",
    "subcategory": "subcategory",
    "service": "cmdb_ci",
    "assignment_group": "assignment_group",
    "assignee": "assigned_to",
    "reporter": "caller_id",
    "major": "major_incident_state",
    "opened": "opened_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
    "updated": "sys_updated_on",
    "resolution_code": "close_code",
    "resolution_notes": "close_notes",
}
"""canonical field -> ServiceNow incident column."""

JIRA_FIELDS: dict[str, str] = {
    "title": "summary",
    "description": "description",
    "state": "status",
    "priority": "priority",
    "assignee": "assignee",
    "reporter": "reporter",
    "opened": "created",
    "resolved": "resolutiondate",
    "updated": "updated",
    "resolution_code": "resolution",
}
"""canonical field -> Jira issue field; category and service fields come from config."""

VENDOR_FIELDS: dict[str, dict[str, str]] = {"servicenow": SERVICENOW_FIELDS, "jira": JIRA_FIELDS}


def vendor_field(platform: str, canonical: str) -> str:
    """The vendor's name for a canonical field, for messages people read."""
    return VENDOR_FIELDS.get(platform, {}).get(canonical, canonical)


@dataclass(frozen=True)
class StateMap:
    """Canonical states <-> one platform's state values.

    Each canonical state has one or more vendor values: the first is written, all are read.
    """

    platform: str
    values: dict[State, tuple[str, ...]]

    @classmethod
    def from_names(cls, platform: str, names: dict[str, list[str]]) -> StateMap:
        return cls(platform, {State(k): tuple(v) for k, v in names.items()})

    def to_vendor(self, state: State) -> str | None:
        values = self.values.get(state)
        return values[0] if values else None

    def from_vendor(self, value: str) -> State | None:
        folded = value.casefold()
        for state, values in self.values.items():
            if any(v.casefold() == folded for v in values):
                return state
        return None

    def vendor_values(self) -> list[str]:
        return [v for values in self.values.values() for v in values]


def public_status_map(names: dict[str, str]) -> dict[State, PublicStatus]:
    """canonical state -> what the status page says."""
    return {State(k): PublicStatus(v) for k, v in names.items()}
