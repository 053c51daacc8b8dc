"""The report as JSON: `Report.to_dict()`, schema "itsm-bridge/audit/2", additive over /1 (see the README)."""

from __future__ import annotations

import json

from itsm_bridge.reports.report import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
