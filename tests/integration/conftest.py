"""A running sandbox (all platforms, real loopback HTTP) and a config pointing at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from itsm_bridge import config as config_module
from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.config_writer import write_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(seed=3)
    sb.jira.search_lag_s = 0.2
    sb.statuspage.rate_limit = (600, 60.0)
    with sb:
        yield sb


@pytest.fixture
def bridge(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bridge:
    return bridge_for(sandbox, tmp_path / "itsm-bridge.toml", monkeypatch)


def bridge_for(sandbox: Sandbox, path: Path, monkeypatch: pytest.MonkeyPatch) -> Bridge:
    """A config at `path` pointing at `sandbox` (its secrets in this process's environment), with
    budgets that keep tests fast."""
    info = sandbox.info()
    for name, value in info["env"].items():
        monkeypatch.setenv(name, value)
    path = write_config(info, path)
    text = path.read_text().replace("requests_per_second = 1.0", "requests_per_second = 20.0")
    text = text.replace("search_lag_s = 10.0", "search_lag_s = 0.5\nrequests_per_second = 500.0")
    path.write_text(text.replace("page_size = 1000", "page_size = 1000\nrequests_per_second = 500.0"))
    return Bridge(path, sandbox, {**os.environ, **info["env"]})


class Bridge:
    """Runs `itsm-bridge` as a user would: a separate process, over loopback HTTP."""

    def __init__(self, config_path: Path, sandbox: Sandbox, env: dict[str, str]) -> None:
        self.config_path = config_path
        self.sandbox = sandbox
        self.env = env

    @property
    def config(self) -> config_module.Config:
        return config_module.load(self.config_path)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "itsm_bridge.cli", "--config", str(self.config_path), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            cwd=ROOT,
        )

    def sync_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        r = self.run("--json", "sync", *args)
        try:
            return r.returncode, json.loads(r.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"sync printed no JSON (exit {r.returncode}):\n{r.stdout}\n{r.stderr}") from None

    def writes(self) -> list[Any]:
        """Every write request the sandbox received so far."""
        reads = (
            "/rest/api/3/search/jql",
            "/rest/api/3/search/approximate-count",
            "/rest/api/3/issue/bulkfetch",
        )  # POSTs that only read
        return [
            c for c in self.sandbox.calls() if c.method in ("POST", "PUT", "PATCH", "DELETE") and c.path not in reads
        ]
