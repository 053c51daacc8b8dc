"""How busy the bridge kept the Jira budget: writes over time, and wall time against the floor.

- `utilization_timeline`: Jira writes per second over the run, in at most `MAX_BUCKETS` equal
  buckets from the first Jira write to the last (a bucket is a whole number of seconds, at least
  one), so the idle gaps show, not only the average.
- `wall_floor_ratio`: the cycle's wall time over the time its Jira floor needs at the configured
  rate (`floor calls / rate`): 1.0 means the rate limit was the only wall.

Pure functions over the sandbox's call log rows (platform, method, shape, status, ISO time).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

MAX_BUCKETS = 30
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
READ_POSTS = ("/rest/api/3/search/jql", "/rest/api/3/search/approximate-count", "/rest/api/3/issue/bulkfetch")


def jira_write_times(calls: Iterable[Sequence[object]]) -> list[float]:
    """UNIX times of the Jira writes in a call log, in order (POSTs that only read left out)."""
    return sorted(
        datetime.fromisoformat(str(c[4])).timestamp()
        for c in calls
        if c[0] == "jira" and c[1] in WRITE_METHODS and str(c[2]).split(" ")[1] not in READ_POSTS
    )


def utilization_timeline(times: Sequence[float], max_buckets: int = MAX_BUCKETS) -> tuple[list[float], int]:
    """(writes per second in each bucket, bucket width in seconds) over the span of `times`."""
    if not times:
        return [], 1
    span = times[-1] - times[0]
    width = max(1, math.ceil(span / max_buckets)) if span > 0 else 1
    counts = [0] * (int(span // width) + 1)
    for t in times:
        counts[int((t - times[0]) // width)] += 1
    return [round(c / width, 2) for c in counts], width


def wall_floor_ratio(seconds: float, jira_floor_calls: int, rate_per_s: float) -> float | None:
    """Wall time / (Jira floor calls / configured Jira rate); None without a Jira floor."""
    if jira_floor_calls <= 0 or rate_per_s <= 0:
        return None
    return round(seconds / (jira_floor_calls / rate_per_s), 3)
