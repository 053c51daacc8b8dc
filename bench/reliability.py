"""Play N seeded fault schedules over the sandbox and print the invariant table.

    python bench/reliability.py --schedules 200 [--jobs 2] [--provider cachet|statuspage|both]

Every count but schedules and faults must be 0; the exit status is 1 otherwise. A schedule spends
most of its time waiting (search lag, Retry-After, timeouts), so `--jobs` plays several at once,
each in its own process (a schedule sets the process time zone). `--provider both` publishes the
odd seeds to Cachet and the even ones to Statuspage, so both public-leak canaries run under faults.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.invariants import problems  # noqa: E402
from tests.reliability.schedule import Schedule, run_schedule  # noqa: E402

COLUMNS = ("duplicates", "lost_updates", "echo_writes", "leaks", "convergence")
LABELS = {"lost_updates": "lost updates", "echo_writes": "echo writes", "convergence": "unconverged"}


def provider_of(seed: int, provider: str) -> str:
    if provider == "both":
        return "cachet" if seed % 2 else "statuspage"
    return provider


def play(seed: int, provider: str, tmp: str) -> tuple[int, str, dict[str, list[str]], dict[str, int]]:
    """One schedule: (seed, provider, problems by check, faults injected by kind)."""
    try:
        world, result = run_schedule(Schedule.from_seed(seed), Path(tmp) / str(seed), provider)
    except AssertionError as exc:  # a schedule that could not even finish its cycles
        return seed, provider, {"convergence": [f"no clean cycle: {str(exc)[:300]}"]}, {}
    try:
        found = problems(world, result)
    finally:
        world.close()
    return seed, provider, found, dict(result.faults)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--schedules", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="schedules played at once, one process each")
    parser.add_argument("--provider", choices=("statuspage", "cachet", "both"), default="both")
    args = parser.parse_args()
    faults: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    providers: Counter[str] = Counter()
    failing: dict[int, list[str]] = {}
    seeds = range(args.first_seed, args.first_seed + args.schedules)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(seed, provider_of(seed, args.provider), tmp) for seed in seeds]
        if args.jobs > 1:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
                results: Any = pool.map(play, *zip(*jobs, strict=True))
                outcomes = list(_report(results))
        else:
            outcomes = list(_report(play(*job) for job in jobs))
    for seed, provider, found, injected in outcomes:
        providers[provider] += 1
        faults.update(injected)
        for name, items in found.items():
            counts[name] += len(items)
            if items:
                failing.setdefault(seed, []).extend(f"{name}: {i}" for i in items)
    wall = time.monotonic() - started
    print(
        f"schedules            {args.schedules}  (seeds {seeds.start}..{seeds.stop - 1}; page provider "
        + ", ".join(f"{p} {n}" for p, n in sorted(providers.items()))
        + ")"
    )
    print(
        "faults injected      "
        + ", ".join(f"{k} {v}" for k, v in sorted(faults.items()))
        + f"  (total {sum(faults.values())})"
    )
    for name in COLUMNS:
        print(f"{LABELS.get(name, name):<20} {counts[name]}")
    print(f"wall time            {wall:.0f} s  ({args.jobs} job(s))")
    for seed, items in sorted(failing.items()):
        print(f"  seed {seed}: " + "; ".join(items)[:400])
    return 1 if any(counts[c] for c in COLUMNS) else 0


def _report(results: Any) -> Any:
    for seed, provider, found, injected in results:
        print(
            f"seed {seed} ({provider}): {sum(len(v) for v in found.values())} problem(s)", file=sys.stderr, flush=True
        )
        yield seed, provider, found, injected


if __name__ == "__main__":
    sys.exit(main())
