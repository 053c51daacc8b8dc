"""`itsm-bridge serve` as a user runs it: its own process on --port 0, over the bundled sandbox,
with webhooks signed here as the vendors sign them (see `sign_jira`, `sign_servicenow`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.conftest import ROOT, Bridge, bridge, sandbox  # noqa: F401 (fixtures)
from tests.integration.test_sync import add_incident

JIRA_SECRET = "jira-webhook-secret-for-tests"
SNOW_SECRET = "servicenow-webhook-secret-for-tests"
SECRETS = {"TEST_JIRA_WEBHOOK_SECRET": JIRA_SECRET, "TEST_SNOW_WEBHOOK_SECRET": SNOW_SECRET}


def sign_jira(body: bytes, secret: str = JIRA_SECRET, delivery: str | None = None) -> dict[str, str]:
    """Headers of a Jira admin webhook delivery: X-Hub-Signature sha256=<hex HMAC of the body>."""
    return {
        "Content-Type": "application/json",
        "X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "X-Atlassian-Webhook-Identifier": delivery or uuid.uuid4().hex,
    }


def sign_servicenow(
    body: bytes, secret: str = SNOW_SECRET, timestamp: int | None = None, delivery: str | None = None
) -> dict[str, str]:
    """Headers of the business rule's outbound REST call: base64 HMAC of "<timestamp>.<body>"."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Bridge-Timestamp": stamp,
        "X-Bridge-Delivery": delivery or uuid.uuid4().hex,
        "X-Bridge-Signature": "sha256=" + base64.b64encode(mac).decode(),
    }


def jira_body(issue: dict[str, Any], event: str = "jira:issue_updated", **extra: Any) -> bytes:
    return json.dumps({"timestamp": int(time.time() * 1000), "webhookEvent": event, "issue": issue, **extra}).encode()


def snow_body(incident: dict[str, Any], operation: str = "update") -> bytes:
    fields = {k: incident[k] for k in ("sys_id", "number", "sys_updated_on")}
    return json.dumps({"table": "incident", "operation": operation, **fields}).encode()


class Serve:
    """One `itsm-bridge serve` process."""

    def __init__(self, bridge: Bridge, *args: str, env: dict[str, str] | None = None) -> None:
        self.errors = tempfile.TemporaryFile("w+")  # a file, not a pipe: a full pipe would block serve
        self.logged = ""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(bridge.config_path), "--json", "-v", "serve"]
            + ["--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
            env={**bridge.env, **SECRETS, **(env or {})},
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            self.ready = json.loads(line)
        except json.JSONDecodeError:
            out, _ = self.proc.communicate(timeout=30)
            raise AssertionError(
                f"serve did not start (exit {self.proc.returncode}):\n{line}{out}\n{self.stderr()}"
            ) from None
        self.url = self.ready["url"]
        self.session = requests.Session()

    def post(self, platform: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return self.session.post(f"{self.url}/webhooks/{platform}", data=body, headers=headers, timeout=10)

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.url}{path}", timeout=10)

    def metric(self, name: str, **labels: str) -> float:
        """A sample of /metrics (0 when absent)."""
        shown = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        wanted = f"itsm_bridge_serve_{name}" + (f"{{{shown}}}" if labels else "")
        for line in self.get("/metrics").text.splitlines():
            if line.rsplit(" ", 1)[0] == wanted:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def wait_idle(self, jobs: int, timeout: float = 60.0) -> None:
        """Until at least `jobs` jobs have finished and none waits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.get("/metrics").text
            done = sum(
                float(x.rsplit(" ", 1)[1]) for x in text.splitlines() if x.startswith("itsm_bridge_serve_jobs_total{")
            )
            if done >= jobs and self.metric("queue_depth") == 0 and self.metric("jobs_running") == 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"serve did not finish {jobs} job(s) in {timeout} s:\n{self.get('/metrics').text}")

    def stderr(self) -> str:
        """What serve logged so far."""
        if self.errors.closed:
            return self.logged
        self.errors.seek(0)
        return self.errors.read()

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError(f"serve did not stop within 30 s:\n{self.stderr()}") from None
        finally:
            self.session.close()
            self.logged = self.stderr()
            self.errors.close()
        return self.proc.returncode, self.logged


def serve_config(bridge: Bridge, sweep: int = 0, extra: str = "") -> None:
    """Add the [serve] table to the bridge's config (no sweep unless asked: tests sync first)."""
    text = bridge.config_path.read_text().split("\n[serve]\n")[0]  # the table is always last
    table = (
        "\n[serve]\n"
        'jira_webhook_secret_env = "TEST_JIRA_WEBHOOK_SECRET"\n'
        'servicenow_webhook_secret_env = "TEST_SNOW_WEBHOOK_SECRET"\n'
        f"sweep_interval_seconds = {sweep}\n{extra}"
    )
    bridge.config_path.write_text(text + table)


@pytest.fixture(autouse=True)
def _serve_table(bridge: Bridge) -> None:
    serve_config(bridge)


@pytest.fixture
def serve(bridge: Bridge) -> Iterator[Serve]:
    """serve over a sandbox whose incidents are synced already."""
    for n in range(2):
        add_incident(bridge.sandbox, short_description=f"incident {n}")
    code, summary = bridge.sync_json()
    assert code == 0, summary
    running = Serve(bridge)
    yield running
    running.stop()
