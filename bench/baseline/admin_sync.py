"""ServiceNow -> Jira as an administrator writes it by hand: pysnow, python-jira, one by one.

This is the yardstick the benchmarks measure itsm-bridge against, so it is deliberately plain:
read every incident (pysnow, paged by number), and for each one read its journal (one
sys_journal_field query), search Jira for the issue by label, create it or update it, add each
note Jira does not have yet as a comment (work notes internal), and walk the workflow to the
mapped status by transition name. Serial, no caching beyond what the libraries do themselves,
no retries beyond python-jira's own and the usual urllib3 adapter on pysnow's reads; the mapping is a hand-written dict of the vocabulary
`itsm-bridge sandbox --write-config` configures.

It runs in its own venv (`bench/baseline/venv.py`), never the project's: pysnow pins old packages.

    BASELINE_SNOW_URL=http://127.0.0.1:8001 BASELINE_SNOW_USER=... BASELINE_SNOW_PASSWORD=... \\
    BASELINE_JIRA_URL=http://127.0.0.1:8002 BASELINE_JIRA_EMAIL=... BASELINE_JIRA_TOKEN=... \\
    BASELINE_JIRA_PROJECT=OPS  python bench/baseline/admin_sync.py [--limit K]

Prints one JSON line: incidents, created, updated, comments, transitions, seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pysnow
import requests
from jira import JIRA
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

PAGE_SIZE = 1000
ISSUE_TYPE = "[System] Incident"
CATEGORY_FIELD = "customfield_10050"  # "Incident category" select
SERVICE_FIELD = "customfield_10051"  # "Affected service" select
LABEL_PREFIX = "itsm-bridge-"

PRIORITY = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
STATUS = {"1": "Open", "2": "Work in progress", "3": "Pending", "6": "Resolved", "7": "Closed", "8": "Canceled"}
CATEGORY = {
    "inquiry": "Inquiry",
    "software": "Software",
    "hardware": "Hardware",
    "network": "Network",
    "database": "Database",
}
DEFAULT_CATEGORY = "Inquiry"
SERVICE = {s: s for s in ("Email", "VPN", "Payments API", "Web Portal", "Identity / SSO", "Storage")}
RESOLUTION = {
    "Solved (Permanently)": "Done",
    "Solved (Work Around)": "Done",
    "Not Solved (Not Reproducible)": "Cannot Reproduce",
    "Closed/Resolved by Caller": "Won't Do",
}
# status -> {transition name: status it leads to}, as the project's workflow is drawn
WORKFLOW = {
    "Open": {"Start work": "Work in progress", "Cancel": "Canceled"},
    "Work in progress": {"Pend": "Pending", "Resolve": "Resolved", "Cancel": "Canceled"},
    "Pending": {"Resume": "Work in progress", "Cancel": "Canceled"},
    "Resolved": {"Close": "Closed", "Reopen": "Work in progress"},
    "Closed": {},
    "Canceled": {},
}

INCIDENT_FIELDS = [
    "sys_id",
    "number",
    "short_description",
    "description",
    "priority",
    "state",
    "category",
    "cmdb_ci",
    "close_code",
]


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"admin_sync: set {name}")
    return value


def servicenow() -> pysnow.Client:
    """pysnow on `host` (http for the loopback sandbox); it raises on a 429, so its session gets the
    usual urllib3 retry adapter: reads only, Retry-After honoured (python-jira retries on its own)."""
    url = urlsplit(env("BASELINE_SNOW_URL"))
    session = requests.Session()
    session.auth = (env("BASELINE_SNOW_USER"), env("BASELINE_SNOW_PASSWORD"))
    retry = Retry(total=8, backoff_factor=1, status_forcelist=[429, 502, 503, 504], allowed_methods=["GET"])
    session.mount(f"{url.scheme}://", HTTPAdapter(max_retries=retry))
    return pysnow.Client(host=url.netloc, use_ssl=url.scheme == "https", session=session)


def jira() -> JIRA:
    return JIRA(
        env("BASELINE_JIRA_URL"),
        basic_auth=(env("BASELINE_JIRA_EMAIL"), env("BASELINE_JIRA_TOKEN")),
        options={"rest_api_version": "3"},
    )


def incidents(snow: pysnow.Client, limit: int | None) -> Iterator[dict[str, Any]]:
    """Every incident by number, a page at a time; display values too, for the CI's name."""
    table = snow.resource(api_path="/table/incident")
    offset, seen = 0, 0
    while True:
        page = table.get(
            query="ORDERBYnumber",
            fields=INCIDENT_FIELDS,
            limit=PAGE_SIZE,
            offset=offset,
            display_value="all",
            exclude_reference_link=True,
        ).all()
        for row in page:
            if limit is not None and seen >= limit:
                return
            seen += 1
            yield {k: v["value"] for k, v in row.items()} | {"cmdb_ci_name": row["cmdb_ci"]["display_value"]}
        if len(page) < PAGE_SIZE:
            return
        offset += PAGE_SIZE


