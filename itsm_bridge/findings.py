"""A Finding: something about a record that a person should know, as data.

Findings are shown by `plan`, `audit` and the journal. A blocking one stops the write for that record
only, and the record is quarantined; a warning is reported and the write goes ahead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["block", "warn"]


@dataclass(frozen=True)
class Finding:
    rule_id: str  # stable id, e.g. "required.resolve.resolution_code", "taxonomy.unmapped"
    platform: str
    field: str
    severity: Severity
    message: str  # one sentence a person understands, saying what to fix
    key: str | None = None  # canonical incident key, when known
    value: str | None = None  # the offending value, when it is not a secret

    @property
    def blocking(self) -> bool:
        return self.severity == "block"

    def for_key(self, key: str) -> Finding:
        return Finding(self.rule_id, self.platform, self.field, self.severity, self.message, key, self.value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.blocking]
