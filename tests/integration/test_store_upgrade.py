"""Upgrading: a store written by the version before the typed store (tests/fixtures/store_v2), with
the sandbox data it links to, is migrated by the first command that opens it; status, the journal
and retry still see its runs, and the next sync creates no duplicate and echoes nothing back.
The same on PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.config_writer import write_config
from itsm_bridge.store import open_store
from tests.fixtures import store_v2
from tests.integration.conftest import Bridge
from tests.pg import needs_pg, pg_url  # noqa: F401 (pg_url: a fixture)


@pytest.fixture
def resumed(tmp_path: Path) -> Iterator[Sandbox]:
    """The sandbox as the v2 runs left it."""
    shutil.copyfile(store_v2.SANDBOX, tmp_path / "sandbox.json")
    sb = Sandbox(seed=store_v2.SEED, state_file=tmp_path / "sandbox.json")
    sb.jira.search_lag_s = 0.2
    sb.statuspage.rate_limit = (600, 60.0)
    with sb:
        yield sb


def _bridge(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state_url: str | None) -> Bridge:
    info = sandbox.info()
    for name, value in info["env"].items():
        monkeypatch.setenv(name, value)
    path = write_config(info, tmp_path / "itsm-bridge.toml")
    text = path.read_text().replace("search_lag_s = 10.0", "search_lag_s = 0.5")
    if state_url is None:  # the v2 file where the config keeps its state
        store_v2.copy_to(path.with_suffix(".sqlite"))
        assert f"sqlite:///{path.with_suffix('.sqlite')}" in text
    else:
        text = text.replace(f"sqlite:///{path.with_suffix('.sqlite')}", state_url)
    path.write_text(text.replace("requests_per_second = 1.0", "requests_per_second = 20.0"))
    return Bridge(path, sandbox, {**os.environ, **info["env"]})


def _upgrade_keeps_runs_and_writes_no_duplicate_and_no_echo(bridge: Bridge, state_url: str) -> None:
    issues, pages = len(bridge.sandbox.jira.issues()), len(bridge.sandbox.statuspage.incidents())
    assert issues == 3 and pages == 3

    status = json.loads(bridge.run("--json", "status").stdout)  # the first command: it migrates the store
    assert status["last_run"]["run_id"] == store_v2.last_run_id() and status["last_run"]["failed"] == 1
    assert status["links"] == 3 and status["open_intents"] == 0
    store = open_store(state_url)
    try:
        assert store.schema_versions() == [1, 2, 3, 4, 5] and store.failed_in_last_run() == ["INC0010003"]
    finally:
        store.close()
    shown = json.loads(bridge.run("--json", "journal", "show", "--last", "100").stdout)
    assert [e["run_id"] for e in shown if e["kind"] == "run"][-1] == store_v2.last_run_id()
    assert json.loads(bridge.run("--json", "journal", "verify").stdout)["ok"]

    retried = bridge.run("--json", "retry")  # the write the v2 run failed (a Jira update) is made now
    summary = json.loads(retried.stdout)
    assert retried.returncode == 0 and summary["updated"] == 1 and summary["created"] == 0, (
        retried.stdout + retried.stderr
    )
    issue = next(i for i in bridge.sandbox.jira.issues() if i["fields"]["summary"] == "Mail stopped")
    assert issue is not None

    time.sleep(bridge.sandbox.jira.search_lag_s + 0.1)
    before = len(bridge.writes())
    code, summary = bridge.sync_json()  # reads back our own writes, the v2 runs' and retry's: no echo
    assert code == 0 and summary["created"] == 0 and summary["failed"] == 0, summary
    assert bridge.writes()[before:] == []
    assert len(bridge.sandbox.jira.issues()) == issues and len(bridge.sandbox.statuspage.incidents()) == pages
    status = json.loads(bridge.run("--json", "status").stdout)
    assert status["last_run"]["run_id"] == summary["run_id"] and status["run_errors"] == []


def test_a_version_2_sqlite_store_upgrades_in_place(resumed, tmp_path, monkeypatch):
    bridge = _bridge(resumed, tmp_path, monkeypatch, None)
    _upgrade_keeps_runs_and_writes_no_duplicate_and_no_echo(
        bridge, f"sqlite:///{bridge.config_path.with_suffix('.sqlite')}"
    )


@needs_pg
def test_a_version_2_postgresql_store_upgrades_in_place(resumed, tmp_path, monkeypatch, pg_url):
    store_v2.copy_to_postgres(pg_url)
    bridge = _bridge(resumed, tmp_path, monkeypatch, pg_url)
    _upgrade_keeps_runs_and_writes_no_duplicate_and_no_echo(bridge, pg_url)
    store = open_store(pg_url)  # learned again, and kept now: v2 could not keep them in a cursor value
    try:
        assert store.facts("jira") is not None and store.facts("servicenow") is not None
    finally:
        store.close()
