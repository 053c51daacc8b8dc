"""`demo` (the README's main job) and `doctor`, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or dict(os.environ),
        timeout=300,
    )


def test_demo_syncs_writes_nothing_the_second_time_and_brings_a_jira_resolve_back(tmp_path):
    r = cli("--json", "demo", "--workdir", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout)
    first, second, back = result["steps"]
    assert first["created"] > 0 and first["failed"] == 0
    assert sum(second[k] for k in ("created", "updated", "transitioned", "commented", "published")) == 0
    assert back["transitioned"] >= 1
    assert result["resolved"]["servicenow_state"] == "6" and result["resolved"]["close_code"]
    assert Path(result["state"]).exists() and Path(result["config"]).exists()
    held = result["deliberate"]["unmapped_category"] + result["deliberate"]["unmapped_service"]
    assert held and first["quarantined"] == len(held)  # the seed's unmappable records, and only they


def test_demo_says_why_its_seed_has_quarantines_and_conflicts_and_ends_with_next_steps(tmp_path):
    r = cli("demo", "--incidents", "10", "--workdir", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    before_sync, after = r.stdout.split("initial sync", 1)
    assert "wrong on purpose" in before_sync and "quarantine" in before_sync and "conflict" in before_sync
    assert all(kind in before_sync for kind in ("category the taxonomy does not know", "still open in Jira"))
    steps = after[after.index("Next steps:") :]
    assert r.stdout.rstrip().endswith(steps.rstrip())
    assert f"Open {tmp_path / 'audit.html'}" in steps and (tmp_path / "audit.html").exists()
    assert f"itsm-bridge sandbox --seed 50 --write-config {tmp_path / 'sandbox.toml'}" in steps
    assert f"itsm-bridge --config {tmp_path / 'sandbox.toml'} plan" in steps


def test_doctor_reports_every_check_ok_against_the_sandbox(bridge):
    r = bridge.run("--json", "doctor")
    data = json.loads(r.stdout)
    failing = [c for c in data["checks"] if not c["ok"]]
    assert r.returncode == 0 and not failing, failing
    assert {c["platform"] for c in data["checks"]} >= {"servicenow", "jira", "statuspage", "mapping"}
    paths = {c.path for c in bridge.sandbox.calls("jira")}
    assert "/rest/api/3/project/OPS/statuses" in paths  # the main path: the project's workflow statuses
    assert "/rest/api/3/priority" not in paths and "/rest/api/3/status" not in paths  # deprecated, and the fallback
    statuses = next(c for c in data["checks"] if c["platform"] == "jira" and c["check"] == "statuses")
    assert statuses["detail"] == "every mapped status is in the workflow"


def test_doctor_exits_4_when_credentials_are_refused(bridge):
    env = {**bridge.env, "ITSM_SANDBOX_JIRA_TOKEN": "wrong-token"}
    r = subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", "--config", str(bridge.config_path), "doctor"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert r.returncode == 4, r.stdout + r.stderr
    assert "jira" in r.stdout and "FAIL" in r.stdout and "wrong-token" not in r.stdout + r.stderr


def test_doctor_exits_2_when_a_secret_is_missing(bridge):
    env = {k: v for k, v in bridge.env.items() if k != "ITSM_SANDBOX_SNOW_PASSWORD"}
    r = subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", "--config", str(bridge.config_path), "doctor"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2 and "ITSM_SANDBOX_SNOW_PASSWORD" in r.stdout


def test_two_syncs_started_together_one_exits_3(bridge):
    """The second run starts once the first holds the store's lock (its holder file names the
    first's pid), and the first cannot finish before the second has exited: ServiceNow's
    answers wait behind the sandbox's data lock, which the test holds until then. No timing
    guess, so a loaded machine that starts the second run slowly changes nothing."""
    # The first run's ServiceNow read waits while the second starts and exits, which the test
    # allows 120 s on a loaded machine: its read timeout must outlast that, not the default 30 s.
    config = bridge.config_path.read_text()
    bridge.config_path.write_text(config.replace("[servicenow]\n", "[servicenow]\ntimeout_s = 180.0\n", 1))
    for i in range(3):
        bridge.sandbox.servicenow.insert_incident({"short_description": f"slow {i}", "category": "software"})
    holder_file = Path(bridge.config.settings.state.url.removeprefix("sqlite:///") + ".lock")

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(bridge.config_path), "sync"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=bridge.env,
        )

    def holder() -> dict[str, object]:
        try:
            return json.loads(holder_file.read_text() or "{}")
        except (FileNotFoundError, json.JSONDecodeError):
            return {}  # not created yet, or between its truncation and its write

    with bridge.sandbox.servicenow.lock:
        first = start()
        deadline = time.monotonic() + 120
        while holder().get("pid") != first.pid:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.05)
        second = start()
        out, err = second.communicate(timeout=120)
    first.communicate(timeout=120)
    codes = [first.returncode, second.returncode]
    assert codes[1] == 3 and codes[0] in (0, 1), (codes, out, err)
    assert "another run holds the lock" in err and f"pid {first.pid}" in err
