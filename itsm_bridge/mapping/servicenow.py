"""ServiceNow incident <-> canonical Incident.

Reads values for logic (choice values, sys_ids) and display names for the reference fields whose
canonical meaning is a name (service = the CI's name, groups and people by name). Writes choice
values, and names for reference fields: the connector resolves a name to a sys_id before it sends.
ServiceNow computes `priority` from impact x urgency, so priority is read (and checked against the
matrix) but never written; state goes through `transition`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from itsm_bridge.errors import RequiredFieldMissing, UnmappedValue
from itsm_bridge.findings import Finding, Severity, blocking
from itsm_bridge.mapping.fields import SERVICENOW_FIELDS
from itsm_bridge.mapping.rules import Step, check
from itsm_bridge.mapping.taxonomy import Resolved
from itsm_bridge.model import SYNC_FIELDS, Incident, Level, Priority, State
from itsm_bridge.people import email_of, unknown
from itsm_bridge.vendor_time import parse_snow_time, snow_time

if TYPE_CHECKING:
    from itsm_bridge.mapping.context import MappingConfig
    from itsm_bridge.records import RemoteRecord

PLATFORM = "servicenow"
SERVICENOW_FIELDS_BACK = {column: name for name, column in SERVICENOW_FIELDS.items()}

MAJOR_ACCEPTED = "accepted"  # major_incident_state of a major incident ("proposed" is not yet one)

NOT_WRITTEN = frozenset(
    {"key", "state", "priority", "updated", "acknowledged", "resolved", "closed", "public_status", "public_message"}
)
"""Canonical fields never sent as plain fields: the key is set on create, state by transition,
priority and the resolved/closed times are computed by ServiceNow, the public text is not its."""


class ServiceNowMapper:
    """`PlatformMapper` for ServiceNow, built from the Config."""

    platform = PLATFORM

    def __init__(self, config: MappingConfig) -> None:
        self.config = config
        self.taxonomy = config.taxonomy
        self.states = config.state_map(PLATFORM)
        self.matrix = config.matrix
        snow = config.settings.servicenow
        self.owner_field = snow.communication_owner_field if snow is not None else None

    # --- read
    def to_canonical(self, record: RemoteRecord) -> tuple[Incident, list[Finding]]:
        f, d = record.fields, record.display
        key = record.correlation_key or _text(f.get("number")) or record.ref.display or record.ref.id
        findings: list[Finding] = []

        state = self.states.from_vendor(_text(f.get("state")))
        if state is None:
            findings.append(
                self._finding(
                    "state.unmapped",
                    "state",
                    f.get("state"),
                    f"state {f.get('state')!r} is in no state map; add it to [mapping.servicenow.states]",
                )
            )
            state = State.NEW
        impact = self._level(f, "impact", findings)
        urgency = self._level(f, "urgency", findings)
        priority = self._priority(f.get("priority"), findings)

        policy = self.taxonomy.policy(PLATFORM)
        cat, sub = self.taxonomy.category_from_platform(
            PLATFORM, _text(f.get("category")) or None, _text(f.get("subcategory")) or None
        )
        service = self.taxonomy.services.from_platform(PLATFORM, _name(f, d, "cmdb_ci"), policy)
        code = self.taxonomy.resolution_codes.from_platform(PLATFORM, _text(f.get("close_code")) or None, policy)
        group = self.taxonomy.group_from_platform(PLATFORM, _name(f, d, "assignment_group"))
        assignee = _person(f, d, "assigned_to", findings)
        findings += [r.finding for r in (cat, sub, service, code, group) if r.finding]

        incident = Incident(
            key=key,
            title=_text(f.get("short_description")),
            description=_text(f.get("description")),
            state=state,
            impact=impact,
            urgency=urgency,
            priority=priority,
            category=cat.value,
            subcategory=sub.value,
            service=service.value,
            assignment_group=group.value,
            assignee=assignee,
            reporter=_name(f, d, "caller_id"),
            communication_owner=_name(f, d, self.owner_field) if self.owner_field else None,
            major=_text(f.get("major_incident_state")) == MAJOR_ACCEPTED,
            opened=parse_snow_time(f.get("opened_at")),
            resolved=parse_snow_time(f.get("resolved_at")),
            closed=parse_snow_time(f.get("closed_at")),
            updated=record.updated,
            resolution_code=code.value,
            resolution_notes=_text(f.get("close_notes")) or None,
            comments=record.comments,
            links=(record.ref,),
        )
        off = self.matrix.conformance(incident, PLATFORM)
        if off is not None:
            findings.append(off)
        return incident, [x.for_key(key) for x in findings]

    def _level(self, f: dict[str, Any], name: str, findings: list[Finding]) -> Level:
        try:
            return Level(int(_text(f.get(name))))
        except ValueError:
            findings.append(
                self._finding(
                    f"{name}.invalid",
                    name,
                    f.get(name),
                    f"{name} {f.get(name)!r} is not 1, 2 or 3; read as 3 (low)",
                    "warn",
                )
            )
            return Level.LOW

    def _priority(self, value: Any, findings: list[Finding]) -> Priority | None:
        text = _text(value)
        if not text:
            return None
        if text in ("1", "2", "3", "4", "5"):
            return Priority(f"P{text}")
        findings.append(
            self._finding("priority.invalid", "priority", value, f"priority {text!r} is not 1..5; ignored", "warn")
        )
        return None

    def _finding(self, rule: str, field: str, value: Any, message: str, severity: Severity = "block") -> Finding:
        return Finding(
            rule, PLATFORM, field, severity, f"servicenow: {message}", value=None if value is None else str(value)
        )

    # --- write
    def to_fields(
        self, incident: Incident, changed: Iterable[str] | None = None
    ) -> tuple[dict[str, Any], list[Finding]]:
        names = set(SYNC_FIELDS if changed is None else changed) - NOT_WRITTEN
        if names & {"category", "subcategory"}:
            names |= {"category", "subcategory"}  # a subcategory only means something under its category
        out: dict[str, Any] = {}
        findings: list[Finding] = []
        policy = self.taxonomy.policy(PLATFORM)

        def put(column: str, resolved: Resolved) -> None:
            if resolved.finding:
                findings.append(resolved.finding.for_key(incident.key))
            if resolved.value is not None or resolved.finding is None:
                out[column] = resolved.value or ""

        if "category" in names:
            cat, sub = self.taxonomy.category_to_platform(PLATFORM, incident.category, incident.subcategory)
            put("category", cat)
            put("subcategory", sub)
        if "service" in names:
            put("cmdb_ci", self.taxonomy.services.to_platform(PLATFORM, incident.service, policy))
        if "resolution_code" in names:
            put("close_code", self.taxonomy.resolution_codes.to_platform(PLATFORM, incident.resolution_code, policy))
        if "assignment_group" in names:
            put("assignment_group", self.taxonomy.group_to_platform(PLATFORM, incident.assignment_group))
        for name in sorted(names - {"category", "subcategory", "service", "resolution_code", "assignment_group"}):
            column = SERVICENOW_FIELDS.get(name)
            if column is not None:
                out[column] = self._plain(name, getattr(incident, name))
        return out, findings

    def transition_fields(self, incident: Incident, state: State) -> dict[str, Any]:
        """close_code / close_notes when `state` resolves or closes. Every required-field rule of
        the step is checked against the incident first: RequiredFieldMissing names all the empty
        ones (nothing is sent); a resolution code with no ServiceNow value is UnmappedValue."""
        if state not in (State.RESOLVED, State.CLOSED):
            return {}
        steps: list[Step] = ["resolve", "close"] if state is State.CLOSED else ["resolve"]
        missing = [f for step in steps for f in blocking(check(incident, step, PLATFORM, self.config.rules))]
        if missing:
            names = list(dict.fromkeys(f"{f.field} ({SERVICENOW_FIELDS.get(f.field, f.field)})" for f in missing))
            raise RequiredFieldMissing(steps[-1], PLATFORM, names)
        fields, findings = self.resolution_fields(incident.resolution_code, incident.resolution_notes)
        if blocking(findings):
            raise UnmappedValue(PLATFORM, "resolution_code", str(incident.resolution_code))
        return fields

    def resolution_fields(self, code: str | None, notes: str | None) -> tuple[dict[str, str], list[Finding]]:
        """close_code / close_notes for a canonical resolution code and notes (only those given)."""
        out: dict[str, str] = {}
        findings: list[Finding] = []
        if code is not None:
            r = self.taxonomy.resolution_codes.to_platform(PLATFORM, code, self.taxonomy.policy(PLATFORM))
            if r.finding:
                findings.append(r.finding)
            if r.value is not None:
                out["close_code"] = r.value
        if notes is not None:
            out["close_notes"] = notes
        return out, findings

    @staticmethod
    def _plain(name: str, value: Any) -> str:
        if value is None:
            return ""
        if name in ("impact", "urgency"):
            return str(int(value))
        if name == "major":
            return MAJOR_ACCEPTED if value else ""
        if name == "opened":
            return snow_time(value)
        return str(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _person(fields: dict[str, Any], display: dict[str, str], column: str, findings: list[Finding]) -> str | None:
    """A user reference as the canonical person: the user's e-mail address (`column.email`, read by
    dot-walking), else `servicenow:<sys_id>` with a warning (the user has no address to match by)."""
    sys_id = _text(fields.get(column))
    if not sys_id:
        return None
    email = email_of(fields.get(f"{column}.email"))
    if email is not None:
        return email
    who = display.get(column) or sys_id
    findings.append(
        Finding(
            "people.unknown",
            PLATFORM,
            SERVICENOW_FIELDS_BACK.get(column, column),
            "warn",
            f"servicenow: {column} {who!r} has no e-mail address in sys_user, so no other platform can "
            "name the person; add the address, or the user's sys_id to [people.map]",
            value=sys_id,
        )
    )
    return unknown(PLATFORM, sys_id)


def _name(fields: dict[str, Any], display: dict[str, str], column: str) -> str | None:
    """A reference field's name (its display value); the sys_id only when no name was read."""
    if not _text(fields.get(column)):
        return None
    return display.get(column) or _text(fields.get(column))
