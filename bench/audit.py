"""Audit of N incidents (default 100k) from the state store: seconds, against a 4 s target.

Run:  .venv/bin/python bench/audit.py [--n 100000]

`itsm-bridge audit` reads the platforms; timing that would time the sandbox's HTTP, not the
audit. So this benchmark seeds a SQLite state store as a sync leaves it (links to ServiceNow and
Jira for every incident, to the status page for the open P1/P2 ones; a shadow per incident with each platform's
values as last synced; 1% quarantined) with a known share of inconsistencies, then measures the
store-side audit: reading links, shadows and quarantine (`collect.store_snapshot`), every check
and metric (`report.build`), dropping the snapshot (as `itsm-bridge audit` does once the report
is built), and rendering JSON, CSV and HTML. Each step shows its wall time and the process's CPU
time: on a shared machine the wall time also counts the waits for a core.

Included: everything after the platforms' records are in memory. Not included: reading the
platforms over HTTP and mapping their records (per record, the same mapping the sync does).
Seeding the store is not timed. Not part of pytest.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from itsm_bridge import config as config_module  # noqa: E402
from itsm_bridge.collector import gc_paused  # noqa: E402
from itsm_bridge.reports.collect import iter_shadows, store_snapshot  # noqa: E402
from itsm_bridge.reports.render import render  # noqa: E402
from itsm_bridge.reports.report import build  # noqa: E402
from itsm_bridge.store.schema import links, quarantine, shadows  # noqa: E402
from itsm_bridge.store.sql import SqlStore  # noqa: E402

TARGET_S = 4.0
CATEGORIES = {
    "Software": ["Email", "Operating System"],
    "Network": ["VPN", "DNS"],
    "Hardware": ["CPU", "Disk"],
    "Database": ["DB2", "Oracle"],
    "Inquiry": [None],
}
SERVICES = ["Email", "VPN", "Payments API", "Web Portal"]
GROUPS = ["Service Desk", "Network Operations", "Database Administration", "Messaging", "Payments SRE"]
MATRIX = {
    (1, 1): "P1",
    (1, 2): "P2",
    (1, 3): "P3",
    (2, 1): "P2",
    (2, 2): "P3",
    (2, 3): "P4",
    (3, 1): "P3",
    (3, 2): "P4",
    (3, 3): "P5",
}
STATES = ["new", "in_progress", "on_hold", "resolved", "closed", "canceled"]


def seed(store: SqlStore, n: int, rng: random.Random) -> dict[str, int]:
    """N incidents as a sync leaves them, with a known share of drift; returns what was planted."""
    now = datetime.now(UTC)
    planted = {"status_disagree": 0, "category_mismatch": 0, "quarantined": 0}
    link_rows, shadow_rows, held = [], [], []
    stamp = now.isoformat()
    for i in range(n):
        key = f"INC{i:07d}"
        category = rng.choice(list(CATEGORIES))
        sub = rng.choice(CATEGORIES[category])
        impact, urgency = rng.randint(1, 3), rng.randint(1, 3)
        state = rng.choices(STATES, weights=[10, 20, 5, 40, 20, 5])[0]
        opened = now - timedelta(minutes=rng.randrange(0, 180 * 24 * 60))
        resolved = opened + timedelta(minutes=rng.randrange(5, 6000)) if state in ("resolved", "closed") else None
        snow = {
            "title": f"Incident {i}",
            "description": "",
            "state": state,
            "impact": impact,
            "urgency": urgency,
            "category": category,
            "subcategory": sub,
            "service": rng.choice(SERVICES),
            "assignment_group": rng.choice(GROUPS),
            "resolution_code": "Solved Permanently" if resolved else None,
            "resolution_notes": "fixed" if resolved else None,
        }
        jira = {
            k: snow[k]
            for k in ("title", "description", "state", "category", "subcategory", "service", "resolution_code")
        }
        roll = rng.random()
        if roll < 0.01 and state in ("resolved", "closed"):
            jira["state"] = "in_progress"
            planted["status_disagree"] += 1
        elif roll < 0.02:
            jira["category"] = "Network" if category != "Network" else "Software"
            jira["subcategory"] = None
            planted["category_mismatch"] += 1
        fields = {
            **snow,
            "priority": MATRIX[(impact, urgency)],
            "opened": opened.isoformat(),
            "resolved": resolved.isoformat() if resolved else None,
            "updated": (resolved or opened).isoformat(),
        }
        shadow_rows.append(
            {
                "key": key,
                "fields": json.dumps(fields),
                "versions": json.dumps({"servicenow": "3"}),
                "sides": json.dumps({"servicenow": snow, "jira": jira}),
                "comments_seen": "[]",
                "updated_at": stamp,
            }
        )
        link_rows.append(
            {"key": key, "platform": "servicenow", "remote_id": f"s{i}", "display": key, "created_at": stamp}
        )
        link_rows.append(
            {"key": key, "platform": "jira", "remote_id": f"j{i}", "display": f"OPS-{i}", "created_at": stamp}
        )
        if state in ("new", "in_progress", "on_hold") and MATRIX[(impact, urgency)] in ("P1", "P2"):  # published
            link_rows.append(
                {"key": key, "platform": "statuspage", "remote_id": f"p{i}", "display": "", "created_at": stamp}
            )
        if i % 100 == 7:
            held.append(
                {
                    "key": key,
                    "platform": "servicenow",
                    "ref": f"s{i}",
                    "record": "{}",
                    "first_seen": stamp,
                    "last_seen": stamp,
                    "attempts": 1,
                    "findings": json.dumps([{"message": "category maps nowhere"}]),
                }
            )
    planted["quarantined"] = len(held)
    with store._write() as conn:
        conn.execute(insert(links), link_rows)
        conn.execute(insert(shadows), shadow_rows)
        conn.execute(insert(quarantine), held)
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="itsm-bridge-bench-audit-"))
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    cfg = config_module.parse(
        example.replace("sqlite:///itsm-bridge.sqlite", f"sqlite:///{work / 'state.sqlite'}"), work / "x.toml"
    )
    store = SqlStore(cfg.state_url)
    t = time.perf_counter()
    planted = seed(store, args.n, random.Random(7))
    print(f"seeded {args.n:,} incidents in {time.perf_counter() - t:.1f} s (not timed): planted {planted}")

    timings: dict[str, tuple[float, float]] = {}  # step -> (wall, CPU) seconds
    clock = [time.perf_counter(), time.process_time()]

    def lap(name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        timings[name] = (wall - clock[0], cpu - clock[1])
        clock[:] = [wall, cpu]

    with gc_paused():  # over both steps, as each pauses it: no collector pass between them
        snap = store_snapshot(cfg, store, iter_shadows(store))
        lap("read store (links, shadows, quarantine)")
        report = build(snap, cfg, datetime.now(UTC))
        lap("checks and metrics")
        del snap
        lap("drop the snapshot")
    sizes = {}
    for fmt in ("json", "csv", "html"):
        sizes[fmt] = len(render(report, fmt).encode("utf-8"))
        lap(f"render {fmt}")
    total = sum(wall for wall, _ in timings.values())
    cpu_total = sum(cpu for _, cpu in timings.values())
    store.close()

    print(f"  {'step':<42} {'wall':>8} {'CPU':>8}")
    for name, (wall, cpu) in timings.items():
        print(f"  {name:<42} {wall:6.2f} s {cpu:6.2f} s")
    by_kind = report.by_kind()
    print(f"findings: {len(report.findings):,} {by_kind}")
    print("outputs: " + ", ".join(f"{fmt} {size / 1e6:.1f} MB" for fmt, size in sizes.items()))
    print(
        f"total {total:.2f} s (CPU {cpu_total:.2f} s) for {args.n:,} incidents ({args.n / total:,.0f}/s); "
        f"target {TARGET_S:.0f} s: "
        f"{total / TARGET_S:.2f} of the target ({'OK' if total < TARGET_S else 'OVER'})"
    )
    missing = {k: v for k, v in planted.items() if by_kind.get(k, 0) != v}
    if missing:
        print(f"MISMATCH: planted {planted}, found {by_kind}")
        sys.exit(1)


if __name__ == "__main__":
    main()
