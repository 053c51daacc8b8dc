"""`itsm-bridge sandbox` from outside: a separate process, its one JSON line, real HTTP to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def sandbox_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any], float]]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "itsm_bridge.cli", "--json", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline()
        ready_after = time.monotonic() - started
        assert line, proc.stderr.read()
        yield proc, json.loads(line), ready_after
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        proc.stdout.close()
        proc.stderr.close()


def test_seeded_sandbox_answers_like_the_vendors_and_stops_on_sigterm():
    with sandbox_process("--seed", "50") as (proc, info, ready_after):
        assert ready_after < 5
        assert set(info) >= {"servicenow", "jira", "statuspage", "statuspage_page_id", "credentials", "env"}
        snow, jira, page = (
            info["credentials"]["servicenow"],
            info["credentials"]["jira"],
            info["credentials"]["statuspage"],
        )
        r = requests.get(
            f"{info['servicenow']}/api/now/table/incident",
            params={"sysparm_limit": 10},
            auth=(snow["user"], snow["password"]),
            timeout=10,
        )
        assert r.status_code == 200 and len(r.json()["result"]) == 10
        assert r.headers["X-Total-Count"] == "50" and 'rel="next"' in r.headers["Link"]
        r = requests.post(
            f"{info['jira']}/rest/api/3/issue",
            json={"fields": {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}}},
            auth=(jira["email"], jira["token"]),
            timeout=10,
        )
        assert r.status_code == 400 and "summary" in r.json()["errors"]
        r = requests.get(
            f"{info['jira']}/rest/api/3/search",
            params={"jql": "project = OPS"},
            auth=(jira["email"], jira["token"]),
            timeout=10,
        )
        assert r.status_code == 410
        headers = {"Authorization": f"OAuth {page['api_key']}"}
        url = f"{info['statuspage']}/v1/pages/{info['statuspage_page_id']}/incidents"
        with requests.Session() as s:
            answers = [s.get(url, headers=headers, timeout=10) for _ in range(61)]
        assert [a.status_code for a in answers[:60]] == [200] * 60
        assert isinstance(answers[0].json(), list) and answers[0].json()  # the seed published some
        assert answers[60].status_code == 429 and int(answers[60].headers["Retry-After"]) >= 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_lossy_profile_keeps_a_create_whose_answer_was_lost():
    with sandbox_process("--faults", "lossy", "--random-seed", "5") as (_, info, _ready):
        snow = info["credentials"]["servicenow"]
        auth = (snow["user"], snow["password"])
        base = f"{info['servicenow']}/api/now/table/incident"
        lost = None
        for i in range(20):
            try:
                requests.post(base, json={"short_description": f"lossy {i}"}, auth=auth, timeout=10)
            except requests.exceptions.ConnectionError:
                lost = f"lossy {i}"
                break
        assert lost is not None, "the lossy profile dropped no answer in 20 creates"
        found = requests.get(base, params={"sysparm_query": f"short_description={lost}"}, auth=auth, timeout=10).json()[
            "result"
        ]
        assert len(found) == 1


def test_state_file_lets_a_sandbox_stop_and_resume(tmp_path):
    state = tmp_path / "sandbox.json"
    with sandbox_process("--seed", "12", "--state", str(state)) as (_, info, _ready):
        pass
    assert state.exists()
    with sandbox_process("--seed", "12", "--state", str(state)) as (_, info, _ready):
        snow = info["credentials"]["servicenow"]
        r = requests.get(
            f"{info['servicenow']}/api/now/table/incident",
            params={"sysparm_limit": 1},
            auth=(snow["user"], snow["password"]),
            timeout=10,
        )
        assert r.headers["X-Total-Count"] == "12"  # resumed, not seeded a second time


def test_written_config_syncs_against_the_sandbox_as_is(tmp_path):
    config = tmp_path / "sandbox.toml"
    with sandbox_process("--seed", "10", "--write-config", str(config)) as (_, info, _ready):
        env = {**os.environ, **info["env"]}
        r = subprocess.run(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(config), "config", "validate"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        r = subprocess.run(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(config), "--json", "sync"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        summary = json.loads(r.stdout)
        assert summary["created"] >= 1 and summary["failed"] == 0, r.stdout + r.stderr
        assert r.returncode in (0, 1)  # 1: the seed's deliberate inconsistencies are quarantined
