"""`workers` sizes each platform's connection pool: a sync with 16 requests in flight to Jira
keeps every connection it opened (urllib3 says "Connection pool is full" when it drops one)."""

from __future__ import annotations

from datetime import datetime, timedelta

from itsm_bridge.sandbox.faults import FaultProfile

POOL_FULL = "Connection pool is full"


def with_workers(bridge, n: int) -> None:
    text = bridge.config_path.read_text()
    for table in ("[servicenow]", "[jira]"):
        text = text.replace(table, f"{table}\nworkers = {n}", 1)
    bridge.config_path.write_text(text)


def most_in_flight(calls) -> int:
    """The most requests the sandbox was handling at once, from each call's start and duration."""
    edges = []
    for c in calls:
        start = datetime.fromisoformat(c.at)
        edges += [(start, 1), (start + timedelta(milliseconds=c.duration_ms), -1)]
    now = most = 0
    for _, step in sorted(edges):
        now += step
        most = max(most, now)
    return most


def test_a_sync_with_16_workers_drops_no_pooled_connection(bridge):
    with_workers(bridge, 16)
    bridge.sandbox.seed(60)
    bridge.sandbox.jira.faults.set_profile(FaultProfile(latency_ms=100))  # requests overlap at Jira
    r = bridge.run("--json", "sync")
    assert r.returncode in (0, 1), r.stderr  # 1: the seeded data holds records that are quarantined
    assert most_in_flight(bridge.sandbox.calls("jira")) > 8  # more than the old fixed pool of 8
    assert POOL_FULL not in r.stderr
