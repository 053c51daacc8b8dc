"""The audit's read of ServiceNow history: the exact sys_audit query, batching, and a refused read."""

from __future__ import annotations

from datetime import UTC, datetime

import responses

from itsm_bridge.connectors.servicenow.history import AUDIT_BATCH
from itsm_bridge.connectors.servicenow.rows import split_row, to_record
from itsm_bridge.history import ASSIGNEE, STATE, Change
from tests.connectors.servicenow.test_servicenow_responses import BASE, query_of, row, sid, snow  # noqa: F401

AUDIT = f"{BASE}/api/now/table/sys_audit"


def record(n: int, **extra: str):
    return to_record(*split_row(row(n, **extra)))


def audit_row(n: int, field: str, old: str, new: str, at: str) -> dict:
    return {"documentkey": sid(n), "fieldname": field, "oldvalue": old, "newvalue": new, "sys_created_on": at}


@responses.activate
def test_history_asks_sys_audit_for_three_fields_of_the_batch_and_maps_states(snow):
    responses.get(
        AUDIT,
        json={
            "result": [
                audit_row(1, "assigned_to", "", "abc123", "2024-03-01 12:05:00"),
                audit_row(1, "state", "1", "2", "2024-03-01 12:10:00"),
            ]
        },
    )
    found = snow.history([record(1, reassignment_count="2", reopen_count="1"), record(2)])
    q = query_of(responses.calls[0])
    assert q["sysparm_query"] == (
        f"tablename=incident^documentkeyIN{sid(1)},{sid(2)}"
        "^fieldnameINstate,assigned_to,assignment_group^ORDERBYsys_created_on"
    )
    assert q["sysparm_fields"] == "documentkey,fieldname,oldvalue,newvalue,sys_created_on"
    one = found[sid(1)]
    assert one.read and one.reassignments == 2 and one.reopens == 1
    assert one.changes == (
        Change(ASSIGNEE, "", "abc123", datetime(2024, 3, 1, 12, 5, tzinfo=UTC)),
        Change(STATE, "new", "in_progress", datetime(2024, 3, 1, 12, 10, tzinfo=UTC)),
    )
    assert found[sid(2)].read and found[sid(2)].changes == () and found[sid(2)].detected_field is None


@responses.activate
def test_history_reads_in_batches_of_a_hundred_incidents(snow):
    responses.get(AUDIT, json={"result": []})
    snow.history([record(n) for n in range(AUDIT_BATCH + 1)])
    assert len(responses.calls) == 2
    assert query_of(responses.calls[1])["sysparm_query"].startswith(
        f"tablename=incident^documentkeyIN{sid(AUDIT_BATCH)}^"
    )


@responses.activate
def test_a_refused_sys_audit_read_keeps_the_counts_and_says_history_was_not_read(snow, caplog):
    responses.get(AUDIT, status=403, json={"error": {"message": "Insufficient rights", "detail": ""}})
    found = snow.history([record(1, reassignment_count="0")])
    assert not found[sid(1)].read and found[sid(1)].reassignments == 0
    assert "cannot read sys_audit" in caplog.text
