"""Jira Service Management issue <-> canonical Incident.

The connector hands over plain values (status, priority and resolution names; components, labels
and select options as lists of names; UTC datetimes; description as plain text). Priorities map
by name ([mapping.jira.priorities]); states by status name ([mapping.jira.states]); category,
subcategory and service by the taxonomy's Jira values, in the field the config names:

- ``components`` / ``labels``: the category, its subcategory and the service are members of the
  list; on write they are `update` operations (remove the other managed values, add the new), so
  components and labels people added by hand survive;
- ``customfield_NNNNN``: a select option ``{"value": category, "child": {"value": subcategory}}``
  (a cascading select) for the category, ``{"value": service}`` for the service.

Jira has no impact or urgency: they are read as the matrix cell of the issue's priority (the
diagonal first), so a Jira record never contradicts the matrix; `carries` lists what Jira holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from itsm_bridge import platforms
from itsm_bridge.findings import Finding, Severity
from itsm_bridge.mapping.taxonomy import Resolved, Vocabulary
from itsm_bridge.model import SYNC_FIELDS, Incident, Level, Priority, State
from itsm_bridge.people import email_of, unknown

if TYPE_CHECKING:
    from itsm_bridge.mapping.context import MappingConfig
    from itsm_bridge.records import RemoteRecord

PLATFORM = "jira"

CARRIES = platforms.spec(PLATFORM).carries
"""Canonical fields a Jira issue holds (its `PlatformSpec`); the others are not compared against it."""

NOT_WRITTEN = frozenset({"state", "reporter", "opened", "resolved", "updated"})
"""State goes through `transition`; the reporter is Jira's own; times are Jira's. The assignee is
written as the person's e-mail address: the connector finds the account it names."""


