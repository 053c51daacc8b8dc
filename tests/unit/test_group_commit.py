"""Journal appends of many threads share transactions (group commit), and stay write-ahead: each
caller gets its own entry, committed, in one unbroken chain; one bad entry fails only its caller."""

from __future__ import annotations

import threading

from sqlalchemy import event

from itsm_bridge.store import open_store
from itsm_bridge.store.serialized import Serialized
from tests.pg import needs_pg, pg_url  # noqa: F401 (pg_url: a fixture)


def commits_of(store) -> list[int]:
    counted = [0]
    event.listen(store.engine, "commit", lambda conn: counted.__setitem__(0, counted[0] + 1))
    return counted


def append_from_threads(shared: Serialized, threads: int, each: int) -> dict[str, list[int]]:
    """Each thread appends `each` entries; returns the seqs each thread was given."""
    given: dict[str, list[int]] = {}

    def work(name: str) -> None:
        given[name] = [shared.append("run", "intent", {"n": n}, key=name).seq for n in range(each)]

    run_in_one_group(shared, [threading.Thread(target=work, args=(f"K{t}",)) for t in range(threads)])
    return given


def run_in_one_group(shared: Serialized, workers: list[threading.Thread]) -> None:
    """Start `workers` while the store's lock is held, so each has queued its first append before
    any group is written; then wait for them to finish."""
    with shared._lock:
        for w in workers:
            w.start()
        while len(shared._appends._waiting) < len(workers):
            threading.Event().wait(0.001)
    for w in workers:
        w.join()


def check_group_commit(store) -> None:
    commits = commits_of(store)
    given = append_from_threads(Serialized(store), threads=8, each=25)
    seqs = sorted(s for mine in given.values() for s in mine)
    assert seqs == list(range(1, 201))  # every caller its own entry, none lost or doubled
    for name, mine in given.items():
        entries = list(store.journal(name))
        assert [e.seq for e in entries] == mine and [e.payload["n"] for e in entries] == list(range(25))
    assert store.verify_journal().ok
    assert commits[0] < 200  # the first 8 appends at least went in one transaction


def test_appends_from_many_threads_share_commits_and_the_chain_holds(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    try:
        check_group_commit(store)
    finally:
        store.close()


@needs_pg
def test_appends_from_many_threads_share_commits_on_postgresql(pg_url):
    store = open_store(pg_url)
    try:
        check_group_commit(store)
    finally:
        store.close()


def test_an_entry_that_cannot_be_written_fails_only_its_caller(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    shared = Serialized(store)
    results: dict[str, object] = {}

    def work(name: str, payload: dict) -> None:
        try:
            results[name] = shared.append("run", "intent", payload, key=name).seq
        except Exception as exc:  # noqa: BLE001 - the test records what each caller got
            results[name] = exc

    bad = {"n": {1, 2}}  # a set: not JSON
    workers = [threading.Thread(target=work, args=(f"K{t}", bad if t == 2 else {"n": t})) for t in range(5)]
    try:
        run_in_one_group(shared, workers)  # all five wait in one group
        assert isinstance(results.pop("K2"), TypeError)
        assert sorted(results.values()) == [1, 2, 3, 4]
        assert store.verify_journal().ok and len(list(store.journal())) == 4
    finally:
        store.close()
