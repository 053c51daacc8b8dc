"""The findings as CSV, one finding per row, for spreadsheets (columns: `findings.FIELDS`).

With a baseline (`audit --baseline`) a last column `change` says `new` or `still_open`, and the
findings fixed since the baseline follow as rows whose `change` is `fixed`.

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
    columns = [*FIELDS, "change"] if report.baseline else list(FIELDS)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")  # RFC 4180, as spreadsheets expect
    writer.writeheader()
    rows = [[report.finding_dict(f) for f in report.findings]]
    if report.baseline:
        rows.append([{**f, "change": "fixed"} for f in report.baseline.fixed])
    for row in (r for part in rows for r in part):
        writer.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()})
    return out.getvalue()
