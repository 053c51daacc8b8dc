"""bench/sync_memory.py's curve: the peak RSS of a running process beside the incidents its
store holds, and the growth per 10,000 incidents past the first fifth of the run."""

from __future__ import annotations

import os
import sqlite3
import time

from bench import sync_memory
from bench.sync_memory import Curve


def test_the_curve_samples_peak_rss_beside_the_incidents_synced(tmp_path, monkeypatch):
    monkeypatch.setattr(sync_memory, "SAMPLE_S", 0.01)
    store = tmp_path / "memory.sqlite"
    with sqlite3.connect(store) as conn:
        conn.execute("CREATE TABLE shadows (key TEXT)")
        conn.executemany("INSERT INTO shadows VALUES (?)", [(str(i),) for i in range(1234)])
    curve = Curve(store)
    curve.watch(os.getpid())
    deadline = time.monotonic() + 5
    while len(curve.points) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    curve.stop()
    synced, peak_mb = curve.points[0]
    assert synced == 1234 and peak_mb > 10  # this interpreter's VmHWM, in MB


def test_growth_per_10k_ignores_the_first_fifth_of_the_run():
    curve = Curve(sync_memory.ROOT / "absent.sqlite")
    curve.points = [(1_000, 80.0), (20_000, 100.0), (60_000, 104.0), (100_000, 108.0)]
    assert curve.growth_per_10k() == 1.0  # (108 - 100) MB over 80,000, not from the warm-up's 80 MB
    assert "100,000: 108" in curve.show(100_000)
