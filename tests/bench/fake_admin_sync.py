"""A stand-in for bench/baseline/admin_sync.py in tests: the same interface, a few real calls.

Reads one page of incidents, then per incident searches Jira by label and creates the issue, as
the real baseline does, and prints its one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, required=True)
    limit = parser.parse_args().limit
    started = time.perf_counter()
    snow = requests.Session()
    snow.auth = (os.environ["BASELINE_SNOW_USER"], os.environ["BASELINE_SNOW_PASSWORD"])
    jira = requests.Session()
    jira.auth = (os.environ["BASELINE_JIRA_EMAIL"], os.environ["BASELINE_JIRA_TOKEN"])
    rows = snow.get(
        f"{os.environ['BASELINE_SNOW_URL']}/api/now/table/incident", params={"sysparm_limit": str(limit)}, timeout=30
    ).json()["result"]
    created = 0
    for row in rows:
        label = f"snow-{row['number']}"
        project = os.environ["BASELINE_JIRA_PROJECT"]
        jira.post(
            f"{os.environ['BASELINE_JIRA_URL']}/rest/api/3/search/jql",
            json={"jql": f"project = {project} AND labels = {label}"},
            timeout=30,
        )
        answer = jira.post(
            f"{os.environ['BASELINE_JIRA_URL']}/rest/api/3/issue",
            timeout=30,
            json={
                "fields": {
                    "project": {"key": project},
                    "issuetype": {"name": "[System] Incident"},
                    "summary": row["short_description"],
                    "labels": [label],
                }
            },
        )
        created += answer.status_code == 201
    print(
        json.dumps(
            {
                "incidents": len(rows),
                "created": created,
                "updated": 0,
                "comments": 0,
                "transitions": 0,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