class JiraMapper:
    """`PlatformMapper` for Jira, built from the Config."""

    platform = PLATFORM
    carries = CARRIES

    def __init__(self, config: MappingConfig) -> None:
        jira = config.settings.jira
        self.category_field = jira.category_field if jira else "components"
        self.service_field = jira.service_field if jira else "labels"
        self.group_field = jira.group_field if jira else None
        self.owner_field = jira.communication_owner_field if jira else None
        self.taxonomy = config.taxonomy
        self.states = config.state_map(PLATFORM)
        self.matrix = config.matrix
        self.priorities: dict[str, str] = dict(config.settings.mapping.jira.priorities)
        self._priority_of = {name.casefold(): Priority(p) for p, name in self.priorities.items()}

    # --- read
    def to_canonical(self, record: RemoteRecord) -> tuple[Incident, list[Finding]]:
        f, d = record.fields, record.display
        key = record.correlation_key or record.ref.display or record.ref.id
        findings: list[Finding] = []
        status = _text(f.get("status"))
        state = self.states.from_vendor(status)
        if state is None:
            findings.append(
                self._finding(
                    "state.unmapped",
                    "state",
                    status,
                    f"status {status!r} is in no state map; add it to [mapping.jira.states]",
                )
            )
            state = State.NEW
        priority = self._priority(_text(f.get("priority")), findings)
        impact, urgency = self._levels(priority)
        policy = self.taxonomy.policy(PLATFORM)
        cat, sub = self._category(self._values(f, self.category_field))
        service = self._member(self.taxonomy.services, self._values(f, self.service_field), policy)
        code = self.taxonomy.resolution_codes.from_platform(PLATFORM, _text(f.get("resolution")) or None, policy)
        group = self._group(f)
        findings += [r.finding for r in (cat, sub, service, code, group) if r.finding]
        incident = Incident(
            key=key,
            title=_text(f.get("summary")),
            description=_text(f.get("description")),
            state=state,
            impact=impact,
            urgency=urgency,
            priority=priority,
            category=cat.value,
            subcategory=sub.value,
            service=service.value,
            assignment_group=group.value,
            assignee=self._assignee(f, d, findings),
            reporter=d.get("reporter") or _text(f.get("reporter")) or None,
            communication_owner=_person(f.get(self.owner_field)) if self.owner_field else None,
            opened=f.get("created"),
            resolved=f.get("resolutiondate"),
            updated=record.updated,
            resolution_code=code.value,
            comments=record.comments,
            links=(record.ref,),
        )
        return incident, [x.for_key(key) for x in findings]

    def _group(self, fields: dict[str, Any]) -> Resolved:
        """The group in the configured field (none when no field is configured)."""
        if self.group_field is None:
            return Resolved(None)
        values = self._values(fields, self.group_field)
        if self.group_field == "components":  # shared with others: the first component naming a group
            hits = (self.taxonomy.groups.from_platform(PLATFORM, v, "block") for v in values)
            return next((hit for hit in hits if hit.value is not None), Resolved(None))
        return self.taxonomy.group_from_platform(PLATFORM, values[0] if values else None)

    def _assignee(self, fields: dict[str, Any], display: dict[str, str], findings: list[Finding]) -> str | None:
        """The assignee as the canonical person: their address (`assignee.email`, as the account
        shows it or the people map says), else `jira:<accountId>` with a warning."""
        account = _text(fields.get("assignee"))
        if not account:
            return None
        email = email_of(fields.get("assignee.email"))
        if email is not None:
            return email
        who = display.get("assignee") or account
        findings.append(
            self._finding(
                "people.unknown",
                "assignee",
                account,
                f"assignee {who!r} hides their e-mail address and is not in [people.map], so no other platform "
                f"can name the person; add their accountId to [people.map]",
                "warn",
            )
        )
        return unknown(PLATFORM, account)

    @staticmethod
    def _values(fields: dict[str, Any], name: str) -> list[str]:
        value = fields.get(name)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]

    def _category(self, values: list[str]) -> tuple[Resolved, Resolved]:
        policy = self.taxonomy.policy(PLATFORM)
        cat = self._member(self.taxonomy.categories, values, policy)
        children = self.taxonomy.subcategories(cat.value) if cat.value else None
        if children is None:
            return cat, Resolved(None)
        rest = [v for v in values if children.from_platform(PLATFORM, v, "block").value is not None]
        return cat, (children.from_platform(PLATFORM, rest[0], policy) if rest else Resolved(None))

    def _member(self, vocab: Vocabulary, values: list[str], policy: Any) -> Resolved:
        """The first value naming a term of `vocab`; with a labels field, other labels are
        simply other labels, while in a components or option field an unknown value is a gap."""
        for v in values:
            hit = vocab.from_platform(PLATFORM, v, "block")
            if hit.value is not None:
                return hit
        field = self.category_field if vocab.kind == "category" else self.service_field
        if values and field != "labels":
            return vocab.from_platform(PLATFORM, values[0], policy)
        return Resolved(None)

    def _priority(self, name: str, findings: list[Finding]) -> Priority | None:
        if not name:
            return None
        p = self._priority_of.get(name.casefold())
        if p is None:
            findings.append(
                self._finding(
                    "priority.unmapped",
                    "priority",
                    name,
                    f"priority {name!r} is not in [mapping.jira.priorities]; ignored",
                    "warn",
                )
            )
        return p

    def _levels(self, priority: Priority | None) -> tuple[Level, Level]:
        if priority is None:
            return Level.LOW, Level.LOW
        cells = sorted(((i, u) for i in (1, 2, 3) for u in (1, 2, 3)), key=lambda c: (abs(c[0] - c[1]), c))
        for i, u in cells:
            if self.matrix.priority(i, u) is priority:
                return Level(i), Level(u)
        return Level.LOW, Level.LOW

    def _finding(self, rule: str, field: str, value: Any, message: str, severity: Severity = "block") -> Finding:
        return Finding(rule, PLATFORM, field, severity, f"jira: {message}", value=None if value is None else str(value))

    # --- write
    def to_fields(
        self, incident: Incident, changed: Iterable[str] | None = None
    ) -> tuple[dict[str, Any], list[Finding]]:
        names = set(SYNC_FIELDS if changed is None else changed) & CARRIES - NOT_WRITTEN
        if names & {"category", "subcategory"}:
            names |= {"category", "subcategory"}
        out: dict[str, Any] = {}
        findings: list[Finding] = []
        policy = self.taxonomy.policy(PLATFORM)

        def keep(r: Resolved) -> str | None:
            if r.finding:
                findings.append(r.finding.for_key(incident.key))
            return r.value

        if "title" in names:
            out["summary"] = incident.title
        if "description" in names:
            out["description"] = incident.description
        if "priority" in names and incident.priority is not None:
            out["priority"] = {"name": self.priorities[incident.priority.value]}
        if "resolution_code" in names and incident.resolution_code:
            code = keep(self.taxonomy.resolution_codes.to_platform(PLATFORM, incident.resolution_code, policy))
            if code:
                out["resolution"] = {"name": code}
        if "category" in names:
            cat_r, sub_r = self.taxonomy.category_to_platform(PLATFORM, incident.category, incident.subcategory)
            cat, sub = keep(cat_r), keep(sub_r)
            self._put(
                out,
                self.category_field,
                [v for v in (cat, sub) if v],
                self._managed_categories(),
                {"value": cat, **({"child": {"value": sub}} if sub else {})} if cat else None,
            )
        if "service" in names:
            svc = keep(self.taxonomy.services.to_platform(PLATFORM, incident.service, policy))
            managed = set(self.taxonomy.services.platform_values(PLATFORM).values())
            self._put(out, self.service_field, [svc] if svc else [], managed, {"value": svc} if svc else None)
        if "assignment_group" in names and self.group_field is not None:
            group = keep(self.taxonomy.group_to_platform(PLATFORM, incident.assignment_group))
            managed = set(self.taxonomy.groups.platform_values(PLATFORM).values())
            self._put(out, self.group_field, [group] if group else [], managed, {"value": group} if group else None)
        if "assignee" in names:
            out["assignee"] = incident.assignee  # an address (or None): the connector finds the account
        for ops in (out.get("update") or {}).values():
            added = {str(op["add"]) for op in ops if "add" in op}  # category and service may share a field
            ops[:] = [op for op in ops if "remove" not in op or str(op["remove"]) not in added]
        return out, findings

    def transition_fields(self, incident: Incident, state: State) -> dict[str, Any]:
        """The resolution a transition screen takes, when it asks for one (the workflow decides)."""
        fields, _ = self.to_fields(incident, ["resolution_code"])
        return fields

    def _managed_categories(self) -> set[str]:
        values = set(self.taxonomy.categories.platform_values(PLATFORM).values())
        for term in self.taxonomy.categories.terms.values():
            if term.children is not None:
                values |= set(term.children.platform_values(PLATFORM).values())
        return values

    @staticmethod
    def _put(out: dict[str, Any], field: str, values: list[str], managed: set[str], option: Any) -> None:
        if field.startswith("customfield_"):
            out[field] = option
            return
        ops = out.setdefault("update", {}).setdefault(field, [])
        wrap = (lambda v: {"name": v}) if field == "components" else (lambda v: v)
        ops += [{"remove": wrap(v)} for v in sorted(managed - set(values))]
        ops += [{"add": wrap(v)} for v in values]


def _person(value: Any) -> str | None:
    """A user field's person by name (a user picker gives an object), or a text field's text."""
    if isinstance(value, dict):
        value = value.get("displayName") or value.get("emailAddress") or value.get("accountId")
    return _text(value) or None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
