"""Memory of a ServiceNow incremental read: RSS stays flat while 100k incidents stream by.

Run:  .venv/bin/python bench/servicenow_memory.py [--incidents 100000] [--page-size 1000]

The sandbox runs in a child process (its 100k stored incidents are not the reader's memory);
this process reads every incident through `ServiceNowConnector.changed_since` and prints its
resident set size after 10k records and after all of them. Not part of pytest.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """Current resident set size of this process, in MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _serve(count: int, conn: Connection) -> None:
    from itsm_bridge.sandbox.server import serve
    from itsm_bridge.sandbox.servicenow.api import ServiceNowPlatform

    platform = ServiceNowPlatform(seed=0)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(count):
        # ten records a second: many share a second, as on a busy instance
        platform.insert_incident(
            {
                "short_description": f"bench incident {i}",
                "category": "software",
                "subcategory": "email",
                "impact": "2",
                "urgency": "2",
            },
            updated_on=start + timedelta(seconds=i // 10),
        )
    serve(platform)
    conn.send((platform.base_url, platform.credentials()))
    conn.recv()  # until the reader is done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()

    parent, child = mp.Pipe()
    server = mp.get_context("fork").Process(target=_serve, args=(args.incidents, child), daemon=True)
    seeded = time.perf_counter()
    server.start()
    base_url, creds = parent.recv()
    print(f"sandbox seeded with {args.incidents} incidents in {time.perf_counter() - seeded:.1f}s at {base_url}")

    from itsm_bridge.connectors.servicenow import ServiceNowConnector
    from tests.connectors import snow_config

    os.environ["SNOW_TEST_PASSWORD"] = creds["password"]
    config = snow_config(base_url, page_size=args.page_size, requests_per_second=1000.0)
    connector = ServiceNowConnector(config)
    baseline = rss_mb()
    print(f"RSS before reading: {baseline:.1f} MiB")
    marks = {10_000, args.incidents}
    figures: dict[int, float] = {}
    started = time.perf_counter()
    count = 0
    for _ in connector.changed_since(None):
        count += 1
        if count in marks:
            figures[count] = rss_mb()
            print(f"RSS after {count:>7} records: {figures[count]:.1f} MiB  ({time.perf_counter() - started:.1f}s)")
    elapsed = time.perf_counter() - started
    parent.send("done")
    server.join(timeout=5)
    print(
        f"read {count} records in {elapsed:.1f}s ({count / elapsed:.0f}/s), {connector.calls} requests "
        f"({connector.stats.pages} incident pages, the rest notes)"
    )
    if len(figures) == 2:
        low, high = figures[min(figures)], figures[max(figures)]
        print(f"growth from 10k to {max(figures)}: {high - low:+.1f} MiB (x{high / low:.2f})")


if __name__ == "__main__":
    main()
