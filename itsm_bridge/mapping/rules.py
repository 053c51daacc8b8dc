"""Required fields per lifecycle step (create, resolve, close) per platform.

Defaults mirror the vendors (ServiceNow's data policy wants close_code and close_notes to resolve;
Jira wants a summary); administrators add their own in `[[rules.required]]`. Every violation of a
step is reported at once, not only the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from itsm_bridge.findings import Finding, Severity
from itsm_bridge.mapping.fields import vendor_field
from itsm_bridge.model import Incident, State

Step = Literal["create", "resolve", "close"]


class Checked(Protocol):
    """What the required-field check reads: a key, and each canonical field by attribute name
    (an `Incident`, or canonical fields given as a dict and read that way)."""

    @property
    def key(self) -> str: ...


STEPS: tuple[Step, ...] = ("create", "resolve", "close")


@dataclass(frozen=True)
class RequiredRule:
    step: Step
    fields: tuple[str, ...]
    platforms: tuple[str, ...] = ()  # empty: every platform
    severity: Severity = "block"
    origin: str = "config"  # "vendor" for the built-in defaults
    major_only: bool = False  # holds for incidents flagged major only (a communication owner, say)

    def applies(self, step: Step, platform: str) -> bool:
        return self.step == step and (not self.platforms or platform in self.platforms)

    def holds_for(self, incident: Checked) -> bool:
        """Whether the rule concerns `incident` at all (a major-only rule: a major incident)."""
        return not self.major_only or bool(getattr(incident, "major", False))


VENDOR_RULES: tuple[RequiredRule, ...] = (
    RequiredRule("create", ("title",), ("servicenow",), origin="vendor"),
    RequiredRule("resolve", ("resolution_code", "resolution_notes"), ("servicenow",), origin="vendor"),
    RequiredRule("close", ("resolution_code", "resolution_notes"), ("servicenow",), origin="vendor"),
    RequiredRule("create", ("title",), ("jira",), origin="vendor"),
    RequiredRule("create", ("title",), ("statuspage",), origin="vendor"),
)


def steps_for(incident: Incident, creating: bool) -> list[Step]:
    """The lifecycle steps a write of `incident` goes through."""
    steps: list[Step] = ["create"] if creating else []
    if incident.state in (State.RESOLVED, State.CLOSED):
        steps.append("resolve")
    if incident.state is State.CLOSED:
        steps.append("close")
    return steps


def is_empty(value: object) -> bool:
    """Whether a required field with this value is missing (None, or only blanks)."""
    return value is None or (isinstance(value, str) and not value.strip())


def check(
    incident: Checked, step: Step, platform: str, rules: tuple[RequiredRule, ...] = VENDOR_RULES
) -> list[Finding]:
    """Every required field of `step` on `platform` that `incident` leaves empty."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for rule in rules:
        if not rule.applies(step, platform) or not rule.holds_for(incident):
            continue
        for name in rule.fields:
            if name in seen or not is_empty(getattr(incident, name, None)):
                continue
            seen.add(name)
            vendor = vendor_field(platform, name)
            named = name if vendor == name else f"{name} ({platform} {vendor})"
            source = "the vendor requires it" if rule.origin == "vendor" else "a rule in [[rules.required]]"
            if rule.major_only:
                source += " requires it for major incidents"
            findings.append(
                Finding(
                    rule_id=f"required.{step}.{name}",
                    platform=platform,
                    field=name,
                    severity=rule.severity,
                    message=f"cannot {step} on {platform}: {named} is empty and {source}",
                    key=incident.key,
                )
            )
    return findings


def check_steps(
    incident: Incident, platform: str, creating: bool, rules: tuple[RequiredRule, ...] = VENDOR_RULES
) -> list[Finding]:
    """Findings of every step the write goes through; a field missing for several steps is named once."""
    findings: dict[str, Finding] = {}
    for step in steps_for(incident, creating):
        for f in check(incident, step, platform, rules):
            findings.setdefault(f.field, f)
    return list(findings.values())
