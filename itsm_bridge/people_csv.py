"""The people map as a CSV file: an `email` column, then one column per platform (`jira`,
`servicenow`) holding that platform's user id; an empty cell says nothing."""

from __future__ import annotations

import csv
from pathlib import Path

from itsm_bridge import platforms
from itsm_bridge.errors import ConfigError, ConfigProblem
from itsm_bridge.people import email_of

KEY = "people.csv"


def read_people_csv(path: Path) -> dict[str, dict[str, str]]:
    """E-mail address -> platform -> user id; every problem named with the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError([ConfigProblem(KEY, f"cannot read the file: {exc.strerror}", str(path))]) from None
    rows = csv.reader(text.splitlines())
    header = [h.strip() for h in next(rows, [])]
    problems: list[ConfigProblem] = []
    columns = header[1:]
    if not header or header[0] != "email":
        problems.append(ConfigProblem(KEY, "the first column must be 'email'", str(path), 1))
    unknown = [c for c in columns if not platforms.is_two_way(c)]
    if unknown:
        names = ", ".join(platforms.two_way_names())
        problems.append(ConfigProblem(KEY, f"unknown platform column(s) {unknown}; columns are {names}", str(path), 1))
    out: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        email = email_of(row[0])
        if email is None:
            problems.append(ConfigProblem(KEY, f"{row[0]!r} is not an e-mail address", str(path), line))
            continue
        if len(row) > len(header):
            problems.append(ConfigProblem(KEY, "more cells than the header has columns", str(path), line))
            continue
        out[email] = {c: cell.strip() for c, cell in zip(columns, row[1:], strict=False) if cell.strip()}
    if problems:
        raise ConfigError(problems)
    return out
