"""`itsm-bridge serve` on the sandbox: latency with webhooks vs polling, throughput, failover and
lost webhooks. Prints the figures; not part of pytest.

Run:  ITSM_BRIDGE_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:55439/postgres \\
      .venv/bin/python bench/serve.py [--scenario all|latency|throughput|failover|lossy]
          [--rate 20] [--seconds 30] [--workers 3]

- latency: a title changed on one side (ServiceNow, then Jira), one change at a time, until the
  other side shows it; p50/p95 with webhooks, then with webhooks off and the same changes found
  by serve's sweep (every `--poll-interval` s). Target: webhook p95 under 2 s.
- throughput: `--rate` work notes a second for `--seconds` on random linked incidents, `--workers`
  serve processes (`--slots` job slots each) behind a round-robin balancer on one PostgreSQL store
  and queue, no sweep, the sandbox's Jira and ServiceNow limited to `--limit` requests a second and
  the bridge configured at 90% of it; every note must reach Jira exactly once (lost: never;
  duplicated: twice or more) and the backlog (jobs queued or taken) must drain within 10 s of the
  burst. Each note is one Jira comment, so a vendor-like 50 requests a second cannot carry 50 notes
  a second: the default limit is 150, and the line printed says which was run.
  The issue asks for 50/s for 2 minutes; on a shared 2-core machine the default is scaled down
  (the command line says how much) and the figures say what was run.
- failover: two workers behind a round-robin balancer (as deploy/compose/nginx.conf), notes at
  `--rate`/2 a second, one worker killed with SIGKILL halfway, no sweep; every note exactly once.
- lossy: 20% of the webhooks dropped (`--webhook-faults lossy`), sweep every `--sweep` s: every
  note arrives within one sweep interval of the last change.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

STALL_S = 60  # no arrival for this long while notes are pending: dump the workers' stacks

from serve_harness import Arrivals, Harness, Spreader, percentile, wait_until  # noqa: E402


def latency(args: argparse.Namespace, workdir: Path) -> None:
    for mode in ("webhooks", "polling"):
        sweep = args.poll_interval if mode == "polling" else 300
        with Harness(workdir / f"latency-{mode}", incidents=24, pg_url=args.pg_url, sweep_s=sweep) as h:
            (worker,) = h.start_workers(1, threads=2)
            if mode == "webhooks":
                h.send_webhooks(worker)
            time.sleep(2)  # the first sweep, which every serve starts with
            done = _latencies(h, mode, args.changes, sweep)
        lost = args.changes - len(done)
        p50, p95 = (percentile(done, 50), percentile(done, 95)) if done else (float("nan"),) * 2
        where = f"sweep every {sweep} s" if mode == "polling" else "one serve, 2 job threads"
        print(f"latency {mode:9} n={len(done):3} p50 {p50:6.2f} s  p95 {p95:6.2f} s  missing {lost}  ({where})")


def _latencies(h: Harness, mode: str, changes: int, sweep: int) -> list[float]:
    """Seconds from each change to its arrival: titles, alternately ServiceNow -> Jira and back."""
    arrivals = Arrivals()
    rng = random.Random(1)
    # each change on an incident of its own: two changes to one incident, one on each side, found
    # by the same sweep are a conflict (the field's owner wins), not a lost change
    chosen = rng.sample(h.pairs, changes) if changes <= len(h.pairs) else [rng.choice(h.pairs) for _ in range(changes)]
    for n, (snow_id, key) in enumerate(chosen):
        token = f"lat-{mode}-{n}"
        if n % 2 == 0:
            h.snow_title(snow_id, token)
            arrivals.expect(token, lambda key=key, token=token: h.jira_has_title(key, token))
        else:
            h.jira_title(key, token)
            arrivals.expect(token, lambda s=snow_id, token=token: h.snow_has_title(s, token))
        if mode == "webhooks":
            wait_until(lambda: arrivals.pending() == 0, 30)  # one change at a time
        else:
            time.sleep(sweep * 2.6 / changes)  # spread over about two sweeps
    wait_until(lambda: arrivals.pending() == 0, sweep * 3 + 30)
    arrivals.close()
    return arrivals.latencies()


def burst(h: Harness, rate: float, seconds: float, prefix: str, kill_at: float | None = None) -> tuple[int, float]:
    """Notes at `rate` a second for `seconds`; SIGKILL the last worker at `kill_at` s. Returns (notes, end)."""
    rng = random.Random(7)
    started = time.monotonic()
    sent = 0
    killed = False
    while (elapsed := time.monotonic() - started) < seconds:
        if kill_at is not None and not killed and elapsed >= kill_at:
            h.workers[-1].kill()
            killed = True
            print(f"  killed worker {len(h.workers) - 1} (SIGKILL) after {elapsed:.1f} s, {sent} notes", flush=True)
        due = int(elapsed * rate) + 1
        while sent < due:
            snow_id, _ = rng.choice(h.pairs)
            h.snow_note(snow_id, f"{prefix}{sent} bench note")
            sent += 1
        time.sleep(0.005)
    return sent, time.monotonic()


def settle(
    h: Harness, prefix: str, sent: int, end: float, timeout: float
) -> tuple[int, int, float | None, float | None]:
    """(lost, duplicated, seconds until the queue was empty, seconds until every note arrived)."""
    drained_at = arrived_at = None
    deadline = end + timeout
    seen, progress_at = -1, time.monotonic()
    while time.monotonic() < deadline and (drained_at is None or arrived_at is None):
        if drained_at is None and h.backlog() == 0:
            drained_at = time.monotonic() - end
        arrived = len(h.jira_note_counts(prefix))
        if arrived_at is None and arrived >= sent:
            arrived_at = time.monotonic() - end
        if arrived != seen:
            seen, progress_at = arrived, time.monotonic()
        elif arrived < sent and time.monotonic() - progress_at > STALL_S:
            # stalled: every worker's threads' stacks into its log, for the figures' reader
            print(
                f"  stalled: {arrived}/{sent} arrived, none for {STALL_S} s, backlog {h.backlog()}; "
                f"SIGUSR1 to the workers (stacks in {h.workdir})",
                flush=True,
            )
            h.dump_stacks()
            progress_at = time.monotonic()
        time.sleep(0.2)
    counts = h.jira_note_counts(prefix)
    lost = sum(1 for n in range(sent) if f"{prefix}{n}" not in counts)
    duplicated = sum(1 for c in counts.values() if c > 1)
    return lost, duplicated, drained_at, arrived_at


def throughput(args: argparse.Namespace, workdir: Path) -> None:
    # No sweep (interval 0): the queue holds webhook jobs only, so its depth shows the drain.
    limit = args.limit or None
    with Harness(workdir / "throughput", incidents=60, pg_url=args.pg_url, sweep_s=0, limit_rps=limit) as h:
        spreader = Spreader(h.start_workers(args.workers, threads=args.slots))
        h.send_webhooks(spreader)
        time.sleep(3)
        h.sandbox.clear_calls()
        runs_before = h.engine_runs()
        sent, end = burst(h, args.rate, args.seconds, "tp-")
        lost, dup, drained, arrived = settle(h, "tp-", sent, end, timeout=300)
        runs = h.engine_runs() - runs_before
        calls = {p: len(h.sandbox.calls(p)) for p in ("servicenow", "jira")}
        assert h.sandbox.webhooks is not None
        # the vendors' side: when the sandbox's sender made its last delivery (it may lag the burst)
        last_sent = max((a.at for a in h.sandbox.webhooks.sender.attempts()), default=end) - end
        spreader.close()
        budget = f"sandbox limits {limit:g}/s (bridge {limit * 0.9:g}/s)" if limit else "no sandbox limits"
        applied = sent / (args.seconds + arrived) if arrived is not None else float("nan")
        print(
            f"throughput {args.rate:g}/s x {args.seconds:g} s, {args.workers} workers x {args.slots} job slots on "
            f"{'PostgreSQL' if args.pg_url else 'SQLite'}, Jira and ServiceNow {budget}: {sent} notes, "
            f"lost {lost}, duplicated {dup}, the sandbox's last delivery sent {last_sent:.1f} s after the burst, "
            f"backlog empty {_s(drained)} after the burst, all arrived "
            f"{_s(arrived)} after ({applied:.1f} notes/s applied from the first note to the last arrival); "
            f"{runs} record runs; calls snow {calls['servicenow']}, jira {calls['jira']} "
            f"({calls['jira'] / max(1, sent):.2f} Jira calls a note)"
        )


def failover(args: argparse.Namespace, workdir: Path) -> None:
    # No sweep: what a killed worker had taken must be finished by the other through the queue.
    with Harness(workdir / "failover", incidents=40, pg_url=args.pg_url, sweep_s=0) as h:
        spreader = Spreader(h.start_workers(2, threads=2))
        h.send_webhooks(spreader)
        time.sleep(3)
        rate, seconds = args.rate / 2, max(10.0, args.seconds / 2)
        sent, end = burst(h, rate, seconds, "fo-", kill_at=seconds / 2)
        lost, dup, _, arrived = settle(h, "fo-", sent, end, timeout=180)
        spreader.close()
        print(
            f"failover {rate:g}/s x {seconds:g} s, 2 workers behind a balancer, one killed -9 halfway, no sweep: "
            f"{sent} notes, lost {lost}, duplicated {dup}, all arrived {_s(arrived)} after the burst"
        )


def lossy(args: argparse.Namespace, workdir: Path) -> None:
    with Harness(workdir / "lossy", incidents=40, pg_url=args.pg_url, sweep_s=args.sweep) as h:
        (worker,) = h.start_workers(1, threads=2)
        h.send_webhooks(worker, faults="lossy")
        time.sleep(3)
        sent, end = burst(h, 4, 10, "ls-")
        assert h.sandbox.webhooks is not None
        dropped = sum(1 for a in h.sandbox.webhooks.sender.attempts() if a.fault == "drop")
        lost, dup, _, arrived = settle(h, "ls-", sent, end, timeout=args.sweep * 3 + 60)
        within = arrived is not None and arrived <= args.sweep
        print(
            f"lost webhooks: {sent} notes, {dropped} deliveries dropped (20%), sweep every {args.sweep} s: "
            f"all arrived {_s(arrived)} after the last change ({'within' if within else 'NOT within'} one "
            f"sweep interval), lost {lost}, duplicated {dup}"
        )


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


SCENARIOS = {"latency": latency, "throughput": throughput, "failover": failover, "lossy": lossy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["all", *SCENARIOS], default="all")
    parser.add_argument("--pg-url", default=os.environ.get("ITSM_BRIDGE_TEST_PG_URL"))
    parser.add_argument("--rate", type=float, default=20.0, help="notes a second in the burst (issue: 50)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the burst (issue: 120)")
    parser.add_argument("--workers", type=int, default=3, help="serve processes")
    parser.add_argument("--slots", type=int, default=200, help="throughput: each process's --workers (job slots)")
    parser.add_argument(
        "--limit",
        type=float,
        default=150.0,
        help="throughput: the sandbox's Jira and ServiceNow limits, requests a second, the bridge at 90%% "
        "(a vendor-like 50 cannot carry 50 notes a second: each note is one Jira comment); 0: none",
    )
    parser.add_argument("--changes", type=int, default=20, help="changes measured per latency mode")
    parser.add_argument("--poll-interval", type=int, default=10, help="sweep interval of the polling baseline")
    parser.add_argument("--sweep", type=int, default=20, help="sweep interval of the lossy scenario")
    parser.add_argument(
        "--workdir", type=Path, help="keep the stores, configs and serve logs here (default: a temporary directory)"
    )
    args = parser.parse_args()
    if not args.pg_url:
        print("no PostgreSQL (--pg-url or ITSM_BRIDGE_TEST_PG_URL): running on SQLite, one process's queue")
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        workdir = args.workdir or Path(tmp)
        for name, scenario in SCENARIOS.items():
            if args.scenario in ("all", name):
                print(f"--- {name}", flush=True)
                scenario(args, workdir)


if __name__ == "__main__":
    main()
