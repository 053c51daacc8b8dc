"""The bridge knows its own notes by a marker naming the copied note AND the integration user as
author: a reset store copies nothing twice, and a person's note that begins with the marker text
still syncs. The CLI against the sandbox over loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from itsm_bridge.correlation import NOTE_MARKER
from itsm_bridge.sandbox.jira.store import text_adf
from tests.integration.test_sync import add_incident, jira_issue_for, settle
from tests.reliability.edits import jira_comment_texts, snow_note_texts


def jira_comment_by_a_person(sandbox, key: str, text: str) -> None:
    with sandbox.jira.lock:
        issue = sandbox.jira.store.get(key)
        sandbox.jira.store.add_comment(issue, text_adf(text), {"sd.public.comment": {"internal": True}}, "human")


def containing(texts: list[str], text: str) -> int:
    return sum(text in t for t in texts)


@pytest.mark.parametrize("resets", [2, pytest.param(4, marks=pytest.mark.slow)])
def test_lost_state_files_copy_no_note_twice(bridge, resets):
    record = add_incident(bridge.sandbox)
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"work_notes": "rebooted mx2"}, user="ana")
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])["key"]
    jira_comment_by_a_person(bridge.sandbox, issue, "queue drained")
    settle(bridge)
    assert bridge.sync_json()[0] == 0
    state = Path(bridge.config.state_url[len("sqlite:///") :])
    for _ in range(resets):
        for leftover in state.parent.glob(state.name + "*"):
            leftover.unlink()  # the state file lost (with its WAL and lock)
        code, summary = bridge.sync_json()
        assert code == 0 and summary["created"] == 0 and summary["commented"] == 0, summary
        settle(bridge)
    assert containing(jira_comment_texts(bridge.sandbox, issue), "rebooted mx2") == 1
    assert containing(snow_note_texts(bridge.sandbox, record["sys_id"]), "queue drained") == 1


def test_a_persons_note_that_begins_with_the_marker_text_syncs_both_ways(bridge):
    record = add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])["key"]
    bridge.sandbox.servicenow.update_incident(
        record["sys_id"], {"work_notes": f"{NOTE_MARKER} (jira) from the runbook: restart"}, user="ana"
    )
    jira_comment_by_a_person(bridge.sandbox, issue, f"{NOTE_MARKER} pasted from chat: disk full")
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0 and summary["commented"] == 2, summary
    settle(bridge)
    assert containing(jira_comment_texts(bridge.sandbox, issue), "from the runbook: restart") == 1
    assert containing(snow_note_texts(bridge.sandbox, record["sys_id"]), "pasted from chat: disk full") == 1
    code, summary = bridge.sync_json()  # and the copies are not taken for new notes: no echo
    assert code == 0 and summary["commented"] == 0, summary


def test_the_same_words_noted_twice_are_copied_twice(bridge):
    record = add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    issue = jira_issue_for(bridge.sandbox, record["number"])["key"]
    for _ in range(2):  # an "escalated" on two days: two notes, with the same words
        bridge.sandbox.servicenow.update_incident(
            record["sys_id"], {"work_notes": "escalated to the vendor"}, user="ana"
        )
        settle(bridge)
        code, summary = bridge.sync_json()
        assert code == 0 and summary["commented"] == 1, summary
    settle(bridge)
    code, summary = bridge.sync_json()
    assert code == 0 and summary["commented"] == 0, summary
    assert containing(jira_comment_texts(bridge.sandbox, issue), "escalated to the vendor") == 2
