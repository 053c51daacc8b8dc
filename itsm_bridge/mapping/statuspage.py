"""Canonical incident <-> status-page fields, the same for Atlassian Statuspage and Cachet.

Outward (`to_fields`), the neutral fields a status-page connector sends:

- ``name``, ``body``: rendered from `publish.name_template` / `publish.body_template`
  (allow-listed; see `mapping.templates`) in the vendor's own rendering: the name as plain text
  (Statuspage and Cachet both show it as text), the body escaped as Markdown (Cachet renders it
  as Markdown), without control or bidi characters, and checked by the leak guard whole, before
  the name is cut to its limit. A text the guard blocks is left out of the fields and a blocking
  Finding says why.
- ``status``: the public status. The state map `mapping.statuspage.public_status` decides; an
  open incident's own `public_status` (set by whoever speaks to customers) wins over it, but
  never says "resolved" while the incident is open.
- ``impact``: `publish.impact` by priority (P1 critical, P2 major, P3 minor, else none).
- ``component``: the page component of the service (`taxonomy.services.<name>.statuspage`).
- ``component_status``: by priority, see `mapping.publish`.

Inward (`to_canonical`) reads a page incident back for drift audits: a page that says resolved
while the incident is open, or the reverse.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itsm_bridge.findings import Finding, blocking
from itsm_bridge.mapping.guard import Guard, public_text
from itsm_bridge.mapping.publish import component_status_for, page_component, should_publish
from itsm_bridge.mapping.templates import TemplateProblem, render_public
from itsm_bridge.model import Incident, Priority, PublicStatus, State

if TYPE_CHECKING:
    from itsm_bridge.mapping.context import MappingConfig
    from itsm_bridge.records import RemoteRecord

PLATFORM = "statuspage"
NAME_LIMIT = 255  # Statuspage's limit on an incident name
# Which texts the page renders as markup (escaped for it) and which as plain text (sent as is).
# Cachet: the name is printed escaped ({{ $incident->name }}) and the message is Markdown turned
# into HTML (IncidentPresenter::formattedMessage, printed with {!! !!}): cachethq/cachet,
# resources/views/partials/incident.blade.php and app/Presenters/IncidentPresenter.php.
# Statuspage: the name is plain text; no vendor page says how a body renders, so it is treated
# as Markdown too, the stricter reading.
MARKUP = {"name": False, "body": True}

# Which outgoing field each canonical field feeds, so `changed` sends only what moved.
_FEEDS: dict[str, tuple[str, ...]] = {
    "title": ("name", "body"),
    "public_message": ("name", "body"),
    "service": ("name", "body", "component", "component_status"),
    "opened": ("name", "body"),
    "resolved": ("name", "body"),
    "public_status": ("status", "name", "body"),
    "state": ("status", "body"),
    "priority": ("impact", "component_status"),
    "major": (),
}


class StatuspageMapper:
    """`PlatformMapper` for the public status page (both providers)."""

    platform = PLATFORM

    def __init__(self, config: MappingConfig) -> None:
        self.config = config
        publish = config.settings.publish
        self.guard = Guard(publish.internal_host_patterns)
        self.name_template = publish.name_template
        self.body_template = publish.body_template
        self.impact = dict(publish.impact)

    def chosen(self, incident: Incident) -> bool:
        """Whether `incident` goes on the page at all (`[publish]`, see `mapping.publish`)."""
        return should_publish(incident, self.config)

    def public_status(self, incident: Incident) -> PublicStatus:
        """What the page should say for `incident` now."""
        mapped = self.config.public_status.get(incident.state, PublicStatus.INVESTIGATING)
        if not incident.state.is_open:
            return mapped
        own = incident.public_status
        return own if own is not None and own is not PublicStatus.RESOLVED else mapped

    def check_text(self, field: str, text: str, key: str | None) -> list[Finding]:
        """The leak guard's findings for `field` as the page renders it (markup or plain text)."""
        return self.guard.check(field, text, key, MARKUP.get(field, True))

    def render(self, incident: Incident) -> tuple[dict[str, str], list[Finding]]:
        """Name and body for `incident`, each rendered and guarded; a blocked text is left out."""
        texts: dict[str, str] = {}
        findings: list[Finding] = []
        for field, template in (("name", self.name_template), ("body", self.body_template)):
            try:
                text = public_text(
                    render_public(template, incident, markup=MARKUP[field]), keep="\n" if field == "body" else ""
                )
            except TemplateProblem as exc:
                findings.append(
                    Finding(
                        "publish.template",
                        PLATFORM,
                        field,
                        "block",
                        f"{exc}; fix publish.{field}_template",
                        incident.key,
                    )
                )
                continue
            blocked = self.check_text(field, text, incident.key)  # the whole text: nothing hides past the cut
            if field == "name":
                text = text[:NAME_LIMIT]
            if not text:
                blocked.append(
                    Finding(
                        "publish.empty", PLATFORM, field, "block", f"the public {field} renders empty", incident.key
                    )
                )
            findings += blocked
            if not blocked:
                texts[field] = text
        return texts, findings

    def update_fields(self, incident: Incident, next_update_at: datetime) -> tuple[dict[str, Any], list[Finding]]:
        """The body of a scheduled update (`communication.update_template`, with `next_update_at`),
        rendered and guarded like every public text; a blocked text is left out."""
        template = self.config.settings.communication.update_template
        try:
            text = public_text(render_public(template, incident, True, next_update_at), keep="\n")
        except TemplateProblem as exc:
            rule = Finding("publish.template", PLATFORM, "body", "block", f"{exc}; fix communication.update_template")
            return {}, [rule.for_key(incident.key)]
        findings = self.check_text("body", text, incident.key)
        if not text:
            findings.append(
                Finding("publish.empty", PLATFORM, "body", "block", "the scheduled update renders empty", incident.key)
            )
        return ({} if blocking(findings) else {"body": text}), findings

    def to_fields(
        self, incident: Incident, changed: Iterable[str] | None = None
    ) -> tuple[dict[str, Any], list[Finding]]:
        """Neutral status-page fields for `incident` (only those fed by `changed`, when given)."""
        texts, findings = self.render(incident)
        priority = incident.priority.value if incident.priority else None
        fields: dict[str, Any] = {
            **texts,
            "status": self.public_status(incident).value,
            "impact": self.impact.get(priority or "", "none"),
            "component_status": component_status_for(priority),
        }
        component = page_component(incident, self.config)
        if component is None:
            findings.append(
                Finding(
                    "publish.component.unmapped",
                    PLATFORM,
                    "service",
                    "warn",
                    f"service {incident.service!r} maps to no page component (taxonomy.services.<name>.statuspage);"
                    " the incident is not published",
                    incident.key,
                    incident.service,
                )
            )
            fields.pop("component_status")
        else:
            fields["component"] = component
        if changed is not None:
            wanted = {out for name in changed for out in _FEEDS.get(name, ())}
            fields = {k: v for k, v in fields.items() if k in wanted}
        return fields, findings

    def transition_fields(self, incident: Incident, state: State) -> dict[str, Any]:
        """Nothing besides the public status, which the page connector takes from `state`."""
        return {}

    def to_canonical(self, record: RemoteRecord) -> tuple[Incident, list[Finding]]:
        """The incident as the page shows it (title, public status and message, service,
        priority from impact, resolved or open), for comparing against the real one."""
        f = record.fields
        findings: list[Finding] = []
        status = PublicStatus(f.get("status") or "investigating")
        state = next((s for s, p in self.config.public_status.items() if p is status), State.IN_PROGRESS)
        services = self.config.taxonomy.services
        service = None
        for component in f.get("components") or {}:
            resolved = services.from_platform(PLATFORM, component, "pass")
            service = resolved.value
            if resolved.finding:
                findings.append(resolved.finding.for_key(record.correlation_key or record.ref.id))
            break
        by_impact: dict[str, str] = {impact: p for p, impact in sorted(self.impact.items(), reverse=True)}
        priority = by_impact.get(f.get("impact") or "")
        incident = Incident(
            key=record.correlation_key or f"{PLATFORM}:{record.ref.id}",
            title=str(f.get("name") or ""),
            state=state,
            priority=Priority(priority) if priority else None,
            service=service,
            public_status=status,
            public_message=f.get("body") or None,
            opened=f.get("created_at"),
            resolved=f.get("resolved_at"),
            updated=record.updated,
            links=(record.ref,),
        )
        return incident, findings
