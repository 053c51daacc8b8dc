"""Incidents read by sys_id in bulk: exact requests (`responses`)."""

from __future__ import annotations

import responses

from itsm_bridge.connectors.servicenow.rows import READ_FIELDS
from itsm_bridge.model import RemoteRef, Visibility
from tests.connectors.servicenow.test_servicenow_responses import INCIDENT, JOURNAL, query_of, row, sid, snow  # noqa: F401


@responses.activate
def test_get_many_reads_100_incidents_per_query_each_batch_with_one_notes_query(snow):
    wanted = [RemoteRef("servicenow", sid(n)) for n in range(1, 151)]
    refs = [*wanted, wanted[0], RemoteRef("servicenow", "INC0000001"), RemoteRef("servicenow", "x,y")]
    gone = sid(7)
    responses.get(INCIDENT, json={"result": [row(n) for n in range(1, 101) if sid(n) != gone]})
    note = {"element_id": sid(1), "sys_created_by": "ana", "sys_created_on": "2024-03-01 12:00:00"}
    responses.get(JOURNAL, json={"result": [{**note, "sys_id": "a", "element": "work_notes", "value": "rebooted"}]})
    stray = row(999)  # not asked for: as if the instance had ignored the query (c_TableAPI.md)
    responses.get(INCIDENT, json={"result": [row(n) for n in range(101, 151)] + [stray]})
    responses.get(JOURNAL, json={"result": []})

    records = snow.get_many(refs)

    assert sorted(r.ref.id for r in records) == sorted(r.id for r in wanted if r.id != gone)
    assert [(c.body, c.visibility) for c in records[0].comments] == [("rebooted", Visibility.INTERNAL)]
    assert [c.request.url.split("?")[0] for c in responses.calls] == [INCIDENT, JOURNAL, INCIDENT, JOURNAL]
    first, second = query_of(responses.calls[0]), query_of(responses.calls[2])
    ids = ",".join(sid(n) for n in range(1, 101))  # no id that is not a sys_id reaches a query
    assert first == {
        "sysparm_query": f"sys_idIN{ids}^ORDERBYsys_id",
        "sysparm_limit": str(snow.settings.page_size),
        "sysparm_display_value": "all",
        "sysparm_exclude_reference_link": "true",
        "sysparm_fields": READ_FIELDS,
    }
    assert second["sysparm_query"] == "sys_idIN" + ",".join(sid(n) for n in range(101, 151)) + "^ORDERBYsys_id"
    notes = query_of(responses.calls[1])["sysparm_query"]
    assert notes.startswith("element_idIN" + ",".join(sid(n) for n in range(1, 101) if sid(n) != gone) + "^")
    assert len(responses.calls[0].request.url) < 8000  # the IN list travels in the URL: kept short


@responses.activate
def test_get_many_of_nothing_readable_sends_nothing(snow):
    assert snow.get_many([RemoteRef("servicenow", "not-a-sys-id")]) == []
    assert len(responses.calls) == 0
