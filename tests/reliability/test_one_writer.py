"""Invariant 10: two overlapping runs, one exits 3; a run killed with SIGKILL leaves a lock the
next run takes over. (tests/integration/test_sync.py holds the lock in-process; here both
holders are real `sync` processes.)"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.integration.test_crash_safety import ROOT, StallAt, new_sandbox, seed, start, sync


def test_overlapping_runs_one_exits_3_and_a_killed_runs_lock_is_recovered(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed(sb)
        stall = StallAt(sb, k=1)
        cfg, env = start(tmp_path, sb)
        first = sync(cfg, env)
        try:
            assert stall.reached.wait(60), "the first run never wrote"
            second = subprocess.run(
                [sys.executable, "-m", "itsm_bridge.cli", "--config", str(cfg), "sync"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 3 and "another run holds the lock" in second.stderr
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
            first.stderr.close()
            stall.release.set()
        third = sync(cfg, env)
        _, err = third.communicate(timeout=120)
        assert third.returncode == 0, err
