"""Play N seeded fault schedules over the sandbox and print the invariant table.

    python bench/reliability.py --schedules 200

Every count but schedules and faults must be 0; the exit status is 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.invariants import problems  # noqa: E402
from tests.reliability.schedule import Schedule, run_schedule  # noqa: E402

COLUMNS = ("duplicates", "lost_updates", "echo_writes", "leaks", "convergence")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    faults: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    failing: dict[int, list[str]] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.schedules):
            try:
                world, result = run_schedule(Schedule.from_seed(seed), Path(tmp) / str(seed))
            except AssertionError as exc:  # a schedule that could not even finish its cycles
                counts["convergence"] += 1
                failing[seed] = [str(exc)[:200]]
                continue
            try:
                found = problems(world, result)
            finally:
                world.close()
            faults.update(result.faults)
            print(f"seed {seed}: {sum(len(v) for v in found.values())} problem(s)", file=sys.stderr, flush=True)
            for name, items in found.items():
                counts[name] += len(items)
                if items:
                    failing.setdefault(seed, []).extend(f"{name}: {i}" for i in items)
    print(f"schedules            {args.schedules}  (seeds {args.first_seed}..{args.first_seed + args.schedules - 1}, "
          f"{time.monotonic() - started:.0f} s)")
    print("faults injected      " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items())) + f"  (total {sum(faults.values())})")
    for name in COLUMNS:
        print(f"{name:<20} {counts[name]}")
    for seed, items in sorted(failing.items()):
        print(f"  seed {seed}: " + "; ".join(items)[:300])
    return 1 if any(counts[c] for c in COLUMNS) else 0


if __name__ == "__main__":
    sys.exit(main())
