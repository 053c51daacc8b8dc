"""`itsm-bridge sandbox --webhook-url BASE --webhook-secret-env NAME` from outside, as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import requests

from tests.sandbox.test_sandbox_cli import ROOT, sandbox_process
from tests.sandbox.test_webhooks import SECRET, Receiver, jira_signed, receiver, servicenow_signed  # noqa: F401


def test_the_sandbox_process_signs_webhooks_with_the_secret_from_the_environment_and_writes_serve_settings(
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
    monkeypatch,
):
    monkeypatch.setenv("HOOKS_TEST_SECRET", SECRET)  # the child inherits it; never on the command line
    config = tmp_path / "bridge.toml"
    args = ("--seed", "3", "--webhook-url", receiver.url, "--webhook-secret-env", "HOOKS_TEST_SECRET")
    with sandbox_process(*args, "--write-config", str(config)) as (proc, info, _):
        assert info["webhooks"] == {
            "jira": receiver.url + "/webhooks/jira",
            "servicenow": receiver.url + "/webhooks/servicenow",
            "base_url": receiver.url,
            "secret_env": "HOOKS_TEST_SECRET",
        }
        assert SECRET not in json.dumps(info) and SECRET not in " ".join(proc.args)
        serve = tomllib.loads(config.read_text("utf-8"))["serve"]
        assert serve == {
            "jira_webhook_secret_env": "HOOKS_TEST_SECRET",
            "servicenow_webhook_secret_env": "HOOKS_TEST_SECRET",
        }
        assert SECRET not in config.read_text("utf-8")
        valid = subprocess.run(
            [sys.executable, "-m", "itsm_bridge.cli", "config", "validate", str(config)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert valid.returncode == 0, valid.stderr
        snow = info["credentials"]["servicenow"]
        r = requests.post(
            f"{info['servicenow']}/api/now/table/incident",
            json={"short_description": "from the CLI test"},
            auth=(snow["user"], snow["password"]),
            timeout=10,
        )
        assert r.status_code == 201
        jira = info["credentials"]["jira"]
        r = requests.post(
            f"{info['jira']}/rest/api/3/issue",
            json={"fields": {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}, "summary": "cli"}},
            auth=(jira["email"], jira["token"]),
            timeout=10,
        )
        assert r.status_code == 201
    # stopped with SIGTERM: what was due went out first; the three seeded incidents sent nothing
    (incident,) = receiver.on("/webhooks/servicenow")
    (issue,) = receiver.on("/webhooks/jira")
    assert servicenow_signed(incident) and incident.json()["operation"] == "insert"
    assert jira_signed(issue) and issue.json()["webhookEvent"] == "jira:issue_created"


def run_sandbox(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", "sandbox", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_webhook_flags_that_cannot_sign_are_a_usage_error_naming_the_flag_or_variable():
    env = {k: v for k, v in os.environ.items() if k != "HOOKS_UNSET_SECRET"}
    r = run_sandbox("--webhook-url", "http://127.0.0.1:9", "--webhook-secret-env", "HOOKS_UNSET_SECRET", env=env)
    assert r.returncode == 2 and "HOOKS_UNSET_SECRET is not set" in r.stderr and "--webhook-secret-env" in r.stderr
    r = run_sandbox("--webhook-url", "http://127.0.0.1:9", env=env)
    assert r.returncode == 2 and "go together" in r.stderr
    r = run_sandbox("--webhook-url", "ftp://x", "--webhook-secret-env", "PATH", env=env)
    assert r.returncode == 2 and "--webhook-url" in r.stderr and "not an http(s) URL" in r.stderr
