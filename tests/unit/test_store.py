from __future__ import annotations

import multiprocessing
import signal
import sqlite3
import subprocess
import sys

import pytest

from itsm_bridge.errors import Locked, StoreError
from itsm_bridge.model import RemoteRef
from itsm_bridge.store import Cursor, Shadow, open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    yield s
    s.close()


def test_store_is_created_on_first_use_with_schema_version_and_wal(tmp_path):
    path = tmp_path / "deep" / "state.sqlite"
    s = open_store(f"sqlite:///{path}")
    assert path.exists() and s.schema_versions() == [1, 2, 3, 4, 5]
    s.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert open_store(f"sqlite:///{path}").schema_versions() == [1, 2, 3, 4, 5]  # reopening migrates nothing


def test_links_both_ways(store):
    store.link("K1", RemoteRef("jira", "10001", "OPS-1"))
    store.link("K1", RemoteRef("servicenow", "abc", "INC0010001"))
    store.link("K1", RemoteRef("jira", "10001", "OPS-1"))  # idempotent
    assert store.links("K1") == [RemoteRef("jira", "10001", "OPS-1"), RemoteRef("servicenow", "abc", "INC0010001")]
    assert store.key_for("jira", "10001") == "K1" and store.key_for("jira", "nope") is None
    with pytest.raises(StoreError, match="already linked"):
        store.link("K1", RemoteRef("jira", "10002", "OPS-2"))


def test_shadow_and_cursor_round_trip(store):
    store.put_shadow(Shadow("K1", {"state": "new", "title": "Mail ✉"}, versions={"servicenow": "3"}))
    sides = {"jira": {"state": "in_progress", "title": "Mail ✉"}}
    store.put_shadow(
        Shadow("K1", {"state": "resolved"}, sides, frozenset({"ab12", "cd34"}), {"servicenow": "4", "jira": "2024"})
    )
    sh = store.shadow("K1")
    assert (sh.merged, sh.sides, sh.comments_seen) == ({"state": "resolved"}, sides, frozenset({"ab12", "cd34"}))
    assert sh.versions == {"servicenow": "4", "jira": "2024"} and sh.updated_at is not None
    assert [s.key for s in store.all_shadows()] == ["K1"] and store.shadow("K2") is None
    store.put_cursor(Cursor("servicenow", "2024-01-01T00:00:00+00:00", ("a:1", "b:2")))
    assert store.cursor("servicenow") == Cursor("servicenow", "2024-01-01T00:00:00+00:00", ("a:1", "b:2"))


def test_journal_is_hash_chained_and_verifies(store):
    for i in range(5):
        store.append("run1", "intent", {"i": i, "text": "é"}, key=f"K{i % 2}", platform="jira", action="create")
    assert store.verify_journal().ok and store.verify_journal().entries == 5
    assert [e.payload["i"] for e in store.journal(key="K1")] == [1, 3]


COLUMNS = "run_id, at, kind, key, platform, ref, action, payload, prev_hash, hash"


def _swap_entries_2_and_3(con: sqlite3.Connection) -> None:
    rows = {r[0]: r[1:] for r in con.execute(f"SELECT seq, {COLUMNS} FROM journal WHERE seq IN (2, 3)")}
    sets = ", ".join(f"{c.strip()} = ?" for c in COLUMNS.split(","))
    con.execute(f"UPDATE journal SET {sets} WHERE seq = 2", rows[3])
    con.execute(f"UPDATE journal SET {sets} WHERE seq = 3", rows[2])


@pytest.mark.parametrize(
    "tamper, expected",
    [
        (
            lambda con: con.execute("UPDATE journal SET payload = replace(payload, '2', '9') WHERE seq = 3"),
            "entry 3 was changed",
        ),
        (lambda con: con.execute("DELETE FROM journal WHERE seq = 3"), "entry 3 is missing"),
        (_swap_entries_2_and_3, "removed or reordered"),
    ],
    ids=["edited", "removed", "reordered"],
)
def test_journal_verify_detects_edit_removal_and_reorder(tmp_path, tamper, expected):
    path = tmp_path / "s.sqlite"
    s = open_store(f"sqlite:///{path}")
    for i in range(5):
        s.append("run1", "intent", {"i": i})
    s.close()
    con = sqlite3.connect(path)
    tamper(con)
    con.commit()
    con.close()
    result = open_store(f"sqlite:///{path}").verify_journal()
    assert not result.ok and any(expected in p for p in result.problems)


def test_quarantine_keeps_one_open_entry_per_record_and_counts_attempts(store):
    f = [{"rule_id": "taxonomy.unmapped.category", "message": "m"}]
    a = store.quarantine("servicenow", f, {"category": "quantum"}, key="K1", ref="abc")
    b = store.quarantine("servicenow", f, {"category": "quantum2"}, key="K1", ref="abc")
    assert a.id == b.id and b.attempts == 2
    assert [q.record for q in store.quarantined()] == [{"category": "quantum2"}]
    store.release(a.id)
    assert store.quarantined() == []


def test_quarantined_since_gives_only_the_open_entries_last_seen_at_or_after_the_time(store):
    f = [{"rule_id": "taxonomy.unmapped.category", "message": "m"}]
    old = store.quarantine("servicenow", f, {}, key="K1", ref="a")
    kept = store.quarantine("servicenow", f, {}, key=None, ref="b")
    again = store.quarantine("servicenow", f, {}, key="K1", ref="a")  # seen again: last_seen moves
    released = store.quarantine("jira", f, {}, key="K3", ref="c")
    store.release(released.id)
    assert [q.id for q in store.quarantined(since=kept.last_seen)] == [old.id, kept.id]
    assert [q.id for q in store.quarantined(since=again.last_seen)] == [old.id]
    assert store.quarantined(since=released.last_seen) == []
    assert [q.id for q in store.quarantined()] == [old.id, kept.id]


def test_lock_allows_one_holder(store):
    with store.lock("sync"):
        with pytest.raises(Locked, match="another run holds the lock"):
            with store.lock("sync"):
                pass
    with store.lock("sync"):  # released after use
        pass


HOLD = """
import sys, time
from itsm_bridge.store import open_store
s = open_store(sys.argv[1])
with s.lock("sync"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_lock_of_a_killed_process_is_taken_over(tmp_path, store):
    url = store.url
    with subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline().strip() == "held"
            with pytest.raises(Locked, match=f"pid {proc.pid}"):
                with store.lock("sync"):
                    pass
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    with store.lock("sync"):
        pass


def _writer(url: str, n: int, tag: str) -> None:
    s = open_store(url)
    for i in range(n):
        s.append(tag, "intent", {"i": i})
        s.link(f"{tag}-{i}", RemoteRef("jira", f"{tag}-{i}"))
    s.close()


def test_two_processes_open_and_write_one_store_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"  # neither process finds it created
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(url, 40, tag)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    s = open_store(url)
    result = s.verify_journal()
    assert result.ok and result.entries == 80
    assert len(list(s.all_links())) == 80


def test_open_intents_are_those_without_an_outcome(store):
    a = store.append("r", "intent", {"n": 1}, key="K1", platform="jira", action="create")
    b = store.append("r", "intent", {"n": 2}, key="K2", platform="jira", action="create")
    store.append("r", "outcome", {"result": "ok"}, key="K1", platform="jira", action="create", intent_seq=a.seq)
    assert [e.seq for e in store.open_intents()] == [b.seq]
    assert store.verify_journal().ok
