"""The state store on PostgreSQL: the same contract as SQLite, over a real server.

Needs ITSM_BRIDGE_TEST_PG_URL (see tests/pg.py). Each test gets a database of its own.
"""

from __future__ import annotations

import multiprocessing

import pytest

from itsm_bridge.errors import Locked
from itsm_bridge.model import RemoteRef
from itsm_bridge.store import Cursor, Shadow, open_store
from tests.pg import needs_pg, pg_url  # noqa: F401 (pg_url: a fixture)

pytestmark = needs_pg


def test_links_shadows_cursors_journal_and_quarantine(pg_url):
    s = open_store(pg_url)
    assert s.schema_versions() == [1, 2, 3, 4, 5]
    s.link("K1", RemoteRef("jira", "10001", "OPS-1"))
    assert s.key_for("jira", "10001") == "K1"
    s.put_shadow(Shadow("K1", {"state": "new", "title": "Mail ✉"}, versions={"jira": "v1"}))
    s.put_shadow(
        Shadow("K1", {"state": "resolved"}, {"jira": {"state": "resolved"}}, frozenset({"f1"}), {"jira": "v2"})
    )
    shadow = s.shadow("K1")
    assert (shadow.merged, shadow.sides, shadow.comments_seen) == (
        {"state": "resolved"},
        {"jira": {"state": "resolved"}},
        {"f1"},
    )
    s.put_cursor(Cursor("servicenow", "2024-01-01T00:00:00+00:00", ("a@1|2024-01-01T00:00:00+00:00",)))
    assert s.cursor("servicenow").seen == ("a@1|2024-01-01T00:00:00+00:00",)
    intent = s.append("r", "intent", {"n": 1}, key="K1", platform="jira", action="create")
    assert [e.seq for e in s.open_intents()] == [intent.seq]
    s.append("r", "outcome", {"result": "ok"}, key="K1", platform="jira", action="create", intent_seq=intent.seq)
    assert s.open_intents() == [] and s.verify_journal().ok
    q = s.quarantine("servicenow", [{"rule_id": "x"}], {"a": 1}, key="K2", ref="r2")
    assert s.quarantine("servicenow", [{"rule_id": "x"}], {"a": 2}, key="K2", ref="r2").attempts == 2
    assert [e.attempts for e in s.quarantined(since=q.last_seen)] == [2] and s.quarantined(since="9999") == []
    s.release(q.id)
    assert s.quarantined() == []
    s.close()


def test_advisory_lock_allows_one_holder_and_is_released(pg_url):
    a, b = open_store(pg_url), open_store(pg_url)
    with a.lock("sync"):
        with pytest.raises(Locked):
            with b.lock("sync"):
                pass
    with b.lock("sync"):
        pass
    a.close()
    b.close()


def _writer(url: str, tag: str) -> None:
    s = open_store(url)
    for i in range(30):
        s.append(tag, "intent", {"i": i})
    s.close()


def test_two_processes_append_to_one_journal_and_the_chain_holds(pg_url):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(pg_url, t)) for t in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = open_store(pg_url)
    result = store.verify_journal()
    store.close()
    assert result.ok and result.entries == 60
