"""A note a person adds on Jira between our write and our read-back is theirs: its version is
not taken as ours, so the next sync reads the issue again and copies the note. The CLI against
the sandbox over loopback."""

from __future__ import annotations

from itsm_bridge.sandbox.jira.store import text_adf
from tests.integration.test_notes_identity import containing
from tests.integration.test_sync import add_incident, jira_issue_for, settle
from tests.reliability.edits import snow_note_texts


def test_a_jira_note_made_between_our_transition_and_the_read_back_reaches_servicenow(bridge, monkeypatch):
    record = add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    assert bridge.sync_json()[0] == 0
    store = bridge.sandbox.jira.store
    move, noted = store.set_status, []

    def move_then_a_person_notes(issue, status, resolution=None):
        move(issue, status, resolution)  # under the sandbox's lock, as the transition request holds it
        if not noted:  # a person comments right after our transition, before our bulk read-back
            noted.append(store.add_comment(issue, text_adf("failed over by hand"), {}, "human"))

    monkeypatch.setattr(store, "set_status", move_then_a_person_notes)
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"state": "3", "hold_reason": "1"})
    code, summary = bridge.sync_json()
    assert code == 0 and summary["transitioned"] == 1 and noted, summary
    monkeypatch.undo()

    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0 and summary["commented"] == 1, summary
    assert containing(snow_note_texts(bridge.sandbox, record["sys_id"]), "failed over by hand") == 1
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0 and summary["commented"] == summary["updated"] == summary["transitioned"] == 0, summary
    assert jira_issue_for(bridge.sandbox, record["number"])["fields"]["status"]["name"] == "Pending"
