"""The ITIL priority matrix: impact x urgency -> priority.

The default is ServiceNow's default priority lookup (see the vendor's "default priority lookup
rules"), so a record prioritised by ServiceNow conforms here without any configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from itsm_bridge.findings import Finding
from itsm_bridge.model import Incident, Level, Priority

CELL_KEYS: tuple[str, ...] = tuple(f"{i}x{u}" for i in (1, 2, 3) for u in (1, 2, 3))
"""Config keys of the nine cells: "<impact>x<urgency>"."""

DEFAULT_CELLS: dict[str, str] = {
    "1x1": "P1",
    "1x2": "P2",
    "1x3": "P3",
    "2x1": "P2",
    "2x2": "P3",
    "2x3": "P4",
    "3x1": "P3",
    "3x2": "P4",
    "3x3": "P5",
}


def matrix_problems(cells: dict[str, str]) -> list[tuple[str, str]]:
    """Every (cell key, message) wrong with a configured matrix: missing, unknown or invalid cells."""
    problems: list[tuple[str, str]] = []
    for key in CELL_KEYS:
        if key not in cells:
            i, u = key.split("x")
            problems.append((key, f"cell missing: impact {i} x urgency {u} needs a priority P1-P5"))
    for key, value in cells.items():
        if key not in CELL_KEYS:
            problems.append((key, f"not a cell; cells are named <impact>x<urgency>, e.g. 1x2 ({', '.join(CELL_KEYS)})"))
        elif value not in Priority.__members__:
            problems.append((key, f"priority must be one of P1, P2, P3, P4, P5, got {value!r}"))
    return problems


@dataclass(frozen=True)
class PriorityMatrix:
    """A complete, validated 3x3 matrix."""

    cells: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CELLS))

    def __post_init__(self) -> None:
        problems = matrix_problems(self.cells)
        if problems:
            raise ValueError("; ".join(f"{k}: {m}" for k, m in problems))

    def priority(self, impact: Level | int, urgency: Level | int) -> Priority:
        return Priority(self.cells[f"{int(impact)}x{int(urgency)}"])

    def rows(self) -> list[list[str]]:
        """The matrix as rows of impact 1..3, columns urgency 1..3."""
        return [[self.cells[f"{i}x{u}"] for u in (1, 2, 3)] for i in (1, 2, 3)]

    def conformance(self, incident: Incident, platform: str = "canonical") -> Finding | None:
        """A warning when the incident's priority is not what its impact and urgency give."""
        expected = self.priority(incident.impact, incident.urgency)
        if incident.priority is None or incident.priority == expected:
            return None
        return Finding(
            rule_id="priority.off_matrix",
            platform=platform,
            field="priority",
            severity="warn",
            message=(
                f"priority {incident.priority.value} does not match impact {int(incident.impact)} x "
                f"urgency {int(incident.urgency)}, which gives {expected.value}"
            ),
            key=incident.key,
            value=incident.priority.value,
        )
