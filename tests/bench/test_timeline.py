"""bench/timeline.py: the Jira write timeline and the wall time against the floor, from call rows."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.timeline import jira_write_times, utilization_timeline, wall_floor_ratio  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def row(platform: str, method: str, shape: str, at_s: float) -> tuple[str, str, str, int, str]:
    return (platform, method, f"{method} {shape}", 200, (T0 + timedelta(seconds=at_s)).isoformat())


def test_only_jira_writes_count_not_reads_sent_as_post() -> None:
    calls = [
        row("jira", "POST", "/rest/api/3/issue/{id}/transitions", 2.0),
        row("jira", "POST", "/rest/api/3/search/jql", 0.5),
        row("jira", "POST", "/rest/api/3/issue/bulkfetch", 0.7),
        row("jira", "GET", "/rest/api/3/issue/{id}/transitions", 0.8),
        row("servicenow", "PATCH", "/api/now/table/incident/{id}", 0.9),
        row("jira", "PUT", "/rest/api/3/issue/{id}", 1.0),
    ]
    assert jira_write_times(calls) == [(T0 + timedelta(seconds=s)).timestamp() for s in (1.0, 2.0)]


def test_an_idle_gap_shows_as_a_zero_bucket() -> None:
    times = [0.0, 0.2, 0.4, 2.1, 2.5]  # busy, one second with nothing, busy
    buckets, width = utilization_timeline(times)
    assert width == 1
    assert buckets == [3.0, 0.0, 2.0]


def test_a_long_run_keeps_the_timeline_small_in_whole_second_buckets() -> None:
    times = [i * 0.5 for i in range(400)]  # 2 writes a second for 200 s
    buckets, width = utilization_timeline(times, max_buckets=30)
    assert width == 7 and len(buckets) <= 30
    assert buckets[0] == 2.0


def test_no_write_makes_an_empty_timeline() -> None:
    assert utilization_timeline([]) == ([], 1)
    assert utilization_timeline([5.0]) == ([1.0], 1)


def test_wall_floor_ratio_is_wall_time_over_the_floor_at_the_configured_rate() -> None:
    assert wall_floor_ratio(116.0, 4500, 45.0) == 1.16
    assert wall_floor_ratio(3.0, 0, 45.0) is None