def notes(snow: pysnow.Client, sys_id: str) -> list[dict[str, Any]]:
    """Work notes and comments of one incident, oldest first."""
    journal = snow.resource(api_path="/table/sys_journal_field")
    query = f"element_id={sys_id}^elementINwork_notes,comments^ORDERBYsys_created_on"
    return list(journal.get(query=query, fields=["element", "value", "sys_created_on"]).all())


def adf(text: str) -> dict[str, Any]:
    """Jira Cloud's REST v3 takes rich text as an Atlassian Document: one paragraph per line."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in (text or "").split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_text(doc: Any) -> str:
    if isinstance(doc, str):
        return doc
    if isinstance(doc, dict):
        if doc.get("type") == "text":
            return str(doc.get("text", ""))
        parts = [adf_text(c) for c in doc.get("content", [])]
        return ("\n" if doc.get("type") == "doc" else "").join(parts)
    return ""


def issue_fields(inc: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "summary": inc["short_description"][:255],
        "description": adf(inc["description"]),
        "priority": {"name": PRIORITY.get(inc["priority"], "Medium")},
        CATEGORY_FIELD: {"value": CATEGORY.get(inc["category"], DEFAULT_CATEGORY)},
    }
    service = SERVICE.get(inc["cmdb_ci_name"])
    if service:
        fields[SERVICE_FIELD] = {"value": service}
    return fields


def path(start: str, goal: str) -> list[str]:
    """Transition names from `start` to `goal` (breadth first over WORKFLOW); [] when there is none."""
    todo, came = deque([start]), {start: ("", "")}
    while todo:
        status = todo.popleft()
        if status == goal:
            steps = []
            while status != start:
                status, name = came[status]
                steps.append(name)
            return steps[::-1]
        for name, target in WORKFLOW.get(status, {}).items():
            if target not in came:
                came[target] = (status, name)
                todo.append(target)
    return []


def sync(snow: pysnow.Client, jc: JIRA, project: str, limit: int | None) -> dict[str, int]:
    counts = {"incidents": 0, "created": 0, "updated": 0, "comments": 0, "transitions": 0}
    for inc in incidents(snow, limit):
        counts["incidents"] += 1
        label = LABEL_PREFIX + inc["number"]
        entries = notes(snow, inc["sys_id"])
        found = jc.search_issues(f'project = "{project}" AND labels = "{label}"')
        fields = issue_fields(inc)
        if found:
            issue = found[0]
            issue.update(fields=fields)
            counts["updated"] += 1
        else:
            fields |= {"project": {"key": project}, "issuetype": {"name": ISSUE_TYPE}, "labels": [label]}
            issue = jc.create_issue(fields=fields)
            counts["created"] += 1
        have = {adf_text(c.get("body")).strip() for c in (issue.raw["fields"].get("comment") or {}).get("comments", [])}
        for note in entries:
            if note["value"].strip() in have:
                continue
            internal = note["element"] == "work_notes"
            jc.add_comment(issue, adf(note["value"]), is_internal=internal)  # type: ignore[arg-type]
            counts["comments"] += 1
        goal = STATUS.get(inc["state"])
        for name in path(issue.fields.status.name, goal) if goal else []:
            extra = {"resolution": {"name": RESOLUTION.get(inc["close_code"], "Done")}} if name == "Resolve" else {}
            jc.transition_issue(issue, name, fields=extra)
            counts["transitions"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, metavar="K", help="only the first K incidents by number")
    args = parser.parse_args(argv)
    started = time.monotonic()
    snow, jc = servicenow(), jira()
    counts = sync(snow, jc, env("BASELINE_JIRA_PROJECT"), args.limit)
    print(json.dumps({**counts, "seconds": round(time.monotonic() - started, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
