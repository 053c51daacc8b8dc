"""Run the hand-written baseline against a running sandbox, and count what it cost.

From the project's environment (the baseline itself runs in its own venv, see `venv.py`):

    from bench.baseline.runner import run_baseline, shapes
    result = run_baseline(sb)            # {"incidents", "created", ..., "seconds"}
    shapes(sb.calls())                   # Counter of (platform, method, path shape)

As a script it prints, for N seeded incidents and a per-call latency, the calls per incident of
each path shape (count and per incident) and the seconds per incident, for a first run and a
second run (all updates, after Jira's search index caught up):

    python bench/baseline/runner.py --n 100 --latency-ms 30
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itsm_bridge.sandbox.app import Sandbox
    from itsm_bridge.sandbox.core import Call

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "admin_sync.py"
_ID = re.compile(r"(?<=/)(?:[0-9a-f]{32}|[A-Z][A-Z0-9]*-\d+|\d{4,})(?=/|$)")  # not the API's version


def baseline_env(sb: Sandbox, project: str = "OPS") -> dict[str, str]:
    """The BASELINE_* variables for the sandbox `sb` (secrets go through the environment only)."""
    info = sb.info()
    snow, jira = info["credentials"]["servicenow"], info["credentials"]["jira"]
    return {
        "BASELINE_SNOW_URL": info["servicenow"],
        "BASELINE_SNOW_USER": snow["user"],
        "BASELINE_SNOW_PASSWORD": snow["password"],
        "BASELINE_JIRA_URL": info["jira"],
        "BASELINE_JIRA_EMAIL": jira["email"],
        "BASELINE_JIRA_TOKEN": jira["token"],
        "BASELINE_JIRA_PROJECT": project,
    }


def run_baseline(
    sb: Sandbox, limit: int | None = None, python: Path | None = None, timeout: float = 3600
) -> dict[str, Any]:
    """Run `admin_sync.py` once in the baseline venv; its JSON line (AssertionError when it fails)."""
    if python is None:
        from bench.baseline.venv import ensure_venv

        python = ensure_venv()
    args = [str(python), str(SCRIPT)] + (["--limit", str(limit)] if limit is not None else [])
    done = subprocess.run(args, env={**os.environ, **baseline_env(sb)}, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"admin_sync.py exited {done.returncode}:\n{done.stdout}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def shape(path: str) -> str:
    """A path with its ids (sys_ids, issue keys, numbers) replaced by {id}."""
    return _ID.sub("{id}", path)


def shapes(calls: Iterable[Call]) -> Counter[tuple[str, str, str]]:
    return Counter((c.platform, c.method, shape(c.path)) for c in calls)


def measure(n: int, latency_ms: float, seed: int = 0) -> dict[str, Any]:
    """Two baseline runs over n seeded incidents: calls per incident by shape, seconds per incident."""
    from bench.baseline.venv import ensure_venv
    from itsm_bridge.sandbox.app import Sandbox
    from itsm_bridge.sandbox.faults import FaultProfile

    python = ensure_venv()
    out: dict[str, Any] = {"n": n, "latency_ms": latency_ms, "runs": []}
    with Sandbox(seed=seed) as sb:
        sb.seed(n)
        for platform in (sb.servicenow, sb.jira):
            platform.faults.set_profile(FaultProfile(latency_ms=latency_ms))
        for name in ("first", "second"):
            sb.jira.reindex()  # the second run comes after Jira's search index caught up
            sb.clear_calls()
            result = run_baseline(sb, python=python)
            counted = shapes(sb.calls())
            total = sum(counted.values())
            out["runs"].append(
                {
                    "run": name,
                    "result": result,
                    "calls": total,
                    "calls_per_incident": round(total / n, 2),
                    "seconds_per_incident": round(result["seconds"] / n, 4),
                    "by_shape": {" ".join(k): v for k, v in sorted(counted.items())},
                }
            )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="calls and time per incident of the hand-written baseline")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args.n, args.latency_ms)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"baseline, N={args.n}, {args.latency_ms:g} ms per call")
    for run in figures["runs"]:
        print(f"\n{run['run']} run: {run['result']}")
        print(
            f"  {run['calls']} calls, {run['calls_per_incident']} per incident, "
            f"{run['seconds_per_incident']} s per incident"
        )
        for name, count in run["by_shape"].items():
            print(f"  {count:>7} {count / args.n:>7.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    sys.exit(main())
