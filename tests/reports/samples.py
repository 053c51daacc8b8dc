"""Hand-built audit reports for the renderers: a small one with every part, and a large one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from itsm_bridge.model import RemoteRef
from itsm_bridge.reports import weblinks
from itsm_bridge.reports.findings import AuditFinding
from itsm_bridge.reports.report import Report

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SYS_IDS = {"INC1": "a" * 32, "INC2": "b" * 32, "INC3": "c" * 32, "INC4": "d" * 32}


def stats(count: int, mean: float | None, median: float | None) -> dict[str, Any]:
    return {"count": count, "mean_minutes": mean, "median_minutes": median}


def records(keys: list[str], web: dict[str, str]) -> dict[str, dict[str, dict[str, str | None]]]:
    """ServiceNow, Jira and page records of each key, with their web URLs under `web`."""
    out = {}
    for i, key in enumerate(keys, 1):
        refs = [
            RemoteRef("servicenow", SYS_IDS.get(key, f"{i:032x}"), key),
            RemoteRef("jira", str(10000 + i), f"OPS-{i}"),
            RemoteRef("statuspage", f"p{i}", f"Outage {i}"),
        ]
        out[key] = {r.platform: {"id": r.id, "ref": r.display, "url": weblinks.url(r.platform, r, web)} for r in refs}
    return out


def weeks(n: int) -> list[dict[str, Any]]:
    """`n` weeks of trend rows; the third has one long outlier (its mean far above its median)."""
    out = []
    for w in range(n):
        resolved = 5 + w % 4
        mean = 900.0 if w == 2 else 200.0 + 10 * w
        out.append(
            {
                "week": f"2026-W{w + 1:02d}",
                "opened": 6 + w % 3,
                "resolved": resolved,
                "sla_judged": resolved,
                "sla_met": resolved - w % 2,
                "sla_compliance_pct": round(100.0 * (resolved - w % 2) / resolved, 1),
                "mttr": stats(resolved, mean, 180.0 + 10 * w),
            }
        )
    return out


def metrics(n_weeks: int = 8) -> dict[str, Any]:
    mttr = {
        "overall": stats(3, 300.0, 240.0),
        "by_priority": {"P1": stats(1, 120.0, 120.0), "P2": stats(2, 400.0, 240.0)},
        "by_category": {},
        "by_service": {},
    }
    return {
        "incidents": 3,
        "timeline_inconsistent": 0,
        "mtta": {**mttr, "without_ack": 0},
        "mttr": mttr,
        "mttd": {**mttr, "measured": False, "without_detected": 0, "detected_after_opened": 0},
        "first_contact_resolution": {
            "measured": True,
            "overall": {
                "count": 3,
                "first_contact": 2,
                "rate_pct": 66.7,
                "mean_reassignments": 0.33,
                "median_reassignments": 0,
            },
            "by_priority": {},
            "by_category": {},
            "by_service": {},
        },
        "reopen_rate": {"measured": False, "overall": {}, "by_priority": {}, "by_category": {}, "by_service": {}},
        "sla": [
            {
                "priority": "P1",
                "target_minutes": 240,
                "met": 1,
                "breached": 0,
                "open_breached": 0,
                "compliance_pct": 100.0,
            }
        ],
        "recurrence": {"window_days": 7, "recurrences": 0, "groups": []},
        "weekly_volume": [
            {"week": w["week"], "opened": w["opened"], "resolved": w["resolved"]} for w in weeks(n_weeks)
        ],
        "weekly": weeks(n_weeks),
        "communication": {
            "published": 2,
            "breaches": 1,
            "first_post": stats(2, 12.5, 12.5),
            "incidents": [
                {
                    "key": "INC1",
                    "priority": "P1",
                    "major": True,
                    "first_post_minutes": 5.0,
                    "longest_gap_minutes": 95.0,
                    "cadence_minutes": 30,
                    "breached": True,
                },
                {
                    "key": "INC3",
                    "priority": "P3",
                    "major": False,
                    "first_post_minutes": 20.0,
                    "longest_gap_minutes": 40.0,
                    "cadence_minutes": None,
                    "breached": False,
                },
            ],
        },
    }


def sample_report(web: dict[str, str] | None = None) -> Report:
    """Two incidents held back (unmapped category: one finding each beside `quarantined`), one
    incident with a warning, one with a warning and a hostile message."""
    web = (
        web if web is not None else {"servicenow": "https://acme.service-now.com", "jira": "https://acme.atlassian.net"}
    )
    findings = [
        AuditFinding("unmapped_category", "block", "INC1", "servicenow", "category", "facilities", "", "INC1", "m1"),
        AuditFinding("quarantined", "block", "INC1", "servicenow", "", "", "", "INC1", "held back"),
        AuditFinding(
            "unmapped_service", "block", "INC4", "servicenow", "service", "Legacy Fax Gateway", "", "INC4", "m4"
        ),
        AuditFinding("quarantined", "block", "INC4", "servicenow", "", "", "", "INC4", "held back"),
        AuditFinding("priority_off_matrix", "warn", "INC2", "jira", "priority", "P3", "P2", "OPS-2", "m2"),
        AuditFinding(
            "page_stale", "warn", "INC3", "statuspage", "status", "investigating", "resolved", "p3", "m <script>"
        ),
    ]
    return Report(
        NOW,
        None,
        "platforms",
        "servicenow",
        ["jira", "statuspage"],
        sorted(findings, key=lambda f: (f.key, f.kind)),
        {"servicenow": {"Network": 5, "Software": 3}, "jira": {"Network": 4, "Software": 3}},
        [],
        metrics(),
        {"servicenow": 8, "jira": 7, "statuspage": 2},
        incidents=8,
        records=records(["INC1", "INC2", "INC3", "INC4"], web),
    )


KINDS_AT_SCALE = [
    ("priority_off_matrix", "warn", "jira", "priority", "P3", "P2"),
    ("status_disagree", "warn", "jira", "state", "in_progress", "resolved"),
    ("category_mismatch", "warn", "jira", "category", "Network", "Software"),
    ("unlinked", "warn", "statuspage", "link", "", ""),
    ("required_missing", "warn", "servicenow", "assignment_group", "", "resolve"),
    ("unmapped_category", "block", "servicenow", "category", "facilities", ""),
]


def large_report(n: int, share: float = 1.0, seed: int = 7) -> Report:
    """`n` incidents, `share` of them with one to three findings each (1.0: every one, an audit
    before any clean-up), 52 weeks of trends."""
    rng = random.Random(seed)
    keys = [f"INC{10_000_000 + i}" for i in range(n)]
    findings: list[AuditFinding] = []
    for key in keys[: int(n * share)]:
        for kind, sev, platform, field, value, expected in rng.sample(KINDS_AT_SCALE, rng.randint(1, 3)):
            message = f"{platform} says {field} {value!r}, servicenow (the system of record) says {expected!r}"
            findings.append(AuditFinding(kind, sev, key, platform, field, value, expected, key, message))  # type: ignore[arg-type]
        if any(f.key == key and f.severity == "block" for f in findings[-3:]):
            findings.append(AuditFinding("quarantined", "block", key, "servicenow", "", "", "", key, "held back"))
    m = metrics(52)
    m["incidents"] = n
    web = {"servicenow": "https://acme.service-now.com", "jira": "https://acme.atlassian.net"}
    return Report(
        NOW + timedelta(days=300),
        None,
        "platforms",
        "servicenow",
        ["jira", "statuspage"],
        findings,
        {"servicenow": {"Network": n // 2, "Software": n - n // 2}},
        [],
        m,
        {"servicenow": n, "jira": n},
        incidents=n,
        records=records(keys[: int(n * share)], web),
    )
