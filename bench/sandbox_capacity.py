"""Capacity of the ServiceNow sandbox: memory for N incidents, and requests per second on loopback.

Run:  .venv/bin/python bench/sandbox_capacity.py [--n 100000] [--requests 3000] [--threads 4]

The sandbox runs in a child process, so its memory is its own and the client's work does not
share its interpreter lock. The child inserts N incidents through the Python API (a third of them
with a work note) and reports its resident set size (VmRSS) before and after; the parent then
measures, with a few keep-alive `requests.Session` threads and fault injection off:
- GET one incident by sys_id;
- a small list page (limit 10) of a sys_updated_on range ordered by sys_updated_on, sys_id;
- the first 1000-row page of that range over all N incidents (cold: filtered and sorted), and the
  next page (warm: the selection is kept while the table is unchanged).
Targets: >= 1000 requests/s for the small GETs, < 500 MB for 100k incidents. Not part of pytest.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RPS = 1000.0
TARGET_MB = 500.0
START = datetime(2024, 1, 1, tzinfo=UTC)
RANGE_QUERY = "sys_updated_on>={since}^ORDERBYsys_updated_on^ORDERBYsys_id"
FIELDS = "sys_id,number,short_description,state,priority,sys_updated_on,sys_mod_count"


def rss_mb() -> float:
    """This process's resident set size in MiB, from /proc/self/status (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _fields(rng: random.Random, refs: dict[str, list[str]], i: int) -> dict[str, str]:
    category, subcategory = rng.choice(
        [("software", "email"), ("network", "vpn"), ("hardware", "disk"), ("database", "oracle"), ("inquiry", "")]
    )
    state = rng.choice(["1", "2", "3", "2", "1"])
    return {
        "short_description": f"Users report errors on service {i % 97} (ticket {i})",
        "description": f"Reported by monitoring at step {i}.\nSee the runbook for service {i % 97}.",
        "category": category,
        "subcategory": subcategory,
        "state": state,
        "impact": str(rng.randint(1, 3)),
        "urgency": str(rng.randint(1, 3)),
        "assignment_group": rng.choice(refs["groups"]),
        "caller_id": rng.choice(refs["users"]),
        "cmdb_ci": rng.choice(refs["cis"]),
        "opened_at": (START + timedelta(seconds=i // 2)).strftime("%Y-%m-%d %H:%M:%S"),
    }


def _serve(n: int, conn: Connection) -> None:
    from itsm_bridge.sandbox.server import serve
    from itsm_bridge.sandbox.servicenow.api import ServiceNowPlatform

    before = rss_mb()
    platform = ServiceNowPlatform(seed=0)
    rng = random.Random(0)
    refs = {
        "groups": [platform.add_reference("sys_user_group", f"Group {g}") for g in range(12)],
        "users": [platform.add_reference("sys_user", f"User {u}") for u in range(200)],
        "cis": [platform.add_reference("cmdb_ci", f"Service {c}") for c in range(97)],
    }
    started = time.perf_counter()
    sys_ids = []
    for i in range(n):
        fields = _fields(rng, refs, i)
        if i % 3 == 0:
            fields["work_notes"] = f"Looked at the queue for ticket {i}; restarting the pool."
        # two records a second: many share a second, as on a busy instance
        sys_ids.append(platform.insert_incident(fields, updated_on=START + timedelta(seconds=i // 2))["sys_id"])
    insert_s = time.perf_counter() - started
    after = rss_mb()
    serve(platform)
    conn.send(
        {
            "base_url": platform.base_url,
            "credentials": platform.credentials(),
            "rss_before": before,
            "rss_after": after,
            "insert_s": insert_s,
            "sample": rng.sample(sys_ids, min(len(sys_ids), 500)),
        }
    )
    while conn.recv() == "rss":
        conn.send(rss_mb())


def _rate(
    total: int, threads: int, make: Callable[[requests.Session, int], requests.Response], auth: tuple[str, str]
) -> tuple[float, int]:
    """(requests per second, failures) for `total` requests spread over `threads` keep-alive sessions."""
    failures = [0] * threads

    def worker(w: int) -> None:
        with requests.Session() as session:
            session.auth = auth
            for i in range(w, total, threads):
                if make(session, i).status_code != 200:
                    failures[w] += 1

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return total / (time.perf_counter() - started), sum(failures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="incidents to insert")
    parser.add_argument("--requests", type=int, default=3000, help="requests per throughput figure")
    parser.add_argument("--threads", type=int, default=4, help="keep-alive client threads")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(args.n, child), daemon=True)
    proc.start()
    info: dict[str, Any] = parent.recv()
    base, creds, sample = info["base_url"], info["credentials"], info["sample"]
    auth = (creds["user"], creds["password"])
    # the last three quarters of the records (two a second from START)
    query = RANGE_QUERY.format(since=(START + timedelta(seconds=args.n // 8)).strftime("%Y-%m-%d %H:%M:%S"))
    grown = info["rss_after"] - info["rss_before"]
    print(f"inserted {args.n} incidents in {info['insert_s']:.1f} s ({args.n / info['insert_s']:.0f}/s)")
    print(
        f"sandbox RSS: {info['rss_before']:.0f} MB before, {info['rss_after']:.0f} MB after "
        f"(+{grown:.0f} MB; {grown * 1024 / max(args.n, 1):.2f} KB per incident)"
    )

    def by_id(session: requests.Session, i: int) -> requests.Response:
        return session.get(
            f"{base}/api/now/table/incident/{sample[i % len(sample)]}", params={"sysparm_fields": FIELDS}
        )

    def small_page(session: requests.Session, i: int) -> requests.Response:
        return session.get(
            f"{base}/api/now/table/incident",
            params={
                "sysparm_query": query,
                "sysparm_fields": FIELDS,
                "sysparm_limit": "10",
                "sysparm_offset": str((i * 10) % max(args.n // 2, 1)),
            },
        )

    with requests.Session() as session:
        session.auth = auth
        params = {
            "sysparm_query": query,
            "sysparm_fields": FIELDS,
            "sysparm_limit": "1000",
            "sysparm_display_value": "all",
            "sysparm_exclude_reference_link": "true",
        }
        timings = []
        for offset in ("0", "1000"):
            started = time.perf_counter()
            answer = session.get(f"{base}/api/now/table/incident", params={**params, "sysparm_offset": offset})
            timings.append(time.perf_counter() - started)
            assert answer.status_code == 200 and len(answer.json()["result"]) == min(1000, args.n), answer.text[:200]
        print(
            f"list of a sys_updated_on range over {args.n}, limit 1000, display values all: "
            f"first page {timings[0] * 1000:.0f} ms (cold), next page {timings[1] * 1000:.0f} ms (warm); "
            f"X-Total-Count {answer.headers['X-Total-Count']}"
        )

    results = {}
    for label, make in (("GET by sys_id", by_id), ("paged list, limit 10", small_page)):
        _rate(min(200, args.requests), args.threads, make, auth)  # warm-up: connections, selection cache
        rps, failures = _rate(args.requests, args.threads, make, auth)
        results[label] = rps
        verdict = "ok" if rps >= TARGET_RPS and not failures else "BELOW TARGET"
        print(
            f"{label}: {rps:.0f} requests/s over {args.threads} keep-alive threads, {failures} failed "
            f"(target >= {TARGET_RPS:.0f}) {verdict}"
        )
    parent.send("rss")
    serving = parent.recv()
    parent.send("stop")
    proc.join(timeout=10)
    print(
        f"sandbox RSS while serving: {serving:.0f} MB (target < {TARGET_MB:.0f} MB total) "
        f"{'ok' if serving < TARGET_MB else 'OVER TARGET'}"
    )


if __name__ == "__main__":
    main()
