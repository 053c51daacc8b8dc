"""Reading every issue of a project: the Jira connector's search against python-jira's, on the sandbox.

    python bench/python_jira_read.py [--n 1000]

Both ask the enhanced search (`POST /rest/api/3/search/jql`) for the same fields and the
correlation entity property, 100 issues a page. Prints wall time and requests for each, from
the sandbox's call log. The connector's read also turns each issue into a record (ADF to text,
comments, times) and reads the `Date` header that says how far the read is complete; python-jira
builds its `Issue` resources. Neither is rate limited here (the sandbox's budget is generous).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jira import JIRA  # noqa: E402

from itsm_bridge.connectors.jira import JiraConnector  # noqa: E402
from itsm_bridge.connectors.jira.adf import text_to_adf  # noqa: E402
from itsm_bridge.connectors.jira.identity import PROPERTIES  # noqa: E402
from itsm_bridge.connectors.jira.records import search_fields  # noqa: E402
from itsm_bridge.sandbox.jira.api import JiraPlatform  # noqa: E402
from itsm_bridge.sandbox.server import serve, stop  # noqa: E402
from tests.connectors.jira.test_jira_responses import jira_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    n = parser.parse_args().n
    platform = JiraPlatform(seed=0)
    platform.search_lag_s = 0.0
    for i in range(n):
        platform.create_issue({"summary": f"issue {i}", "description": text_to_adf(f"text {i}")})
    served = serve(platform)
    try:
        creds = platform.credentials()
        os.environ["ITSM_SANDBOX_JIRA_TOKEN"] = creds["token"]
        cfg = jira_config(platform.base_url, email=creds["email"], page_size=100)
        ours = JiraConnector(cfg)
        before = len(platform.call_log.calls())
        started = time.perf_counter()
        read = sum(1 for _ in ours.changed_since(None))
        print(
            f"connector:   {read} issues in {time.perf_counter() - started:.2f} s, "
            f"{len(platform.call_log.calls()) - before} requests"
        )
        assert cfg.settings.jira is not None
        client = JIRA(
            platform.base_url,
            basic_auth=(creds["email"], creds["token"]),
            max_retries=0,
            options={"rest_api_version": "3"},
        )
        before = len(platform.call_log.calls())
        started = time.perf_counter()
        issues = client.search_issues(
            'project = "OPS" ORDER BY updated ASC, key ASC',
            maxResults=False,
            fields=search_fields(cfg.settings.jira),
            properties=",".join(PROPERTIES),
        )
        calls = platform.call_log.calls()[before:]
        print(
            f"python-jira: {len(issues)} issues in {time.perf_counter() - started:.2f} s, {len(calls)} requests "
            f"({', '.join(sorted({f'{c.method} {c.path}' for c in calls}))})"
        )
    finally:
        stop([served])


if __name__ == "__main__":
    main()
