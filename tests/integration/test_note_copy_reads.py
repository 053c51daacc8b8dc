"""A run copying many notes of one incident reads the journal's earlier note intents for it once,
not once per note (each note is checked against them: was it tried before, its answer lost?)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from itsm_bridge import Bridge
from tests.integration.test_sync import add_incident, settle

NOTES = 5


@contextmanager
def intent_reads() -> Iterator[list[str]]:
    """The statements that read one key's intents from the journal, while inside."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        by_key = "journal.key =" in statement or 'journal."key" =' in statement
        if "FROM journal" in statement and by_key and "intent" in str(params):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", before)


def test_a_run_copying_many_notes_of_one_incident_reads_their_earlier_intents_once(bridge):
    record = add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    for n in range(NOTES):
        bridge.sandbox.servicenow.update_incident(record["sys_id"], {"work_notes": f"step {n} done"}, user="ana")
    settle(bridge)
    with intent_reads() as reads:
        result = Bridge(bridge.config_path).sync()
    assert result.summary.commented == NOTES, result.summary
    assert len(reads) == 1, f"{len(reads)} reads of the incident's intents"
