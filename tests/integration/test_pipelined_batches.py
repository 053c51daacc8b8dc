"""A sync writes its batches back to back: the next batch's Jira writes go on while the batch
before is read back and recorded, and the cycle ends where a one-batch cycle ends."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.dataset import build
from itsm_bridge import Bridge, Sandbox
from itsm_bridge.sandbox.faults import FaultProfile
from itsm_bridge.sandbox.jira.store import adf_text
from itsm_bridge.sync import engine
from tests.integration.conftest import bridge_for

N = 60  # incidents: batches of 2, 4, 8, then 10
READ_POSTS = ("/rest/api/3/search/jql", "/rest/api/3/search/approximate-count", "/rest/api/3/issue/bulkfetch")


def synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int) -> tuple[dict[str, Any], Sandbox]:
    """A fresh sandbox with the bench's dataset, synced once in batches of `batch` keys, with
    Jira answering slowly enough for calls to overlap; the run's summary and the sandbox."""
    monkeypatch.setattr(engine, "BATCH", batch)
    sandbox = Sandbox(seed=3)
    sandbox.jira.search_lag_s = 0.2
    sandbox.statuspage.rate_limit = (600, 60.0)
    sandbox.start()
    try:
        sandbox.jira.faults.set_profile(FaultProfile(latency_ms=20))
        build(sandbox, N)
        bridge = bridge_for(sandbox, tmp_path / f"batch-{batch}.toml", monkeypatch)
        result = Bridge(bridge.config_path).sync()
        assert result.exit_code == 0, result.summary.errors
        again = Bridge(bridge.config_path).sync(dry_run=True)  # shadows as the read-back left them
        assert again.plan is not None and not again.plan.actions
    finally:
        sandbox.stop()
    counts = ("created", "updated", "transitioned", "commented", "published", "failed", "quarantined")
    return {k: getattr(result.summary, k) for k in counts}, sandbox


def spans(sandbox: Sandbox, paths: tuple[str, ...], *, writes: bool) -> list[tuple[datetime, datetime]]:
    """When each Jira call of the kind asked for began and ended, as the sandbox saw it."""
    out = []
    for call in sandbox.calls("jira"):
        is_write = call.method in ("POST", "PUT", "PATCH", "DELETE") and call.path not in READ_POSTS
        if (writes and is_write) or (not writes and call.path in paths):
            end = datetime.fromisoformat(call.at)
            out.append((end - timedelta(milliseconds=call.duration_ms), end))
    return out


def jira_issues(sandbox: Sandbox) -> dict[str, Any]:
    """Each issue as the sync left it, by the label that names its incident."""
    return {
        issue.fields["labels"]: (
            issue.fields["summary"],
            issue.fields["status"],
            issue.fields.get("priority"),
            issue.fields.get("assignee"),
            sorted(adf_text(c["body"]) for c in issue.comments),
        )
        for issue in sandbox.jira.store
    }


def page_incidents(sandbox: Sandbox) -> list[tuple[str, str]]:
    """Each public incident's title and status (titles may repeat)."""
    return sorted((i["name"], i["status"]) for i in sandbox.statuspage.incidents())


def test_the_next_batchs_jira_writes_go_on_while_the_batch_before_is_read_back(tmp_path, monkeypatch):
    pipelined, sandbox = synced(tmp_path, monkeypatch, batch=10)
    read_backs = spans(sandbox, ("/rest/api/3/issue/bulkfetch",), writes=False)
    writes = spans(sandbox, (), writes=True)
    assert len(read_backs) >= N // 10  # one read-back per batch at least
    overlapping = [r for r in read_backs if any(w[0] < r[1] and r[0] < w[1] for w in writes)]
    assert overlapping, "no Jira write was in flight while a batch was read back: the batches ran one after another"

    one_batch, serial = synced(tmp_path, monkeypatch, batch=5 * N)  # its first batch (a fifth) holds all
    alone = spans(serial, ("/rest/api/3/issue/bulkfetch",), writes=False)
    assert not [r for r in alone if any(w[0] < r[1] and r[0] < w[1] for w in spans(serial, (), writes=True))]
    assert pipelined == one_batch and pipelined["created"] >= N
    assert jira_issues(sandbox) == jira_issues(serial)
    assert page_incidents(sandbox) == page_incidents(serial)
