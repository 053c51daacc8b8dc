"""The publish policy: which incidents go on the public page, and what they set there.

- **What is published** (`should_publish`): an incident flagged major (when `publish.when_major`)
  or of a priority in `publish.priorities`, AND whose service maps to a page component. Nothing
  else is ever sent.
- **Component status per priority** (`component_status_for`): P1 major_outage,
  P2 partial_outage, anything else degraded_performance.

The page connectors receive it through the page mapper (`mapping/statuspage.py`), their
`PagePolicy`; the planner asks `should_publish` before it plans a first publish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsm_bridge.model import Incident

if TYPE_CHECKING:
    from itsm_bridge.mapping.context import MappingConfig

COMPONENT_STATUS_BY_PRIORITY: dict[str, str] = {"P1": "major_outage", "P2": "partial_outage"}
OTHER_PRIORITIES = "degraded_performance"
"""Status an incident sets on its component: P1 major outage, P2 partial outage, else degraded."""


def component_status_for(priority: str | None) -> str:
    """The component status an incident of `priority` sets."""
    return COMPONENT_STATUS_BY_PRIORITY.get(priority or "", OTHER_PRIORITIES)


def page_component(incident: Incident, config: MappingConfig) -> str | None:
    """The page component (by name) the incident's service maps to, or None."""
    services = config.taxonomy.services
    canonical = services.canonical(incident.service)
    if canonical is None:
        return None
    return services.platform_values("statuspage").get(canonical)


def should_publish(incident: Incident, config: MappingConfig) -> bool:
    """Whether this incident goes on the public page at all."""
    rule = config.settings.publish
    chosen = (incident.major and rule.when_major) or (
        incident.priority is not None and incident.priority.value in rule.priorities
    )
    return bool(chosen) and page_component(incident, config) is not None
