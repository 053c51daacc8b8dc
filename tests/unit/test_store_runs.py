"""The journal's runs and the learned facts through the store's typed API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from itsm_bridge.store import open_store
from tests.pg import ADMIN_URL, needs_pg, pg_url  # noqa: F401 (pg_url: a fixture)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    else:
        assert ADMIN_URL is not None
        url = request.getfixturevalue("pg_url")
    s = open_store(url)
    yield s
    s.close()


def _outcome(store: Any, run: str, key: str, result: str) -> None:
    intent = store.append(run, "intent", {"changes": {}}, key=key, platform="jira", action="update")
    store.append(
        run,
        "outcome",
        {"result": result, "error": "Transient"},
        key=key,
        platform="jira",
        action="update",
        intent_seq=intent.seq,
    )


def test_the_last_run_its_failed_writes_and_the_links_changed_since_are_queries(store):
    _outcome(store, "A", "K1", "failed")
    store.append("A", "run", {"failed": 1})
    store.append("x", "link", {"reason": "r"}, key="K5", platform="jira", action="relink")  # before the last run
    _outcome(store, "B", "K2", "failed")
    _outcome(store, "B", "K2", "failed")
    _outcome(store, "B", "K3", "ok")
    _outcome(store, "B", "K6", "quarantined")
    store.append("B", "run", {"failed": 1, "created": 0})
    store.append("y", "link", {"reason": "r"}, key="K4", platform="jira", action="unlink")
    store.append("y", "link", {"reason": "r"}, key="K7", platform="jira", action="link")  # not a repair
    _outcome(store, "C", "K8", "failed")  # a run that never finished: not the last run
    store.append("C", "run_error", {"command": "sync", "error": "Aborted"})

    run = store.last_run()
    assert (run.run_id, run.payload) == ("B", {"failed": 1, "created": 0})
    assert store.failed_in_last_run() == ["K2"]
    assert store.relinked_since_last_run() == ["K4"]
    assert [e.kind for e in store.journal(kinds=("run_error",), after=run.seq)] == ["run_error"]
    assert [e.seq for e in store.journal(last=2)] == [e.seq for e in list(store.journal())[-2:]]
    assert [e.key for e in store.journal(key="K2", kinds=("outcome",))] == ["K2", "K2"]


def test_no_run_yet_means_nothing_failed_and_every_repair_counts(store):
    _outcome(store, "A", "K1", "failed")
    store.append("y", "link", {}, key="K4", platform="jira", action="unlink")
    assert store.last_run() is None and store.failed_in_last_run() == []
    assert store.relinked_since_last_run() == ["K4"]


def test_facts_are_kept_per_platform_replaced_and_forgotten(store):
    assert store.facts("jira") is None
    store.put_facts("jira", {"zone": "Europe/Berlin", "workflow": {"Open": [{"id": "11", "name": "Start work"}]}})
    store.put_facts("jira", {"zone": "Etc/UTC", "long": "x" * 5000})  # longer than any cursor value
    store.put_facts("servicenow", {"user": "itsm.bridge"})
    facts = store.facts("jira")
    assert facts.values == {"zone": "Etc/UTC", "long": "x" * 5000} and facts.learned_at is not None
    store.forget_facts("jira")
    assert store.facts("jira") is None and store.facts("servicenow").values == {"user": "itsm.bridge"}


def _sqlite_steps(store: Any) -> list[int]:
    """A counter of the SQLite virtual machine's steps on every connection the store opens from now."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # 0: carry on

    store.engine.dispose()  # the connections opened from here on are counted
    event.listen(store.engine, "connect", lambda conn, _record: conn.set_progress_handler(count, 1))
    return steps


def test_reading_one_keys_entries_of_a_kind_visits_that_key_only_not_every_entry_of_the_kind(tmp_path):
    # A sync asks this once per comment it copies: visiting every intent of the journal each time
    # made each run's cost (and the database pages it holds in memory) grow with the journal.
    store = open_store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    steps = _sqlite_steps(store)

    def steps_to_read_k() -> int:
        steps[0] = 0
        assert [e.action for e in store.journal(key="K", kinds=("intent",))] == ["create", "comment"]
        return steps[0]

    store.append("A", "intent", {}, key="K", platform="jira", action="create")
    store.append("A", "outcome", {"result": "ok"}, key="K", platform="jira", action="create", intent_seq=1)
    store.append("A", "intent", {}, key="K", platform="jira", action="comment")
    for i in range(10):
        store.append("A", "intent", {}, key=f"O{i}", platform="jira", action="create")
    few = steps_to_read_k()
    for i in range(300):
        store.append("B", "intent", {}, key=f"P{i}", platform="jira", action="create")
    assert steps_to_read_k() < 2 * few
    store.close()
