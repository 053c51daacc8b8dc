"""Peak RSS of one initial sync at several N: memory only (no latency, limits far above use).

Run:  .venv/bin/python bench/sync_memory.py 10000 40000 [100000]

The sandbox serves the dataset of `bench/dataset.py` in its own process; each N gets one
`itsm-bridge sync` of its own, reaped with `wait4` for its peak RSS (`bench/run.py` machinery).
Not part of pytest.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench.run as run  # noqa: E402
from bench.dataset import SandboxChild  # noqa: E402

UNLIMITED = {"servicenow": (5000, 1.0), "jira": (5000, 1.0), "statuspage": (5000, 1.0)}


def main(sizes: list[int]) -> None:
    run.VENDOR_LIMITS = UNLIMITED  # the config follows: rates far above what the machine sends
    peaks: dict[int, float] = {}
    for n in sizes:
        sb = SandboxChild(n, 0, 0.0, UNLIMITED, run.SEARCH_LAG_S)
        try:
            with tempfile.TemporaryDirectory(prefix="itsm-mem-") as tmp:
                config = run.write_bench_config(sb.info, Path(tmp) / "memory.toml")
                started = time.perf_counter()
                cycle = run.run_cycle(config, {**os.environ, **sb.info["env"]})
                created = (cycle["summary"] or {}).get("created")
                peaks[n] = cycle["rss_mb"]
                print(
                    f"N = {n:>7,}: peak RSS {cycle['rss_mb']:.1f} MB, exit {cycle['exit']}, created {created}, "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        finally:
            sb.close()
    if len(peaks) > 1:
        low, high = min(peaks), max(peaks)
        print(f"growth from {low:,} to {high:,}: {peaks[high] - peaks[low]:+.1f} MB (x{peaks[high] / peaks[low]:.2f})")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 40_000])
