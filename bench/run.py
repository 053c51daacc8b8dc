"""API calls of a sync against the floor, wall time against a hand-written baseline, peak memory.

Run:  .venv/bin/python bench/run.py [--n 1000 --n 10000] [--json] [--latency-ms 30] [--no-baseline]

For each N, a sandbox (its own forked process: its memory is not ours) serves the dataset of
`bench/dataset.py` with a per-call latency and vendor-like rate limits (VENDOR_LIMITS), and the
bridge runs three cycles as a user runs it, `python -m itsm_bridge.cli --config C --json sync`,
each reaped with `os.wait4` for that process's peak RSS:
1. initial: N new incidents, ServiceNow -> Jira and the status page;
2. no-op: nothing changed (after the Jira search lag has passed);
3. incremental: 1% of the incidents edited in ServiceNow (state, title or impact).
Calls are counted from the sandbox's call log per platform and path shape; the floor of each cycle
comes from snapshots of the platforms (`bench/floor.py`). The baseline (`bench/baseline/`: pysnow
and python-jira, one incident at a time, as an administrator writes it) runs against a fresh
sandbox with the same dataset and latency; above `--baseline-sample` incidents it runs on a sample
and its calls and time are scaled per incident to N. Not part of pytest (tests/bench runs a tiny N).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dataset import CallRow, SandboxChild  # noqa: E402
from bench.floor import PLATFORMS, amplification, cycle_floor, sandbox_rideable, sandbox_workflow  # noqa: E402
from bench.timeline import (  # noqa: E402
    READ_POSTS,
    WRITE_METHODS,
    jira_write_times,
    utilization_timeline,
    wall_floor_ratio,
)

# (requests, window seconds) the sandbox enforces, and the rate the bridge is configured with.
# ServiceNow limits are hourly rules an admin sets: 180,000 an hour is 50 a second. Jira Cloud
# documents burst limits per second per user in the tens to a hundred: 50. Statuspage documents
# one request a second per key on a minute window (the sandbox default, kept).
VENDOR_LIMITS = {"servicenow": (50, 1.0), "jira": (50, 1.0), "statuspage": (60, 60.0)}
BUDGET_SHARE = 0.9  # the bridge is configured a little under each limit, as an administrator would
WORKERS = 8
PAGE_SIZES = {"servicenow": 1000, "jira": 100}  # the sources a cycle reads, with the config's page sizes
SEARCH_LAG_S = 0.5
CYCLES = ("initial", "readback", "noop", "incremental")
QUIET_S = 65.0  # before the read-back: Jira's clock moves a minute (JQL's precision) past our writes


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Running the bridge


def write_bench_config(info: dict[str, Any], path: Path) -> Path:
    """The sandbox's config, with the bench's rates, workers, search lag and publish rule."""
    from itsm_bridge.config_view import render_toml
    from itsm_bridge.sandbox.config_writer import HEADER, sandbox_config

    data = sandbox_config(info, path.with_suffix(".sqlite"))
    for platform in PLATFORMS:
        data[platform].update(requests_per_second=configured_rate(platform), workers=WORKERS)
    data["servicenow"]["page_size"] = PAGE_SIZES["servicenow"]
    # the cursor overlap covers the sandbox's search lag (the config's rule), nothing more
    data["jira"].update(search_lag_s=SEARCH_LAG_S, overlap_s=int(SEARCH_LAG_S) + 2, page_size=PAGE_SIZES["jira"])
    # P1 only, so the status page (60 a minute) is not what the run waits for.
    data["publish"] = {"priorities": ["P1"], "when_major": False}
    path.write_text(HEADER + "\n" + render_toml(data), encoding="utf-8")
    return path


def run_cycle(config: Path, env: dict[str, str], on_start: Callable[[int], None] | None = None) -> dict[str, Any]:
    """One `sync` in its own process: its JSON, exit code, wall time and peak RSS (`on_start`
    is told the process id, to watch it while it runs)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(config), "--json", "sync"],
            stdout=out,
            stderr=err,
            env=env,
            cwd=ROOT,
        )
        if on_start is not None:
            on_start(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    try:
        summary = json.loads(stdout)
    except json.JSONDecodeError:
        summary = None
    return {
        "exit": proc.returncode,
        "seconds": round(seconds, 2),
        "rss_mb": round(usage.ru_maxrss / 1024, 1),
        "summary": summary,
        "stderr_tail": stderr[-2000:] if summary is None or proc.returncode else "",
    }


def _rate_limit_failures(cycle: dict[str, Any]) -> int:
    """Records failed because of rate limiting, or 1 for a cycle that died of it."""
    summary = cycle["summary"]
    if summary is None:
        return int(cycle["exit"] != 0 and bool(re.search(r"RateLimited|429|rate limit", cycle["stderr_tail"], re.I)))
    return sum(
        1
        for e in summary.get("errors") or []
        if re.search(r"RateLimited|429|rate limit", f"{e.get('error')} {e.get('message')}", re.I)
    )


def call_figures(calls: list[CallRow]) -> dict[str, Any]:
    per_platform = Counter(c[0] for c in calls)
    shapes = Counter(f"{c[0]} {c[2]}" for c in calls)
    writes = [c for c in calls if c[1] in WRITE_METHODS and c[2].split(" ")[1] not in READ_POSTS]
    return {
        "calls": {p: per_platform.get(p, 0) for p in PLATFORMS},
        "total": sum(per_platform.get(p, 0) for p in PLATFORMS),
        "throttled": sum(1 for c in calls if c[3] in (420, 429)),
        "by_shape": dict(shapes.most_common()),
        "writes": {p: sum(1 for c in writes if c[0] == p) for p in PLATFORMS},
    }


def configured_rate(platform: str) -> float:
    rate, window = VENDOR_LIMITS[platform]
    return round(BUDGET_SHARE * rate / window, 3)


def jira_write_rate(calls: list[CallRow]) -> float | None:
    """Jira writes per second between the first and the last Jira write."""
    times = jira_write_times(calls)
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return len(times) / (times[-1] - times[0])


def measure_bridge(n: int, seed: int, latency_ms: float, workdir: Path, quiet_s: float = QUIET_S) -> dict[str, Any]:
    """The cycles against one sandbox; figures per cycle. The read-back cycle reads the bridge's
    own writes back from Jira (a polling sync cannot tell them from others' edits unread); it
    runs after `quiet_s`, so that the no-op after it is a quiet cycle as cron meets one."""
    log(f"N={n}: seeding the sandbox")
    sb = SandboxChild(n, seed, latency_ms, VENDOR_LIMITS, SEARCH_LAG_S)
    log(f"N={n}: seeded in {sb.hello['seeded_s']:.1f}s (sandbox RSS {sb.hello['rss_mb']:.0f} MB)")
    try:
        config = write_bench_config(sb.info, workdir / f"bench-{n}.toml")
        env = {**os.environ, **sb.info["env"]}
        graph, initial = sandbox_workflow()
        bridge_user = sb.info["credentials"]["servicenow"]["user"]
        cycles: dict[str, Any] = {}
        previous = None
        changed = 0
        for name in CYCLES:
            if name == "incremental":
                changed = sb.ask("change", 0.01)
            if name == "readback" and quiet_s:
                log(f"N={n}: {quiet_s:g}s quiet before the read-back")
                time.sleep(quiet_s)
            start = sb.ask("snapshot")
            sb.ask("calls")  # clears the log
            log(f"N={n}: {name} cycle")
            cycle = run_cycle(config, env)
            calls = sb.ask("calls")
            end = sb.ask("snapshot")
            floor = cycle_floor(previous, start, end, PAGE_SIZES, bridge_user, graph, initial, sandbox_rideable())
            figures = call_figures(calls)
            cycle.update(
                figures,
                floor=floor.to_dict(),
                amplification=amplification(figures["total"], floor.total),
                amplification_per_platform={p: amplification(figures["calls"][p], floor.of(p)) for p in PLATFORMS},
                rate_limit_failures=_rate_limit_failures(cycle),
            )
            if name == "initial":
                cycle["jira_write_rate"] = jira_write_rate(calls)
                cycle["timeline"] = utilization_timeline(jira_write_times(calls))
            if name == "incremental":
                cycle["changed"] = changed
            log(
                f"N={n}: {name}: {figures['total']} calls (floor {floor.total}), {cycle['seconds']}s, "
                f"exit {cycle['exit']}, RSS {cycle['rss_mb']} MB"
            )
            if cycle["exit"] != 0:
                log(f"N={n}: {name} exited {cycle['exit']}: {cycle['stderr_tail'][-500:]}")
            cycles[name] = cycle
            previous = end
            time.sleep(SEARCH_LAG_S + 0.2)  # Jira search sees our writes before the next cycle
        return {"seeded_s": round(sb.hello["seeded_s"], 2), "cycles": cycles}
    finally:
        sb.close()


# --------------------------------------------------------------------------------------------
# The baseline


def _baseline_command(args: argparse.Namespace) -> tuple[list[str] | None, str | None]:
    """(command prefix, None) or (None, why there is no baseline)."""
    if args.no_baseline:
        return None, "--no-baseline"
    script = Path(args.baseline_script) if args.baseline_script else ROOT / "bench" / "baseline" / "admin_sync.py"
    if not script.exists():
        return None, f"{script.relative_to(ROOT) if script.is_relative_to(ROOT) else script} is not there yet"
    if args.baseline_python:
        return [args.baseline_python, str(script)], None
    try:
        from bench.baseline.venv import ensure_venv  # type: ignore[import-not-found]
    except ImportError as exc:
        return None, f"bench/baseline/venv.py cannot be imported ({exc})"
    return [str(ensure_venv()), str(script)], None


def measure_baseline(command: list[str], n: int, sample: int, seed: int, latency_ms: float) -> dict[str, Any]:
    """The baseline script over min(n, sample) incidents of the same dataset; calls and time
    scaled per incident to n when it ran on a sample."""
    limit = min(n, sample)
    log(f"N={n}: baseline over {limit} incident(s)" + (" (a sample)" if limit < n else ""))
    sb = SandboxChild(n, seed, latency_ms, VENDOR_LIMITS, SEARCH_LAG_S)
    try:
        info = sb.info
        creds = info["credentials"]
        env = {
            **os.environ,
            "BASELINE_SNOW_URL": info["servicenow"],
            "BASELINE_SNOW_USER": creds["servicenow"]["user"],
            "BASELINE_SNOW_PASSWORD": creds["servicenow"]["password"],
            "BASELINE_JIRA_URL": info["jira"],
            "BASELINE_JIRA_EMAIL": creds["jira"]["email"],
            "BASELINE_JIRA_TOKEN": creds["jira"]["token"],
            "BASELINE_JIRA_PROJECT": "OPS",
        }
        started = time.perf_counter()
        done = subprocess.run([*command, "--limit", str(limit)], capture_output=True, text=True, env=env, cwd=ROOT)
        seconds = time.perf_counter() - started
        calls = sb.ask("calls")
    finally:
        sb.close()
    if done.returncode != 0:
        raise RuntimeError(f"the baseline exited {done.returncode}: {done.stderr[-1000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    figures = call_figures(calls)
    counted = figures["calls"]["servicenow"] + figures["calls"]["jira"]
    scale = n / limit
    log(f"N={n}: baseline: {counted} calls in {seconds:.1f}s over {limit}")
    return {
        "sample": limit,
        "scaled": limit < n,
        "report": report,
        "calls_sample": counted,
        "seconds_sample": round(seconds, 2),
        "calls": round(counted * scale),
        "seconds": round(seconds * scale, 2),
        "calls_per_incident": round(counted / limit, 2),
        "by_shape": figures["by_shape"],
        "throttled": figures["throttled"],
    }


# --------------------------------------------------------------------------------------------
# Results


def result_for(
    n: int, latency_ms: float, bridge: dict[str, Any], baseline: dict[str, Any] | None, no_baseline: str | None
) -> dict[str, Any]:
    cycles = bridge["cycles"]
    initial, readback, noop, incremental = (cycles[c] for c in CYCLES)
    own = int(((readback.get("summary") or {}).get("read") or {}).get("jira") or 0)
    jira_rate = initial.get("jira_write_rate")
    ours = initial["calls"]["servicenow"] + initial["calls"]["jira"]
    out: dict[str, Any] = {
        "n": n,
        "latency_ms": latency_ms,
        "limits": {p: {"requests": r, "window_s": w} for p, (r, w) in VENDOR_LIMITS.items()},
        "workers": WORKERS,
        "publish_rule": "P1 only (the status page allows 60 requests a minute)",
        "amplification_initial": initial["amplification"],
        "amplification_incremental": incremental["amplification"],
        "noop_calls": noop["total"],
        "noop_floor": noop["floor"]["total"],
        "readback_calls": readback["total"],
        "readback_pages": 1 + max(1, -(-own // PAGE_SIZES["jira"])),  # ServiceNow's page, Jira's pages of our writes
        "baseline_call_ratio": round(baseline["calls"] / ours, 2) if baseline and ours else None,
        "baseline_time_ratio": round(baseline["seconds"] / initial["seconds"], 2)
        if baseline and initial["seconds"]
        else None,
        "baseline_sample": baseline["sample"] if baseline else None,
        "baseline_scaled": baseline["scaled"] if baseline else None,
        "baseline_missing": no_baseline,
        "utilization": round(jira_rate / configured_rate("jira"), 3) if jira_rate else None,
        "jira_write_rate": round(jira_rate, 2) if jira_rate else None,
        "wall_floor_ratio": wall_floor_ratio(
            initial["seconds"], initial["floor"]["per_platform"]["jira"], configured_rate("jira")
        ),
        "utilization_timeline": initial["timeline"][0],  # Jira writes/s of the initial cycle, per bucket
        "utilization_timeline_bucket_s": initial["timeline"][1],
        "throttled_429": sum(c["throttled"] for c in cycles.values()),
        "unhandled_429": sum(c["rate_limit_failures"] for c in cycles.values()),
        "peak_rss_mb": max(c["rss_mb"] for c in cycles.values()),
        "wall_s": {name: c["seconds"] for name, c in cycles.items()},
        "seeded_s": bridge["seeded_s"],
        "cycles": {
            name: {
                k: c[k]
                for k in (
                    "exit",
                    "seconds",
                    "rss_mb",
                    "calls",
                    "total",
                    "throttled",
                    "writes",
                    "floor",
                    "amplification",
                    "amplification_per_platform",
                    "by_shape",
                )
            }
            | {"summary": _brief(c["summary"])}
            | ({"changed": c["changed"]} if "changed" in c else {})
            for name, c in cycles.items()
        },
        "baseline": baseline,
    }
    return out


def _brief(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    keep = ("read", "created", "updated", "transitioned", "commented", "published", "quarantined", "failed", "deferred")
    return {k: summary.get(k) for k in keep} | {"errors": (summary.get("errors") or [])[:5]}


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def markdown(results: list[dict[str, Any]]) -> str:
    """The figures of each N side by side, then the top call shapes of each initial cycle."""
    ns = [r["n"] for r in results]
    head = "| | " + " | ".join(f"N = {n:,}" for n in ns) + " |\n|---|" + "---|" * len(ns) + "\n"
    rows: list[tuple[str, list[Any]]] = []
    for name in ("initial", "noop", "incremental"):
        rows += [
            (
                f"{name}: calls (snow / jira / page)",
                [" / ".join(str(r["cycles"][name]["calls"][p]) for p in PLATFORMS) for r in results],
            ),
            (
                f"{name}: floor C_min (snow / jira / page)",
                [" / ".join(str(r["cycles"][name]["floor"]["per_platform"][p]) for p in PLATFORMS) for r in results],
            ),
            (f"{name}: amplification", [r["cycles"][name]["amplification"] for r in results]),
            (f"{name}: wall time s", [r["wall_s"][name] for r in results]),
        ]
    rows += [
        ("no-op calls / floor", [f"{r['noop_calls']} / {r['noop_floor']}" for r in results]),
        (
            "read-back of our own writes: calls / pages",
            [f"{r['readback_calls']} / {r['readback_pages']}" for r in results],
        ),
        ("utilization (Jira writes/s / configured rate)", [r["utilization"] for r in results]),
        ("429s seen / unhandled", [f"{r['throttled_429']} / {r['unhandled_429']}" for r in results]),
        ("peak RSS of a sync, MB", [r["peak_rss_mb"] for r in results]),
        ("baseline calls (snow + jira)", [_baseline_cell(r, "calls") for r in results]),
        ("baseline wall time s", [_baseline_cell(r, "seconds") for r in results]),
        ("baseline / ours: calls", [r["baseline_call_ratio"] for r in results]),
        ("baseline / ours: wall time", [r["baseline_time_ratio"] for r in results]),
    ]
    table = head + "".join(f"| {label} | " + " | ".join(_fmt(v) for v in values) + " |\n" for label, values in rows)
    r0 = results[0]
    notes = [
        f"Latency {r0['latency_ms']:g} ms a call; limits: "
        + ", ".join(f"{p} {v['requests']} per {v['window_s']:g} s" for p, v in r0["limits"].items())
        + f", the bridge configured at {BUDGET_SHARE:.0%} of each; {r0['workers']} workers a platform; "
        f"publish rule: {r0['publish_rule']}."
    ]
    for r in results:
        if r["baseline_missing"]:
            notes.append(f"N = {r['n']:,}: no baseline ({r['baseline_missing']}); its ratios are n/a.")
        elif r["baseline_scaled"]:
            notes.append(
                f"N = {r['n']:,}: the baseline ran on {r['baseline_sample']:,} incidents, scaled per incident to N."
            )
    if len(results) > 1:
        low, high = min(results, key=lambda r: r["n"]), max(results, key=lambda r: r["n"])
        notes.append(
            f"Peak RSS of a sync grows by {high['peak_rss_mb'] - low['peak_rss_mb']:+.1f} MB from N = {low['n']:,} "
            f"to N = {high['n']:,} (target: < 50 MB from 10,000 to 100,000)."
        )
    shapes = []
    for r in results:
        top = list(r["cycles"]["initial"]["by_shape"].items())[:8]
        shapes.append(
            f"\nInitial cycle, N = {r['n']:,}, calls by path shape:\n" + "".join(f"- {n:>6}  {s}\n" for s, n in top)
        )
    return table + "\n" + "\n".join(notes) + "\n" + "".join(shapes)


def _baseline_cell(r: dict[str, Any], key: str) -> Any:
    b = r["baseline"]
    if not b:
        return None
    return f"{b[key]}" + (f" (from {b['sample']:,})" if b["scaled"] else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="incidents (repeatable; default 1000 and 10000)")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (the last N's, or a list for several)"
    )
    parser.add_argument("--latency-ms", type=float, default=30.0, help="added to every sandbox call (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-baseline", action="store_true", help="skip the pysnow + python-jira baseline")
    parser.add_argument("--baseline-sample", type=int, default=500, help="baseline incidents at most; scaled to N")
    parser.add_argument("--quiet-s", type=float, default=QUIET_S, help="quiet seconds before the read-back cycle")
    parser.add_argument("--baseline-python", help=argparse.SUPPRESS)  # tests: a fake baseline
    parser.add_argument("--baseline-script", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = args.n or [1000, 10000]
    command, missing = _baseline_command(args)
    results = []
    with tempfile.TemporaryDirectory(prefix="itsm-bench-") as tmp:
        for n in sizes:
            started = time.perf_counter()
            bridge = measure_bridge(n, args.seed, args.latency_ms, Path(tmp), args.quiet_s)
            baseline = (
                measure_baseline(command, n, args.baseline_sample, args.seed, args.latency_ms) if command else None
            )
            results.append(result_for(n, args.latency_ms, bridge, baseline, missing))
            log(f"N={n}: done in {time.perf_counter() - started:.0f}s")
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    else:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
