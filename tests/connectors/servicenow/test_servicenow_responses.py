"""Exact ServiceNow requests: query strings, headers, payloads, paging, refusals (`responses`)."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from itsm_bridge.connectors.servicenow import ServiceNowConnector
from itsm_bridge.connectors.servicenow.query import Query
from itsm_bridge.connectors.servicenow.rows import INCIDENT_COLUMNS, READ_FIELDS
from itsm_bridge.correlation import NOTE_MARKER
from itsm_bridge.errors import (
    AuthError,
    ConnectorError,
    Forbidden,
    Paused,
    RemoteValidation,
    RequiredFieldMissing,
    UnsafeQueryValue,
)
from itsm_bridge.mapping.fields import SERVICENOW_FIELDS
from itsm_bridge.mapping.servicenow import ServiceNowMapper
from itsm_bridge.model import Comment, Incident, RemoteRef, State, Visibility
from itsm_bridge.watermark import Watermark, seen_key
from tests.connectors import snow_config

BASE = "https://acme.service-now.com"
INCIDENT = f"{BASE}/api/now/table/incident"
JOURNAL = f"{BASE}/api/now/table/sys_journal_field"
PASSWORD = "pw-not-to-be-seen-9"


def sid(n: int) -> str:
    return f"{n:032x}"


def row(n: int, updated: str = "2024-03-01 12:00:00", mod: str = "0", **extra: str) -> dict:
    values = {
        "sys_id": sid(n),
        "number": f"INC{n:07d}",
        "sys_mod_count": mod,
        "sys_updated_on": updated,
        "correlation_id": "",
        "correlation_display": "",
        "state": "1",
        "impact": "3",
        "urgency": "3",
        "priority": "5",
        "short_description": f"incident {n}",
        **extra,
    }
    return {k: {"value": v, "display_value": v} for k, v in values.items()}


def query_of(call: responses.Call) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(call.request.url).query, keep_blank_values=True).items()}


@pytest.fixture
def snow(monkeypatch):
    monkeypatch.setenv("SNOW_TEST_PASSWORD", PASSWORD)
    sleeps: list[float] = []
    conn = ServiceNowConnector(snow_config(BASE), sleep=sleeps.append)
    conn.sleeps = sleeps  # type: ignore[attr-defined]
    return conn


@pytest.fixture
def snow_pages_of_2(monkeypatch):
    monkeypatch.setenv("SNOW_TEST_PASSWORD", PASSWORD)
    return ServiceNowConnector(snow_config(BASE, page_size=2), sleep=lambda s: None)


@responses.activate
def test_changed_since_pins_query_fields_and_the_keyset_of_the_next_page(snow_pages_of_2):
    snow = snow_pages_of_2
    responses.get(INCIDENT, json={"result": [row(1), row(2)]}, headers={"X-Total-Count": "3"})
    responses.get(JOURNAL, json={"result": []})
    responses.get(INCIDENT, json={"result": [row(3, "2024-03-01 12:00:01")]}, headers={"X-Total-Count": "1"})
    responses.get(JOURNAL, json={"result": []})
    mark = Watermark(datetime(2024, 3, 1, 12, 0, tzinfo=UTC))
    got = [r.ref.id for r in snow.changed_since(mark)]
    assert got == [sid(1), sid(2), sid(3)]
    first = query_of(responses.calls[0])
    assert first == {
        "sysparm_query": "sys_updated_on>=2024-03-01 11:59:00^ORDERBYsys_updated_on^ORDERBYsys_id",
        "sysparm_limit": "2",
        "sysparm_suppress_pagination_header": "true",
        "sysparm_display_value": "all",
        "sysparm_exclude_reference_link": "true",
        "sysparm_fields": READ_FIELDS,
    }
    assert set(READ_FIELDS.split(",")) >= {"sys_id", "sys_mod_count", "sys_updated_on", "correlation_id", "cmdb_ci"}
    assert "work_notes" not in READ_FIELDS.split(",")
    second = query_of(responses.calls[2])  # strictly after (12:00:00, sid(2)), no offset
    assert second == {
        **first,
        "sysparm_query": (
            f"sys_updated_on>=2024-03-01 11:59:00^sys_updated_on>2024-03-01 12:00:00"
            f"^ORsys_id>{sid(2)}^sys_updated_on>=2024-03-01 12:00:00"
            "^ORDERBYsys_updated_on^ORDERBYsys_id"
        ),
    }
    journal = query_of(responses.calls[1])
    assert journal["sysparm_query"] == (
        f"element_idIN{sid(1)},{sid(2)}^elementINwork_notes,comments^ORDERBYsys_created_on^ORDERBYsys_id"
    )
    assert len(responses.calls) == 4  # X-Total-Count 1 fits a page: no further request


def test_every_column_the_mapping_reads_or_writes_is_read():
    assert set(SERVICENOW_FIELDS.values()) == set(INCIDENT_COLUMNS)


@responses.activate
def test_changed_since_without_watermark_reads_everything_in_order(snow):
    responses.get(INCIDENT, json={"result": []})
    assert list(snow.changed_since(None)) == []
    assert query_of(responses.calls[0])["sysparm_query"] == "ORDERBYsys_updated_on^ORDERBYsys_id"


@responses.activate
def test_a_record_updated_mid_read_comes_again_at_its_new_version(snow_pages_of_2):
    responses.get(INCIDENT, json={"result": [row(1), row(2)]}, headers={"X-Total-Count": "3"})
    responses.get(INCIDENT, json={"result": [row(1, "2024-03-01 12:00:05", mod="1")]}, headers={"X-Total-Count": "1"})
    got = [(r.ref.id, r.version) for r in snow_pages_of_2.changed_since(None, notes=False)]
    assert got == [(sid(1), "0"), (sid(2), "0"), (sid(1), "1")]
    assert snow_pages_of_2.stats.rows == 3 and snow_pages_of_2.stats.pages == 2


@responses.activate
def test_without_a_total_count_a_short_page_ends_the_read_and_a_full_one_does_not(snow_pages_of_2):
    responses.get(INCIDENT, json={"result": [row(1), row(2)]})
    responses.get(INCIDENT, json={"result": [row(3)]})
    assert [r.ref.id for r in snow_pages_of_2.changed_since(None, notes=False)] == [sid(1), sid(2), sid(3)]
    assert len(responses.calls) == 2


@responses.activate
def test_a_page_acls_shortened_does_not_end_the_read_while_the_count_says_more(snow_pages_of_2):
    # the limit applies before ACL evaluation: 2 rows asked, 1 shown, 4 matched
    responses.get(INCIDENT, json={"result": [row(1)]}, headers={"X-Total-Count": "4"})
    responses.get(INCIDENT, json={"result": [row(3), row(4)]}, headers={"X-Total-Count": "2"})
    assert [r.ref.id for r in snow_pages_of_2.changed_since(None, notes=False)] == [sid(1), sid(3), sid(4)]
    assert f"^ORsys_id>{sid(1)}^" in query_of(responses.calls[1])["sysparm_query"]


@responses.activate
def test_a_page_acls_hide_entirely_stops_the_read_loudly(snow_pages_of_2):
    responses.get(INCIDENT, json={"result": []}, headers={"X-Total-Count": "5"})
    with pytest.raises(Forbidden, match="ACLs hide them"):
        list(snow_pages_of_2.changed_since(None, notes=False))
    assert len(responses.calls) == 1


@responses.activate
def test_rows_not_after_the_keyset_stop_the_read_instead_of_looping(snow_pages_of_2):
    # an instance that dropped the keyset condition answers the first page again
    responses.get(INCIDENT, json={"result": [row(1), row(2)]}, headers={"X-Total-Count": "3"})
    with pytest.raises(ConnectorError, match="keyset query was not applied"):
        list(snow_pages_of_2.changed_since(None, notes=False))
    assert len(responses.calls) == 2


@responses.activate
def test_records_already_applied_at_their_version_are_skipped(snow):
    responses.get(INCIDENT, json={"result": [row(1), row(2)]})
    when = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    mark = Watermark(when, {seen_key(sid(1), "0"): when})
    assert [r.ref.id for r in snow.changed_since(mark, notes=False)] == [sid(2)]
    assert snow.stats.already_applied == 1


@responses.activate
def test_notes_are_read_back_internal_and_public_apart_and_ours_are_left_out(snow):
    responses.get(INCIDENT, json={"result": [row(1)]})
    note = {"element_id": sid(1), "sys_created_by": "ana", "sys_created_on": "2024-03-01 12:00:00"}
    responses.get(
        JOURNAL,
        json={
            "result": [
                {**note, "sys_id": "a", "element": "work_notes", "value": "checked the logs"},
                {**note, "sys_id": "b", "element": "comments", "value": "we are on it"},
                {
                    **note,
                    "sys_id": "c",
                    "element": "comments",
                    "value": f"{NOTE_MARKER} (jira) copied over",
                    "sys_created_by": snow.settings.user,
                },
                {
                    **note,
                    "sys_id": "d",
                    "element": "work_notes",
                    "value": f"{NOTE_MARKER} (jira:10007) Ana: copied",
                    "sys_created_by": snow.settings.user,
                },
                {**note, "sys_id": "e", "element": "work_notes", "value": f"{NOTE_MARKER} pasted by a person"},
            ]
        },
    )
    (record,) = snow.changed_since(None)
    assert [(c.id, c.body, c.visibility) for c in record.comments] == [
        ("a", "checked the logs", Visibility.INTERNAL),
        ("b", "we are on it", Visibility.PUBLIC),
        ("e", f"{NOTE_MARKER} pasted by a person", Visibility.INTERNAL),  # marker text, but a person's: it syncs
    ]
    assert record.copied == ("10007",)  # the Jira comment our copy names


@responses.activate
def test_an_injected_value_cannot_widen_a_query_and_nothing_is_sent(snow):
    with pytest.raises(UnsafeQueryValue, match=r"'\^' separates conditions"):
        snow.find("x^NQactive=false")
    with pytest.raises(UnsafeQueryValue):
        snow.create({"short_description": "t"}, "x^NQactive=false")
    assert len(responses.calls) == 0


def test_query_builder_refuses_unsafe_values_and_field_names():
    with pytest.raises(UnsafeQueryValue, match="','"):
        Query().where("number", "IN", ["INC1", "INC2,INC3"])
    with pytest.raises(UnsafeQueryValue, match="line break"):
        Query().where("short_description", "=", "a\nb")
    with pytest.raises(UnsafeQueryValue, match="field name"):
        Query().where("state=1^ORnumber", "=", "x")
    q = (
        Query()
        .where("number", "IN", ["INC1", "INC2"])
        .where("active", "=", "true")
        .new_query()
        .where("number", "=", "X")
    )
    assert (
        q.order_by("sys_id", descending=True).encode() == "numberININC1,INC2^active=true^NQnumber=X^ORDERBYDESCsys_id"
    )
    assert Query().where("a", "=", "1").or_where("b", ">", "2").where("c", "=", "3").encode() == "a=1^ORb>2^c=3"
    with pytest.raises(UnsafeQueryValue):
        Query().where("a", "=", "1").or_where("sys_id", ">", "x^NQactive=false")
    with pytest.raises(ValueError, match="needs a condition before it"):
        Query().or_where("a", "=", "1")


@responses.activate
def test_find_asks_for_our_correlation_id_or_the_number(snow):
    responses.get(INCIDENT, json={"result": [row(7, correlation_id="K-1", correlation_display="itsm-bridge")]})
    found = snow.find("K-1")
    assert found is not None and found.correlation_key == "K-1" and found.ref.display == "INC0000007"
    q = query_of(responses.calls[0])
    assert q["sysparm_query"] == "correlation_id=K-1^correlation_display=itsm-bridge^NQnumber=K-1^ORDERBYsys_created_on"
    assert q["sysparm_limit"] == "2"


@responses.activate
def test_create_posts_correlation_and_fields_once(snow):
    responses.post(
        INCIDENT, status=201, json={"result": row(9, correlation_id="K-9", correlation_display="itsm-bridge")}
    )
    record = snow.create({"short_description": "Mail down", "impact": "1"}, "K-9")
    assert record.correlation_key == "K-9" and record.version == "0"
    (call,) = responses.calls
    assert json.loads(call.request.body) == {
        "short_description": "Mail down",
        "impact": "1",
        "correlation_id": "K-9",
        "correlation_display": "itsm-bridge",
    }
    assert (
        call.request.headers["Authorization"]
        == "Basic " + base64.b64encode(f"itsm.bridge:{PASSWORD}".encode()).decode()
    )


@responses.activate
def test_a_lost_create_answer_is_looked_up_before_anything_is_sent_again(snow):
    responses.post(INCIDENT, body=requests.exceptions.ConnectionError("Connection aborted: RemoteDisconnected"))
    responses.get(INCIDENT, json={"result": [row(9, correlation_id="K-9", correlation_display="itsm-bridge")]})
    record = snow.create({"short_description": "Mail down"}, "K-9")
    assert record.ref.id == sid(9)
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]


@responses.activate
def test_a_lost_create_that_did_not_commit_is_sent_again_after_the_lookup(snow):
    responses.post(INCIDENT, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(INCIDENT, json={"result": []})
    responses.post(
        INCIDENT, status=201, json={"result": row(9, correlation_id="K-9", correlation_display="itsm-bridge")}
    )
    assert snow.create({"short_description": "Mail down"}, "K-9").ref.id == sid(9)
    assert [c.request.method for c in responses.calls] == ["POST", "GET", "POST"]


@responses.activate
def test_update_sends_only_the_given_fields_and_notes_in_one_patch_with_names_resolved_once(snow):
    group = "Service Desk"
    responses.get(f"{BASE}/api/now/table/sys_user_group", json={"result": [{"sys_id": sid(50), "name": group}]})
    responses.patch(f"{INCIDENT}/{sid(1)}", json={"result": row(1, mod="1")})
    ref = RemoteRef("servicenow", sid(1), "INC0000001")
    note = Comment("Ana", "rebooted", datetime(2024, 3, 1, tzinfo=UTC), Visibility.INTERNAL, origin="jira")
    record = snow.update(ref, {"assignment_group": group, "impact": "2"}, comments=[note])
    snow.update(ref, {"assignment_group": group})
    assert record.version == "1"
    methods = [(c.request.method, urlsplit(c.request.url).path) for c in responses.calls]
    assert methods == [
        ("GET", "/api/now/table/sys_user_group"),
        ("PATCH", f"/api/now/table/incident/{sid(1)}"),
        ("PATCH", f"/api/now/table/incident/{sid(1)}"),
    ]
    assert query_of(responses.calls[0])["sysparm_query"] == "name=Service Desk"
    assert json.loads(responses.calls[1].request.body) == {
        "assignment_group": sid(50),
        "impact": "2",
        "work_notes": f"{NOTE_MARKER} (jira) Ana: rebooted",
    }


@responses.activate
def test_an_ambiguous_reference_name_is_refused_before_the_write(snow):
    twins = [{"sys_id": sid(50), "name": "Ops"}, {"sys_id": sid(51), "name": "Ops"}]
    responses.get(f"{BASE}/api/now/table/sys_user_group", json={"result": twins})
    with pytest.raises(RemoteValidation, match="ambiguous") as exc:
        snow.update(RemoteRef("servicenow", sid(1)), {"assignment_group": "Ops"})
    assert exc.value.fields == ["assignment_group"] and len(responses.calls) == 1


def test_resolve_without_close_code_is_refused_by_the_mapping_naming_the_column(snow):
    with pytest.raises(RequiredFieldMissing) as exc:
        ServiceNowMapper(snow.config).transition_fields(Incident("K-1", "t", resolution_notes="fixed"), State.RESOLVED)
    assert exc.value.fields == ["resolution_code (close_code)"]


@responses.activate
def test_resolve_sends_state_close_code_and_notes_in_one_patch(snow):
    responses.patch(f"{INCIDENT}/{sid(1)}", json={"result": row(1, mod="3", state="6")})
    incident = Incident("K-1", "Mail down", resolution_code="Solved Permanently", resolution_notes="patched")
    fields = ServiceNowMapper(snow.config).transition_fields(incident, State.RESOLVED)
    snow.transition(RemoteRef("servicenow", sid(1)), State.RESOLVED, fields)
    (call,) = responses.calls
    assert json.loads(call.request.body) == {
        "state": "6",
        "close_code": "Solved (Permanently)",
        "close_notes": "patched",
    }


@responses.activate
def test_a_data_policy_refusal_is_a_validation_error_naming_the_fields(snow):
    body = {
        "error": {
            "message": "Operation Failed",
            "detail": "Data Policy Exception: The following fields are mandatory: Resolution code, Resolution notes",
        },
        "status": "failure",
    }
    responses.patch(f"{INCIDENT}/{sid(1)}", status=403, json=body)
    with pytest.raises(RemoteValidation) as exc:
        snow.update(RemoteRef("servicenow", sid(1)), {"state": "6"})
    assert exc.value.fields == ["close_code", "close_notes"] and exc.value.disposition == "skip"


@responses.activate
def test_refused_credentials_stop_with_exit_4_naming_instance_and_user_never_the_password(snow):
    responses.get(INCIDENT, status=401, json={"error": {"message": "User Not Authenticated", "detail": ""}})
    with pytest.raises(AuthError) as exc:
        list(snow.changed_since(None))
    text = str(exc.value)
    assert exc.value.exit_code == 4 and BASE in text and "itsm.bridge" in text and PASSWORD not in text
    assert len(responses.calls) == 1


@responses.activate
def test_a_403_without_data_policy_is_forbidden_and_not_retried(snow):
    responses.get(INCIDENT, status=403, json={"error": {"message": "Insufficient rights", "detail": ""}})
    with pytest.raises(Forbidden, match="itsm.bridge"):
        snow.find("K-1")
    assert len(responses.calls) == 1


@responses.activate
def test_a_429_waits_at_least_retry_after_then_continues(snow):
    responses.get(
        INCIDENT, status=429, headers={"Retry-After": "3"}, json={"error": {"message": "limit", "detail": ""}}
    )
    responses.get(INCIDENT, json={"result": []})
    assert snow.find("K-1") is None
    assert any(s >= 3.0 for s in snow.sleeps) and len(responses.calls) == 2


@responses.activate
def test_a_429_asking_for_longer_than_max_wait_s_stops_the_platform_without_waiting(snow):
    reset = int(datetime.now(UTC).timestamp()) + 3000
    headers = {
        "Retry-After": "3000",
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Reset": str(reset),
        "X-RateLimit-Rule": sid(9),
    }
    responses.get(
        INCIDENT, status=429, headers=headers, json={"error": {"message": "Rate limit exceeded", "detail": ""}}
    )
    with pytest.raises(Paused) as caught:
        snow.find("K-1")
    assert snow.sleeps == [] and len(responses.calls) == 1  # not slept out, not retried
    assert abs(caught.value.until.timestamp() - reset) < 5 and caught.value.platform == "servicenow"
    with pytest.raises(Paused):  # every later request of the run stops at once, without a call
        snow.get(RemoteRef("servicenow", sid(1)))
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (
            {
                "status": 403,
                "json": {"error": {"message": "User Not Authorized", "detail": "Failed API level ACL Validation"}},
            },
            "cannot read sys_journal_field",
        ),
        ({"json": {"result": []}, "headers": {"X-Total-Count": "7"}}, "holds 7 incident note(s) but showed"),
    ],
)
def test_check_says_when_an_acl_hides_or_denies_the_notes(snow, answer, detail):
    responses.get(INCIDENT, json={"result": [{"sys_id": sid(1)}]})
    responses.get(f"{BASE}/api/now/table/sys_user_has_role", json={"result": [{"sys_id": sid(2)}]})
    responses.get(JOURNAL, **answer)
    responses.get(f"{BASE}/api/now/table/sys_audit", json={"result": []})
    responses.get(f"{BASE}/api/now/table/sys_choice", json={"result": []})
    notes = next(r for r in snow.check() if r.check == "read notes")
    assert not notes.ok and detail in notes.detail and "sys_journal_field" in notes.fix


@responses.activate
def test_a_next_link_to_another_host_is_not_followed(snow):
    responses.get(INCIDENT, json={"result": [row(1)]})
    note = {
        "sys_id": "a",
        "element_id": sid(1),
        "element": "comments",
        "value": "hi",
        "sys_created_on": "2024-03-01 12:00:00",
    }
    responses.get(JOURNAL, json={"result": [note]}, headers={"Link": '<https://evil.example/x>;rel="next"'})
    with pytest.raises(ConnectorError, match="refusing to follow"):
        list(snow.changed_since(None))
    assert len(responses.calls) == 2


@responses.activate
def test_bearer_token_auth_sends_the_token(monkeypatch):
    monkeypatch.setenv("SNOW_TEST_TOKEN", "tok-123")
    responses.get(INCIDENT, json={"result": []})
    ServiceNowConnector(snow_config(BASE, auth="token")).find("K-1")
    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok-123"


@responses.activate
def test_oauth_client_credentials_token_is_cached_and_renewed_once_on_401(monkeypatch):
    monkeypatch.setenv("SNOW_TEST_CLIENT_ID", "cid")
    monkeypatch.setenv("SNOW_TEST_CLIENT_SECRET", "csecret")
    responses.post(f"{BASE}/oauth_token.do", json={"access_token": "t1", "expires_in": 1800})
    responses.post(f"{BASE}/oauth_token.do", json={"access_token": "t2", "expires_in": 1800})
    responses.get(INCIDENT, json={"result": []})
    responses.get(INCIDENT, status=401, json={"error": {"message": "token expired", "detail": ""}})
    responses.get(INCIDENT, json={"result": []})
    conn = ServiceNowConnector(snow_config(BASE, auth="oauth"))
    conn.find("K-1")
    conn.find("K-2")
    sent = [
        (c.request.method, urlsplit(c.request.url).path, c.request.headers.get("Authorization"))
        for c in responses.calls
    ]
    assert sent == [
        ("POST", "/oauth_token.do", None),
        ("GET", "/api/now/table/incident", "Bearer t1"),
        ("GET", "/api/now/table/incident", "Bearer t1"),
        ("POST", "/oauth_token.do", None),
        ("GET", "/api/now/table/incident", "Bearer t2"),
    ]
    assert parse_qs(responses.calls[0].request.body) == {
        "grant_type": ["client_credentials"],
        "client_id": ["cid"],
        "client_secret": ["csecret"],
    }


@responses.activate
def test_check_reports_each_missing_choice_value_by_name(snow):
    responses.get(INCIDENT, json={"result": [{"sys_id": sid(1)}]})
    responses.get(f"{BASE}/api/now/table/sys_user_has_role", json={"result": [{"sys_id": sid(2)}]})
    responses.get(JOURNAL, json={"result": [{"sys_id": sid(3)}]}, headers={"X-Total-Count": "1"})
    responses.get(f"{BASE}/api/now/table/sys_audit", json={"result": []}, headers={"X-Total-Count": "0"})
    choices = [
        {"element": "category", "value": v, "dependent_value": ""}
        for v in ("inquiry", "software", "hardware", "network")
    ]  # "database" missing
    choices += [
        {"element": "subcategory", "value": v, "dependent_value": d}
        for v, d in [
            ("email", "software"),
            ("os", "software"),
            ("cpu", "hardware"),
            ("disk", "hardware"),
            ("vpn", "network"),
            ("dns", "network"),
            ("db2", "database"),
            ("oracle", "database"),
        ]
    ]
    choices += [
        {"element": "close_code", "value": v, "dependent_value": ""}
        for v in ("Solved (Permanently)", "Solved (Work Around)", "Not Solved (Not Reproducible)")
    ]
    responses.get(f"{BASE}/api/now/table/sys_choice", json={"result": choices})
    results = {r.check: r for r in snow.check()}
    assert all(
        results[c].ok
        for c in ("reachable", "credentials", "read incident", "write incident", "read notes", "choices subcategory")
    )
    assert not results["choices category"].ok and results["choices category"].detail.endswith(": database")
    assert not results["choices close_code"].ok and "Closed/Resolved by Caller" in results["choices close_code"].detail
    assert query_of(responses.calls[4])["sysparm_query"] == (
        "name=incident^elementINcategory,close_code,subcategory^inactive=false"
    )


@responses.activate
def test_check_with_bad_credentials_says_so_without_the_password(snow):
    responses.get(INCIDENT, status=401, json={"error": {"message": "User Not Authenticated", "detail": ""}})
    results = snow.check()
    assert [(r.check, r.ok) for r in results] == [("reachable", True), ("credentials", False)]
    assert PASSWORD not in repr(results)


def test_times_are_read_as_utc_whatever_the_local_zone(tmp_path):
    import subprocess
    import sys

    code = (
        "import time; time.tzset(); from itsm_bridge.vendor_time import parse_snow_time;"
        "print(parse_snow_time('2024-07-01 23:30:00').isoformat())"
    )
    path = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}  # this tree's package
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"TZ": "America/Los_Angeles", "PATH": "", **path},
        capture_output=True,
        text=True,
        check=True,
        cwd=str(tmp_path.parent),
    )
    assert out.stdout.strip() == "2024-07-01T23:30:00+00:00"
    assert datetime.fromisoformat(out.stdout.strip()) - datetime(2024, 7, 1, 23, 30, tzinfo=UTC) == timedelta(0)


@responses.activate
def test_2500_rows_in_one_second_with_an_insert_behind_the_read_are_each_yielded_once(snow):
    # A server evaluating each page's query as the sandbox does, over rows sharing one second;
    # after the first page a row is inserted ahead of them all in sys_id order, behind the read.
    from itsm_bridge.sandbox.servicenow.encoded_query import run

    table = [{"sys_id": sid(n), "sys_updated_on": "2024-03-01 12:00:00"} for n in range(1000, 3500)]

    def page(request):
        q = {k: v[-1] for k, v in parse_qs(urlsplit(request.url).query).items()}
        if "sys_id>" in q["sysparm_query"] and len(table) == 2500:
            table.insert(0, {"sys_id": sid(1), "sys_updated_on": "2024-03-01 12:00:00"})
        rows = run(table, q["sysparm_query"], lambda f: True, lambda f: lambda r: r.get(f, ""), lambda f: False)
        body = {"result": [row(int(r["sys_id"], 16)) for r in rows[: int(q["sysparm_limit"])]]}
        return 200, {"X-Total-Count": str(len(rows))}, json.dumps(body)

    responses.add_callback(responses.GET, INCIDENT, callback=page)
    read = [r.ref.id for r in snow.changed_since(None, notes=False)]
    assert read == [sid(n) for n in range(1000, 3500)]  # sid(1) is for the next run, from overlap before the watermark
    assert snow.stats.pages == 3 and "sysparm_offset" not in responses.calls[1].request.url


@responses.activate
def test_with_a_token_the_author_of_our_notes_is_learned_from_our_writes_and_kept_with_the_facts(monkeypatch):
    monkeypatch.setenv("SNOW_TEST_TOKEN", "tok-not-to-be-seen")
    snow = ServiceNowConnector(snow_config(BASE, "token"))
    note = {"element_id": sid(1), "sys_created_on": "2024-03-01 12:00:00", "element": "work_notes"}
    copy = f"{NOTE_MARKER} (jira:10007) Ana: copied"
    responses.get(INCIDENT, json={"result": [row(1)]})
    responses.get(
        JOURNAL,
        json={
            "result": [
                {**note, "sys_id": "a", "value": copy, "sys_created_by": "svc.bridge"},
                {**note, "sys_id": "b", "value": copy, "sys_created_by": "ana"},
            ]
        },
    )
    (before,) = snow.changed_since(None)  # who the bridge is is not known yet: a marker naming a note is ours
    assert before.comments == () and before.copied == ("10007", "10007")
    responses.patch(f"{INCIDENT}/{sid(1)}", json={"result": {"sys_id": sid(1), "sys_updated_by": "svc.bridge"}})
    snow.add_comment(
        RemoteRef("servicenow", sid(1)),
        Comment("Ana", "hi", datetime(2024, 3, 1, tzinfo=UTC), origin="jira", id="10008"),
    )
    assert query_of(responses.calls[-1])["sysparm_fields"] == "sys_id,sys_updated_by"
    (after,) = snow.changed_since(None)  # now only the copy svc.bridge wrote is ours; ana's is hers
    assert [(c.id, c.author) for c in after.comments] == [("b", "ana")] and after.copied == ("10007",)
    fresh = ServiceNowConnector(snow_config(BASE, "token"))
    fresh.restore(snow.facts())
    assert fresh.facts() == {"user": "svc.bridge"}
