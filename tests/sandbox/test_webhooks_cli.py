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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_on_the_config_the_sandbox_wrote_takes_its_webhooks_and_syncs_the_change(tmp_path: Path, monkeypatch):
    import signal
    import time

    port = free_port()
    monkeypatch.setenv("HOOKS_SERVE_SECRET", SECRET)
    config = tmp_path / "bridge.toml"
    url = f"http://127.0.0.1:{port}"
    args = ("--seed", "1", "--webhook-url", url, "--webhook-secret-env", "HOOKS_SERVE_SECRET")
    with sandbox_process(*args, "--write-config", str(config)) as (_, info, _):
        serve = subprocess.Popen(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(config), "--json", "serve", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, **info["env"]},
        )
        try:
            ready = json.loads(serve.stdout.readline() or "{}")
            assert ready.get("url") == url, serve.stderr.read() if serve.poll() is not None else ready
            snow = info["credentials"]["servicenow"]
            auth = (snow["user"], snow["password"])
            incidents = f"{info['servicenow']}/api/now/table/incident"
            (record,) = requests.get(incidents, params={"sysparm_limit": 1}, auth=auth, timeout=10).json()["result"]
            jira_calls = f"{info['jira']}/_sandbox/calls"

            def jira_writes(text: str) -> list[dict]:
                calls = requests.get(jira_calls, timeout=10).json()
                return [c for c in calls if c["method"] in ("PUT", "POST") and text in c["body"]]

            deadline = time.monotonic() + 60  # serve's first sweep links the seeded incidents
            while time.monotonic() < deadline and not jira_writes(record["number"]):
                time.sleep(0.2)
            assert jira_writes(record["number"]), "the first sweep did not reach Jira"
            token = "changed through a webhook"
            r = requests.patch(
                f"{incidents}/{record['sys_id']}", json={"short_description": token}, auth=auth, timeout=10
            )
            assert r.status_code == 200
            deadline = time.monotonic() + 20  # the next sweep is 300 s away: only the webhook can do it
            while time.monotonic() < deadline and not jira_writes(token):
                time.sleep(0.1)
            assert jira_writes(token), "the change did not reach Jira"
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(30)
            serve.stdout.close()
            serve.stderr.close()
