"""A sync writes its batches back to back: the next batch's Jira writes go on while the batch
before is read back and recorded, the cycle ends where a one-batch cycle ends, and a stop with two
batches in flight journals every write and leaves a rerun to converge."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.dataset import build
from itsm_bridge import Bridge, Sandbox, SyncResult, stopping
from itsm_bridge.sandbox.core import Request, Response
from itsm_bridge.sandbox.faults import FaultProfile
from itsm_bridge.sandbox.jira.store import adf_text
from itsm_bridge.sync import engine
from tests.integration.conftest import bridge_for

N = 60  # incidents: in batches of 10, the first ones 2, 4 and 8
BULKFETCH = "/rest/api/3/issue/bulkfetch"
READ_POSTS = ("/rest/api/3/search/jql", "/rest/api/3/search/approximate-count", BULKFETCH)
SLACK = timedelta(seconds=0.3)  # a request sent just before the stop may reach the sandbox just after


@dataclass
class Synced:
    """A sandbox after a sync, and what the sync said."""

    sandbox: Sandbox
    result: SyncResult
    config: Path

    def counts(self) -> dict[str, int]:
        names = ("created", "updated", "transitioned", "commented", "published", "failed", "quarantined")
        return {name: getattr(self.result.summary, name) for name in names}


@contextmanager
def synced(path: Path, batch: int, before: Callable[[Sandbox], None] = lambda sb: None) -> Iterator[Synced]:
    """A fresh sandbox with the bench's dataset, synced once in batches of `batch` keys, with
    Jira answering slowly enough for calls to overlap; the sandbox serves until the block ends."""
    sandbox = Sandbox(seed=3)
    sandbox.jira.search_lag_s = 0.2
    sandbox.statuspage.rate_limit = (600, 60.0)
    with pytest.MonkeyPatch.context() as monkeypatch, sandbox:
        monkeypatch.setattr(engine, "BATCH", batch)
        sandbox.jira.faults.set_profile(FaultProfile(latency_ms=20))
        build(sandbox, N)
        bridge = bridge_for(sandbox, path, monkeypatch)
        before(sandbox)
        try:
            result = Bridge(bridge.config_path).sync()
        finally:
            stopping.reset()
        if not result.summary.interrupted:  # the shadows are as the read-back left them
            again = Bridge(bridge.config_path).sync(dry_run=True)
            assert again.plan is not None and not again.plan.actions
        yield Synced(sandbox, result, bridge.config_path)


@pytest.fixture(scope="module")
def one_batch(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    """The same cycle as one batch (its first batch, a fifth of 5 N, holds all): nothing to overlap."""
    with synced(tmp_path_factory.mktemp("one-batch") / "bridge.toml", batch=5 * N) as done:
        return done


def spans(sandbox: Sandbox, *, writes: bool) -> list[tuple[datetime, datetime]]:
    """When each Jira write (or each read-back) began and ended, as the sandbox saw it."""
    out = []
    for call in sandbox.calls("jira"):
        is_write = call.method in ("POST", "PUT", "PATCH", "DELETE") and call.path not in READ_POSTS
        if is_write if writes else call.path == BULKFETCH:
            end = datetime.fromisoformat(call.at)
            out.append((end - timedelta(milliseconds=call.duration_ms), end))
    return out


def overlapped(sandbox: Sandbox) -> list[tuple[datetime, datetime]]:
    """The read-backs during which a Jira write was in flight."""
    writes = spans(sandbox, writes=True)
    return [r for r in spans(sandbox, writes=False) if any(w[0] < r[1] and r[0] < w[1] for w in writes)]


def jira_issues(sandbox: Sandbox) -> dict[Any, Any]:
    """Each issue as the sync left it, by the labels that name its incident."""
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


def test_the_next_batchs_jira_writes_go_on_while_the_batch_before_is_read_back(
    tmp_path: Path, one_batch: Synced
) -> None:
    with synced(tmp_path / "bridge.toml", batch=10) as pipelined:
        assert len(spans(pipelined.sandbox, writes=False)) >= 6  # a read-back per batch
        assert overlapped(pipelined.sandbox), "no Jira write was in flight while a batch was read back"
    assert not overlapped(one_batch.sandbox)  # the check tells the two apart

    assert pipelined.result.exit_code == 0 and pipelined.counts()["created"] >= N
    assert pipelined.counts() == one_batch.counts()
    assert jira_issues(pipelined.sandbox) == jira_issues(one_batch.sandbox)
    assert page_incidents(pipelined.sandbox) == page_incidents(one_batch.sandbox)


@pytest.fixture
def stop_at_first_read_back() -> Iterator[Callable[[Sandbox], None]]:
    stopped: list[datetime] = []

    def install(sandbox: Sandbox) -> None:
        dispatch = sandbox.jira.dispatch

        def hooked(req: Request) -> Response:
            if req.path == BULKFETCH and not stopped:  # the batch after it is being written
                stopped.append(datetime.now(UTC))
                stopping.request()
            return dispatch(req)

        sandbox.jira.dispatch = hooked  # type: ignore[method-assign]

    install.stopped = stopped  # type: ignore[attr-defined]
    yield install
    stopping.reset()


def test_a_stop_with_two_batches_in_flight_journals_every_write_and_a_rerun_converges(
    tmp_path: Path, one_batch: Synced, stop_at_first_read_back: Callable[[Sandbox], None]
) -> None:
    with synced(tmp_path / "bridge.toml", batch=10, before=stop_at_first_read_back) as cut:
        sandbox, summary = cut.sandbox, cut.result.summary
        (sent,) = stop_at_first_read_back.stopped  # type: ignore[attr-defined]
        assert summary.interrupted == "SIGINT" and cut.result.exit_code == 130
        late = [w for w in spans(sandbox, writes=True) if w[0] > sent + SLACK]
        assert late == [], "Jira writes began after the stop"
        assert 0 < summary.created < N, "the run was not cut short with writes in flight"

        bridge = Bridge(cut.config)
        assert bridge.status().open_intents == 0  # every write in flight was journaled
        rerun = bridge.sync()
    assert rerun.exit_code == 0, rerun.summary.errors
    assert jira_issues(sandbox) == jira_issues(one_batch.sandbox)  # nothing doubled, nothing lost
    assert page_incidents(sandbox) == page_incidents(one_batch.sandbox)
