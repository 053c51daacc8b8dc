"""The ServiceNow connector against the ServiceNow sandbox over loopback HTTP: paging within one
second, 429 storms, lossy creates, resolve checks, data policy, notes read back, doctor checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import requests

from itsm_bridge.connectors.servicenow import ServiceNowConnector
from itsm_bridge.errors import RemoteValidation
from itsm_bridge.mapping.servicenow import ServiceNowMapper
from itsm_bridge.model import Incident, RemoteRef, State, Visibility
from itsm_bridge.sandbox.core import Call
from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.sandbox.servicenow.api import ServiceNowPlatform
from itsm_bridge.watermark import Watermark
from tests.connectors import snow_config

SECOND = datetime(2024, 5, 2, 8, 30, 15, tzinfo=UTC)
TABLE = "/api/now/table"


@pytest.fixture
def platform():
    p = ServiceNowPlatform(seed=0)
    served = serve(p)
    yield p
    stop([served])


def connect(
    platform: ServiceNowPlatform, monkeypatch: pytest.MonkeyPatch, password: str | None = None, **settings: object
) -> ServiceNowConnector:
    monkeypatch.setenv("SNOW_TEST_PASSWORD", password or platform.credentials()["password"])
    return ServiceNowConnector(snow_config(platform.base_url, requests_per_second=1000.0, **settings))


def start_of(call: Call) -> datetime:
    return datetime.fromisoformat(call.at) - timedelta(milliseconds=call.duration_ms)


def delete_rows(platform: ServiceNowPlatform, table: str, query: str) -> int:
    """Delete the rows of `table` matching `query` through the Table API, as an admin would."""
    creds = platform.credentials()
    with requests.Session() as http:
        http.auth = (creds["user"], creds["password"])
        rows = http.get(
            f"{platform.base_url}{TABLE}/{table}",
            params={"sysparm_query": query, "sysparm_fields": "sys_id"},
            timeout=5,
        ).json()["result"]
        for r in rows:
            http.delete(f"{platform.base_url}{TABLE}/{table}/{r['sys_id']}", timeout=5).raise_for_status()
    return len(rows)


# --- incremental read
def test_2500_incidents_in_one_second_are_read_exactly_once_across_pages(platform, monkeypatch):
    platform.clock.freeze(SECOND)
    inserted = {
        platform.insert_incident({"short_description": f"storm {i}"}, updated_on=SECOND)["sys_id"] for i in range(2500)
    }
    snow = connect(platform, monkeypatch, page_size=1000)
    read = [r.ref.id for r in snow.changed_since(Watermark(SECOND), notes=False)]
    assert len(read) == len(set(read)) == 2500 and set(read) == inserted
    assert snow.stats.pages == 3 and snow.stats.rows == 2500
    queries = [c.query for c in platform.call_log.calls() if c.path.endswith("/incident")]
    assert all("sysparm_offset" not in q for q in queries)
    ordered = sorted(inserted)
    for q, last in zip(
        queries[1:], (ordered[999], ordered[1999]), strict=True
    ):  # each page starts after the last row read
        assert q["sysparm_query"][-1] == (
            f"sys_updated_on>=2024-05-02 08:29:15^sys_updated_on>2024-05-02 08:30:15"
            f"^ORsys_id>{last}^sys_updated_on>=2024-05-02 08:30:15"
            "^ORDERBYsys_updated_on^ORDERBYsys_id"
        )


def test_a_record_updated_mid_read_does_not_make_the_read_skip_another(platform, monkeypatch):
    start = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    ids = [
        platform.insert_incident({"short_description": f"n{i}"}, updated_on=start + timedelta(minutes=i))["sys_id"]
        for i in range(30)
    ]
    snow = connect(platform, monkeypatch, page_size=10)
    read = []
    for record in snow.changed_since(None, notes=False):
        read.append((record.ref.id, record.version))
        if len(read) == 10:  # first page done: the oldest record changes and moves to the end
            platform.update_incident(ids[0], {"short_description": "changed"})
    assert [i for i, _ in read[:30]] == ids
    assert read[30:] == [(ids[0], "1")]  # the change, a newer version, comes again at the end


def test_the_keyset_condition_means_strictly_after_the_last_row_on_the_sandbox_evaluator():
    from itsm_bridge.connectors.servicenow.rows import page_query
    from itsm_bridge.sandbox.servicenow.encoded_query import run

    times = ["2024-05-02 08:00:00", "2024-05-02 08:00:01", "2024-05-02 08:00:02"]
    rows = [{"sys_updated_on": t, "sys_id": f"{n:032x}"} for t in times for n in (1, 2, 3)]
    edge = datetime(2024, 5, 2, 8, 0, 1, tzinfo=UTC)
    text = page_query(edge - timedelta(seconds=1), (edge, f"{2:032x}")).encode()
    assert text == (
        f"sys_updated_on>=2024-05-02 08:00:00^sys_updated_on>2024-05-02 08:00:01^ORsys_id>{2:032x}"
        "^sys_updated_on>=2024-05-02 08:00:01^ORDERBYsys_updated_on^ORDERBYsys_id"
    )
    got = run(rows, text, lambda f: True, lambda f: lambda r: r.get(f, ""), lambda f: False)
    # (updated > E or sys_id > S) and updated >= E: not (08:00:00, 3), though its sys_id is past S
    assert [(r["sys_updated_on"][-2:], int(r["sys_id"], 16)) for r in got] == [
        ("01", 3),
        ("02", 1),
        ("02", 2),
        ("02", 3),
    ]


# --- rate limits
def test_a_429_storm_is_ridden_out_without_sending_before_retry_after(platform, monkeypatch):
    for i in range(3):
        platform.insert_incident({"short_description": f"n{i}"})
    platform.faults.inject("rate_429", count=3, method="GET", retry_after="1")
    snow = connect(platform, monkeypatch)
    assert len(list(snow.changed_since(None, notes=False))) == 3
    calls = platform.call_log.calls()
    assert [c.status for c in calls] == [429, 429, 429, 200]
    for throttled, following in pairwise(calls):
        waited = (start_of(following) - datetime.fromisoformat(throttled.at)).total_seconds()
        assert waited >= 1.0, f"sent {waited:.3f}s after a 429 with Retry-After: 1"


# --- writes
def test_a_lossy_create_leaves_exactly_one_record(platform, monkeypatch):
    platform.faults.inject("drop_after_commit", method="POST", path="/api/now/table/incident$")
    snow = connect(platform, monkeypatch)
    record = snow.create({"short_description": "Mail down"}, "K-LOSSY")
    mine = [i for i in platform.incidents() if i.get("correlation_id") == "K-LOSSY"]
    assert len(mine) == 1 and mine[0]["sys_id"] == record.ref.id
    assert record.correlation_key == "K-LOSSY"
    calls = [c for c in platform.call_log.calls() if c.path.endswith("/incident")]
    assert [(c.method, c.status) for c in calls] == [("POST", 0), ("GET", 200)]  # answer lost, looked up, not re-sent
    assert "correlation_id=K-LOSSY" in calls[1].query["sysparm_query"][-1]


def test_resolve_with_code_and_notes_sets_the_mapped_close_code(platform, monkeypatch):
    sys_id = platform.insert_incident({"short_description": "to resolve"})["sys_id"]
    snow = connect(platform, monkeypatch)
    incident = Incident("K-1", "to resolve", resolution_code="Solved Permanently", resolution_notes="restarted")
    snow.transition(
        RemoteRef("servicenow", sys_id),
        State.RESOLVED,
        ServiceNowMapper(snow.config).transition_fields(incident, State.RESOLVED),
    )
    stored = platform.incident(sys_id)
    assert (stored["state"], stored["close_code"], stored["close_notes"]) == ("6", "Solved (Permanently)", "restarted")


def test_the_data_policy_refusal_names_the_missing_fields(platform, monkeypatch):
    sys_id = platform.insert_incident({"short_description": "to resolve"})["sys_id"]
    snow = connect(platform, monkeypatch)
    with pytest.raises(RemoteValidation) as exc:
        snow.update(RemoteRef("servicenow", sys_id), {"state": "6"})  # bypasses transition's own check
    assert exc.value.fields == ["close_code", "close_notes"]
    assert exc.value.disposition == "skip"


# --- notes
def test_a_changed_note_is_read_back_as_internal_or_public(platform, monkeypatch):
    sys_id = platform.insert_incident({"short_description": "noted"}, updated_on=SECOND)["sys_id"]
    snow = connect(platform, monkeypatch)
    mark = Watermark(SECOND + timedelta(seconds=1))
    assert [r.ref.id for r in snow.changed_since(mark)] == [sys_id]  # inside the overlap window, not yet applied
    platform.update_incident(sys_id, {"work_notes": "looked at the queue"}, user="ana.lima")
    platform.update_incident(sys_id, {"comments": "we are on it"}, user="emeka.obi")
    (record,) = [r for r in snow.changed_since(mark) if r.ref.id == sys_id]
    assert record.version == "2"
    assert {(c.body, c.visibility, c.author) for c in record.comments} == {
        ("looked at the queue", Visibility.INTERNAL, "ana.lima"),
        ("we are on it", Visibility.PUBLIC, "emeka.obi"),
    }


def test_a_full_page_of_1000_incidents_is_read_with_its_notes(platform, monkeypatch):
    ids = [platform.insert_incident({"short_description": f"n{i}"}, updated_on=SECOND)["sys_id"] for i in range(1000)]
    platform.update_incident(ids[-1], {"work_notes": "last one"}, user="ana.lima", updated_on=SECOND)
    records = list(connect(platform, monkeypatch, page_size=1000).changed_since(None))
    assert len(records) == 1000
    noted = {r.ref.id: [(c.body, c.visibility) for c in r.comments] for r in records if r.comments}
    assert noted == {ids[-1]: [("last one", Visibility.INTERNAL)]}


# --- doctor
def test_check_looks_up_roles_and_choices_and_passes_on_a_seeded_instance(platform, monkeypatch):
    results = {r.check: r for r in connect(platform, monkeypatch).check()}
    assert [name for name, r in results.items() if not r.ok] == []
    assert "itsm.bridge holds one of the roles" in results["write incident"].detail
    paths = [c.path for c in platform.call_log.calls()]
    assert paths == [
        f"{TABLE}/incident",
        f"{TABLE}/sys_user_has_role",
        f"{TABLE}/sys_journal_field",
        f"{TABLE}/sys_audit",
        f"{TABLE}/sys_choice",
    ]
    assert all(c.method == "GET" for c in platform.call_log.calls())  # no write made to prove write access


def test_a_sync_read_whose_notes_an_acl_hides_says_so_in_the_log(platform, monkeypatch, caplog):
    platform.insert_incident({"short_description": "x", "work_notes": "looking"})
    platform.journal_access = "hidden"
    with caplog.at_level("WARNING", logger="itsm_bridge.servicenow"):
        (record,) = connect(platform, monkeypatch).changed_since(None)
    assert record.comments == ()
    assert "holds 1 note(s) of these incidents but showed user 'itsm.bridge' none" in caplog.text


@pytest.mark.parametrize(("access", "says"), [("hidden", "a read ACL hides them"), ("denied", "HTTP 403")])
def test_check_says_notes_would_never_sync_when_an_acl_hides_or_denies_them(platform, monkeypatch, access, says):
    platform.insert_incident({"short_description": "x", "work_notes": "looking"})
    assert next(r for r in connect(platform, monkeypatch).check() if r.check == "read notes").ok
    platform.journal_access = access
    notes = next(r for r in connect(platform, monkeypatch).check() if r.check == "read notes")
    assert not notes.ok and says in notes.detail and "never sync" in notes.detail


@pytest.mark.parametrize(("access", "says"), [("hidden", "a read ACL hides them"), ("denied", "HTTP 403")])
def test_check_warns_the_audit_loses_history_when_an_acl_hides_or_denies_sys_audit(platform, monkeypatch, access, says):
    sys_id = platform.insert_incident({"short_description": "x"})["sys_id"]
    platform.update_incident(sys_id, {"state": "2"}, user="ana.lima")  # a change sys_audit keeps
    history = next(r for r in connect(platform, monkeypatch).check() if r.check == "read history")
    assert history.ok and not history.warning and "sys_audit readable" in history.detail
    platform.audit_access = access
    history = next(r for r in connect(platform, monkeypatch).check() if r.check == "read history")
    assert (
        history.ok and history.warning and says in history.detail and "from notes and resolves only" in history.detail
    )
    assert "read on sys_audit" in history.fix


def test_display_values_in_the_users_time_zone_do_not_move_a_records_times(platform, monkeypatch):
    platform.user_timezone = "Australia/Lord_Howe"
    sys_id = platform.insert_incident({"short_description": "x"}, updated_on=SECOND)["sys_id"]
    record = connect(platform, monkeypatch).get(RemoteRef("servicenow", sys_id))
    assert record.updated == SECOND and record.display["sys_updated_on"] != record.fields["sys_updated_on"]
    from itsm_bridge.mapping.servicenow import ServiceNowMapper

    incident, _ = ServiceNowMapper(connect(platform, monkeypatch).config).to_canonical(record)
    assert incident.opened == SECOND and incident.updated == SECOND


def test_check_reports_a_user_without_an_incident_writing_role(platform, monkeypatch):
    assert delete_rows(platform, "sys_user_has_role", "user.user_name=itsm.bridge") == 1
    results = {r.check: r for r in connect(platform, monkeypatch).check()}
    assert not results["write incident"].ok
    assert "itsm.bridge holds none of the roles" in results["write incident"].detail
    assert results["write incident"].fix == "grant itsm.bridge the itil role"


def test_check_names_each_mapped_choice_missing_on_the_instance(platform, monkeypatch):
    delete_rows(platform, "sys_choice", "element=close_code^value=Solved (Permanently)")
    delete_rows(platform, "sys_choice", "element=subcategory^value=dns^dependent_value=network")
    results = {r.check: r for r in connect(platform, monkeypatch).check()}
    assert results["choices close_code"].detail == "missing on incident.close_code: Solved (Permanently)"
    assert results["choices subcategory"].detail == "missing on incident.subcategory: dns"
    assert results["choices category"].ok and results["write incident"].ok
