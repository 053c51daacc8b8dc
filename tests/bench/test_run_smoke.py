"""bench/run.py end to end on a tiny dataset: the JSON contract, the no-op floor, the baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = (
    "amplification_initial",
    "amplification_incremental",
    "noop_calls",
    "noop_floor",
    "baseline_call_ratio",
    "baseline_time_ratio",
    "utilization",
    "unhandled_429",
    "peak_rss_mb",
    "wall_floor_ratio",
    "utilization_timeline",
)


def bench(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--json", "--latency-ms", "0", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def with_fake_baseline() -> dict[str, Any]:
    return bench(
        "--n",
        "30",
        "--quiet-s",
        "0",
        "--baseline-python",
        sys.executable,
        "--baseline-script",
        str(Path(__file__).with_name("fake_admin_sync.py")),
        "--baseline-sample",
        "10",
    )


def test_json_keeps_the_contract_keys_and_every_cycle_succeeds(with_fake_baseline: dict[str, Any]) -> None:
    result = with_fake_baseline
    assert set(CONTRACT) <= set(result)
    assert result["n"] == 30
    assert all(c["exit"] == 0 and c["summary"]["failed"] == 0 for c in result["cycles"].values())
    assert result["cycles"]["initial"]["summary"]["created"] == 30
    assert result["unhandled_429"] == 0
    assert result["peak_rss_mb"] > 10


def test_the_initial_cycle_shows_its_jira_writes_over_time_and_its_wall_time_against_the_floor(
    with_fake_baseline: dict[str, Any],
) -> None:
    initial = with_fake_baseline["cycles"]["initial"]
    timeline = with_fake_baseline["utilization_timeline"]
    width = with_fake_baseline["utilization_timeline_bucket_s"]
    assert 0 < len(timeline) <= 30
    assert round(sum(timeline) * width) == initial["writes"]["jira"]  # every Jira write, in some bucket
    jira_floor_s = initial["floor"]["per_platform"]["jira"] / 45.0  # the configured rate: 90% of 50/s
    assert with_fake_baseline["wall_floor_ratio"] == round(initial["seconds"] / jira_floor_s, 3)


def test_an_incremental_cycle_makes_at_most_two_calls_above_its_floor(with_fake_baseline: dict[str, Any]) -> None:
    incremental = with_fake_baseline["cycles"]["incremental"]
    assert incremental["summary"]["updated"] + incremental["summary"]["transitioned"] > 0
    assert incremental["total"] - incremental["floor"]["total"] <= 2, incremental["by_shape"]


def test_noop_floor_is_one_page_per_source(with_fake_baseline: dict[str, Any]) -> None:
    noop = with_fake_baseline["cycles"]["noop"]["floor"]
    assert noop["reads"] == {"servicenow": 1, "jira": 1}
    assert with_fake_baseline["noop_floor"] == sum(noop["reads"].values()) == 2
    assert with_fake_baseline["noop_calls"] >= with_fake_baseline["noop_floor"]


def test_a_sampled_baseline_is_scaled_per_incident_to_n(with_fake_baseline: dict[str, Any]) -> None:
    result = with_fake_baseline
    baseline = result["baseline"]
    assert (result["baseline_sample"], baseline["scaled"]) == (10, True)
    assert baseline["calls_sample"] == 1 + 2 * 10  # one page, then a search and a create each
    assert baseline["calls"] == baseline["calls_sample"] * 3
    assert result["baseline_call_ratio"] is not None and result["baseline_time_ratio"] is not None


def test_without_a_baseline_the_ratios_are_null_with_a_reason() -> None:
    result = bench("--n", "10", "--quiet-s", "0", "--no-baseline")
    assert result["baseline_call_ratio"] is None and result["baseline_time_ratio"] is None
    assert result["baseline_missing"] == "--no-baseline"
    assert result["noop_floor"] == 2


def test_the_markdown_table_shows_each_cycle_and_the_scaled_baseline(with_fake_baseline: dict[str, Any]) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.run import markdown

    table = markdown(
        [with_fake_baseline, {**with_fake_baseline, "n": 60, "peak_rss_mb": with_fake_baseline["peak_rss_mb"] + 1}]
    )
    assert table.startswith("| | N = 30 | N = 60 |")
    for label in ("initial: amplification", "noop: calls", "incremental: floor C_min", "baseline / ours: calls"):
        assert f"| {label}" in table
    assert "the baseline ran on 10 incidents, scaled per incident to N" in table
    assert "grows by +1.0 MB from N = 30 to N = 60" in table
