"""The findings as CSV, one finding per row, for spreadsheets (columns: `findings.FIELDS`)."""

from __future__ import annotations

import csv
import io

from itsm_bridge.reports.findings import FIELDS
from itsm_bridge.reports.report import Report


def render(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELDS), lineterminator="\r\n")  # RFC 4180, as spreadsheets expect
    writer.writeheader()
    for finding in report.findings:
        writer.writerow(finding.to_dict())
    return out.getvalue()
