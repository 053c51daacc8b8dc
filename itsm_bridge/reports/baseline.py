"""Compare an audit with the previous one (`itsm-bridge audit --baseline PREVIOUS.json`).

A finding is the same finding across audits when its kind, key, platform, field and record are:
its value and message may have moved (a page stale for 40 minutes, then for 90, is one finding
still open). A finding of the previous audit that this one no longer has is fixed; one it did
not have is new. The previous report may be of schema `itsm-bridge/audit/1` or `/2`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsm_bridge.reports.findings import FIELDS, AuditFinding

IDENTITY = ("kind", "key", "platform", "field", "ref")
"""The finding columns that say which finding it is (FIELDS minus what it says about it)."""


class BaselineError(ValueError):
    """The previous report cannot be read as an audit report; the message names the file."""


@dataclass(frozen=True)
class Baseline:
    """The previous audit as far as a comparison needs it."""

    path: str
    schema: str
    generated_at: str
    findings: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class Comparison:
    """What changed since the baseline: per current finding, new or still open; and what was fixed."""

    baseline: Baseline
    new: frozenset[tuple[str, ...]]
    fixed: tuple[dict[str, str], ...]
    still_open: int

    def change(self, finding: AuditFinding) -> str:
        """`new` or `still_open`."""
        return "new" if _identity(finding) in self.new else "still_open"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.baseline.path,
            "schema": self.baseline.schema,
            "generated_at": self.baseline.generated_at,
            "new": len(self.new),
            "fixed": len(self.fixed),
            "still_open": self.still_open,
            "fixed_findings": [dict(f) for f in self.fixed],
        }


def identity(finding: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(finding.get(k) or "") for k in IDENTITY)


def _identity(finding: AuditFinding) -> tuple[str, ...]:
    return tuple(str(getattr(finding, k) or "") for k in IDENTITY)


def load(path: str | Path) -> Baseline:
    """Read a previous JSON audit report; BaselineError names the file and what is wrong."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise BaselineError(f"{path}: cannot be read ({e.strerror or e})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BaselineError(f"{path}: is not JSON ({e}); give a report of `audit --format json`") from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if not isinstance(schema, str) or not schema.startswith("itsm-bridge/audit/"):
        raise BaselineError(f"{path}: is not an itsm-bridge audit report (its schema is {schema!r})")
    findings = doc.get("findings")
    if not isinstance(findings, list) or not all(isinstance(f, dict) and "kind" in f for f in findings):
        raise BaselineError(f"{path}: `findings` is not a list of findings")
    kept = tuple({k: str(f.get(k) or "") for k in FIELDS} for f in findings)
    return Baseline(str(path), schema, str(doc.get("generated_at") or ""), kept)


def compare(findings: list[AuditFinding], previous: Baseline) -> Comparison:
    """Sort this audit's findings into new and still open against `previous`, and list the fixed."""
    before = {identity(f) for f in previous.findings}
    now = {_identity(f) for f in findings}
    fixed = tuple(f for f in previous.findings if identity(f) not in now)
    return Comparison(previous, frozenset(now - before), fixed, len(now & before))
