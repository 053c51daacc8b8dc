"""The findings as CSV, one finding per row, for spreadsheets (columns: `findings.FIELDS`).

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with a single
quote (OWASP's rule against CSV injection): a spreadsheet would otherwise run vendor data such as
a category `=HYPERLINK(...)` as a formula when an auditor opens the file.
"""

from __future__ import annotations

import csv
import io

from itsm_bridge.reports.findings import FIELDS
from itsm_bridge.reports.report import Report

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """`cell` as a spreadsheet shows it literally, never as a formula."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def render(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELDS), lineterminator="\r\n")  # RFC 4180, as spreadsheets expect
    writer.writeheader()
    for finding in report.findings:
        writer.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in finding.to_dict().items()})
    return out.getvalue()
