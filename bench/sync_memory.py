"""Peak RSS of one initial sync at several N: memory only (no latency, limits far above use).

Run:  .venv/bin/python bench/sync_memory.py 10000 40000 [100000]

The sandbox serves the dataset of `bench/dataset.py` in its own process; each N gets one
`itsm-bridge sync` of its own, reaped with `wait4` for its peak RSS (`bench/run.py` machinery):
the bridge's process only, not the sandbox's. While it runs, its peak RSS so far (`VmHWM`) is
sampled beside the incidents it has synced (shadows in its store), so one run shows how memory
grows with the records: the curve, and the growth per 10,000 incidents past the first fifth of
the run (a run too long to wait for can be stopped, and its curve extrapolated).
Not part of pytest.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench.run as run  # noqa: E402
from bench.dataset import SandboxChild  # noqa: E402

UNLIMITED = {"servicenow": (5000, 1.0), "jira": (5000, 1.0), "statuspage": (5000, 1.0)}
SAMPLE_S = 10.0


class Curve:
    """(incidents synced, peak RSS so far in MB) of a running sync, sampled every `SAMPLE_S`."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.points: list[tuple[int, float]] = []
        self._done = threading.Event()

    def watch(self, pid: int) -> None:
        threading.Thread(target=self._sample, args=(pid,), daemon=True).start()

    def stop(self) -> None:
        self._done.set()

    def _sample(self, pid: int) -> None:
        while not self._done.wait(SAMPLE_S):
            peak = _peak_mb(pid)
            synced = _synced(self.store)
            if peak is None:
                return
            if synced is not None:
                self.points.append((synced, peak))

    def growth_per_10k(self) -> float | None:
        """MB per 10,000 incidents between the first fifth of the run and its last sample."""
        if not self.points:
            return None
        last_n, last_mb = self.points[-1]
        early = [p for p in self.points if p[0] >= last_n / 5]
        first_n, first_mb = early[0]
        return None if last_n <= first_n else (last_mb - first_mb) * 10_000 / (last_n - first_n)

    def show(self, n: int) -> str:
        """The last sample of each tenth of the run: `synced: MB`."""
        marks: dict[int, tuple[int, float]] = {}
        for synced, mb in self.points:
            marks[synced * 10 // max(n, 1)] = (synced, mb)
        return ", ".join(f"{k:,}: {mb:.0f}" for k, mb in marks.values())


def _peak_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), None)
    return None if line is None else int(line.split()[1]) / 1024


def _synced(store: Path) -> int | None:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM shadows").fetchone()[0])
    except sqlite3.Error:
        return None  # not created yet, or busy


def main(sizes: list[int]) -> None:
    run.VENDOR_LIMITS = UNLIMITED  # the config follows: rates far above what the machine sends
    peaks: dict[int, float] = {}
    for n in sizes:
        sb = SandboxChild(n, 0, 0.0, UNLIMITED, run.SEARCH_LAG_S)
        try:
            with tempfile.TemporaryDirectory(prefix="itsm-mem-") as tmp:
                config = run.write_bench_config(sb.info, Path(tmp) / "memory.toml")
                curve = Curve(config.with_suffix(".sqlite"))
                started = time.perf_counter()
                try:
                    cycle = run.run_cycle(config, {**os.environ, **sb.info["env"]}, on_start=curve.watch)
                finally:
                    curve.stop()
                created = (cycle["summary"] or {}).get("created")
                peaks[n] = cycle["rss_mb"]
                growth = curve.growth_per_10k()
                print(
                    f"N = {n:>7,}: peak RSS {cycle['rss_mb']:.1f} MB, exit {cycle['exit']}, created {created}, "
                    f"{time.perf_counter() - started:.0f} s; growth "
                    f"{'n/a' if growth is None else f'{growth:+.1f} MB'} per 10,000 past the first fifth",
                    flush=True,
                )
                print(f"  synced: peak MB so far  {curve.show(n)}", flush=True)
        finally:
            sb.close()
    if len(peaks) > 1:
        low, high = min(peaks), max(peaks)
        print(f"growth from {low:,} to {high:,}: {peaks[high] - peaks[low]:+.1f} MB (x{peaks[high] / peaks[low]:.2f})")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 40_000])
