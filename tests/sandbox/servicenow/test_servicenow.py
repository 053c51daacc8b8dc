"""The ServiceNow sandbox over loopback HTTP: Table API shapes, paging, queries, incident rules, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from itsm_bridge.sandbox.core import HTTPFailure
from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.sandbox.servicenow.api import ServiceNowPlatform
from tests.specs import spec_path

EXAMPLES = spec_path("servicenow-examples")
INCIDENT = "/api/now/table/incident"
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text("utf-8"))


@pytest.fixture(scope="module")
def served() -> Iterator[ServiceNowPlatform]:
    platform = ServiceNowPlatform(seed=5)
    server = serve(platform)
    yield platform
    stop([server])


@pytest.fixture
def snow(served: ServiceNowPlatform) -> ServiceNowPlatform:
    """The module's server with data cleared and options back to defaults."""
    served.reset()
    served.data_policy = True
    served.rate_limit = None
    served.hourly_rule = None
    served.user_timezone = "UTC"
    served.journal_access = "read"
    served.clock.freeze(None)
    return served


@pytest.fixture
def http(snow: ServiceNowPlatform) -> Iterator[requests.Session]:
    session = requests.Session()
    creds = snow.credentials()
    session.auth = (creds["user"], creds["password"])
    yield session
    session.close()


def get(snow: ServiceNowPlatform, http: requests.Session, path: str = INCIDENT, **params: str) -> requests.Response:
    return http.get(snow.base_url + path, params=params)


def numbers(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["number"] for row in answer.json()["result"]]


def many(snow: ServiceNowPlatform, n: int) -> list[dict[str, str]]:
    return [
        snow.insert_incident({"short_description": f"incident {i}"}, updated_on=T0 + timedelta(minutes=i))
        for i in range(n)
    ]


# --- paging
def test_a_page_of_ten_of_fifty_carries_the_total_and_first_next_last_links(snow, http):
    many(snow, 50)
    answer = get(snow, http, sysparm_limit="10", sysparm_query="ORDERBYnumber")
    assert len(answer.json()["result"]) == 10
    assert answer.headers["X-Total-Count"] == "50"
    assert set(answer.links) == {"first", "next", "last"}
    assert re.fullmatch(r'(<http://[^>]+>;rel="\w+",)*<http://[^>]+>;rel="\w+"', answer.headers["Link"])
    nxt = http.get(answer.links["next"]["url"])
    assert numbers(nxt) == [f"INC00{10011 + i}" for i in range(10)]
    assert (
        "sysparm_offset=10" in answer.links["next"]["url"]
        and "sysparm_query=ORDERBYnumber" in answer.links["next"]["url"]
    )
    assert set(nxt.links) == {"first", "prev", "next", "last"}
    last = http.get(answer.links["last"]["url"])
    assert "sysparm_offset=40" in answer.links["last"]["url"] and "next" not in last.links
    assert numbers(last)[-1] == "INC0010050"


def test_no_count_drops_the_total_and_suppress_drops_the_link_header(snow, http):
    many(snow, 3)
    quiet = get(snow, http, sysparm_limit="2", sysparm_no_count="true")
    assert "X-Total-Count" not in quiet.headers and "next" in quiet.links and "last" not in quiet.links
    bare = get(snow, http, sysparm_suppress_pagination_header="true")
    assert "Link" not in bare.headers and bare.headers["X-Total-Count"] == "3"


def test_paging_by_offset_past_the_end_is_an_empty_page(snow, http):
    many(snow, 3)
    answer = get(snow, http, sysparm_offset="5")
    assert answer.json()["result"] == [] and answer.headers["X-Total-Count"] == "3" and "prev" in answer.links


# --- queries over HTTP
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("impact=1", ["INC0010001"]),
        ("impact!=1", ["INC0010002", "INC0010003"]),
        ("sys_updated_on>2024-03-01 12:01:00", ["INC0010003"]),
        ("sys_updated_on>=2024-03-01 12:01:00", ["INC0010002", "INC0010003"]),
        ("sys_updated_on<2024-03-01 12:01:00", ["INC0010001"]),
        ("sys_updated_on<=2024-03-01 12:01:00", ["INC0010001", "INC0010002"]),
        ("numberININC0010001,INC0010003", ["INC0010001", "INC0010003"]),
        ("numberNOT ININC0010001,INC0010003", ["INC0010002"]),
        ("short_descriptionSTARTSWITHmail", ["INC0010001", "INC0010003"]),
        ("short_descriptionENDSWITHslow", ["INC0010002"]),
        ("short_descriptionLIKEqueue", ["INC0010003"]),
        ("short_descriptionNOT LIKEmail", ["INC0010002"]),
        ("correlation_idISEMPTY", ["INC0010002", "INC0010003"]),
        ("correlation_idISNOTEMPTY", ["INC0010001"]),
        ("sys_updated_on>=javascript:gs.dateGenerate('2024-03-01','12:02:00')", ["INC0010003"]),
    ],
)
def test_each_query_operator_selects_over_http(snow, http, query, expected):
    snow.insert_incident({"short_description": "Mail down", "impact": "1", "correlation_id": "K-1"}, updated_on=T0)
    snow.insert_incident({"short_description": "VPN slow"}, updated_on=T0 + timedelta(minutes=1))
    snow.insert_incident({"short_description": "mail queue"}, updated_on=T0 + timedelta(minutes=2))
    assert numbers(get(snow, http, sysparm_query=query)) == expected


def test_or_and_nq_widen_a_query_as_the_instance_does(snow, http):
    for title, state in [("a", "1"), ("b", "2"), ("c", "3")]:
        snow.insert_incident({"short_description": title, "state": state})
    assert numbers(get(snow, http, sysparm_query="state=1^ORstate=3^short_description=c")) == ["INC0010003"]
    assert numbers(get(snow, http, sysparm_query="short_description=a^NQstate=2")) == ["INC0010001", "INC0010002"]


def test_a_value_holding_nq_really_widens_the_result(snow, http):
    snow.insert_incident({"short_description": "open one"})
    snow.insert_incident(
        {"short_description": "done", "state": "7", "close_code": "Solved (Permanently)", "close_notes": "ok"}
    )
    assert numbers(get(snow, http, sysparm_query="correlation_id=x")) == []
    widened = get(snow, http, sysparm_query="correlation_id=x^NQactive=false")
    assert numbers(widened) == ["INC0010002"]


def test_orderby_and_orderbydesc_keep_ties_in_insertion_order(snow, http):
    for i, impact in enumerate(["2", "1", "2", "1"]):
        snow.insert_incident({"short_description": f"t{i}", "impact": impact})
    assert numbers(get(snow, http, sysparm_query="ORDERBYimpact")) == [
        "INC0010002",
        "INC0010004",
        "INC0010001",
        "INC0010003",
    ]
    assert numbers(get(snow, http, sysparm_query="ORDERBYDESCimpact^ORDERBYDESCnumber")) == [
        "INC0010003",
        "INC0010001",
        "INC0010004",
        "INC0010002",
    ]


def test_a_condition_on_an_unknown_field_is_ignored_not_an_error(snow, http):
    many(snow, 2)
    assert numbers(get(snow, http, sysparm_query="u_no_such_field=1")) == ["INC0010001", "INC0010002"]
    assert numbers(get(snow, http, sysparm_query="u_no_such_field=1^number=INC0010002")) == ["INC0010002"]


def test_name_value_pairs_filter_like_a_query(snow, http):
    many(snow, 2)
    assert numbers(get(snow, http, number="INC0010002")) == ["INC0010002"]


def test_sys_choice_rows_answer_the_same_encoded_queries(snow, http):
    snow.add_choice("subcategory", "router", "Router", dependent_value="network")
    answer = get(
        snow,
        http,
        "/api/now/table/sys_choice",
        sysparm_fields="value,label",
        sysparm_query="name=incident^element=subcategory^dependent_value=network^ORDERBYvalue",
    )
    assert {"value": "router", "label": "Router"} in answer.json()["result"]
    assert all(set(row) == {"value", "label"} for row in answer.json()["result"])
    codes = get(snow, http, "/api/now/table/sys_choice", sysparm_query="element=close_code^inactive=false").json()[
        "result"
    ]
    assert {"Solved (Permanently)", "Closed/Resolved by Caller"} <= {row["value"] for row in codes}


def test_an_unknown_table_is_invalid(snow, http):
    answer = get(snow, http, "/api/now/table/u_nothing")
    assert answer.status_code == 400 and answer.json()["error"]["message"] == "Invalid table u_nothing"


# --- fields and display values
def test_fields_selection_returns_only_those_fields(snow, http):
    many(snow, 1)
    (row,) = get(snow, http, sysparm_fields="number,priority,no_such").json()["result"]
    assert row == {"number": "INC0010001", "priority": "5"}


def test_display_values_false_true_and_all(snow, http):
    group = snow.add_reference("sys_user_group", "Service Desk")
    snow.insert_incident(
        {"short_description": "x", "impact": "1", "urgency": "1", "assignment_group": group, "category": "network"}
    )
    fields = "state,priority,category,assignment_group,sys_updated_on"
    plain = get(snow, http, sysparm_fields=fields, sysparm_exclude_reference_link="true").json()["result"][0]
    assert plain["state"] == "1" and plain["priority"] == "1" and plain["assignment_group"] == group
    shown = get(
        snow, http, sysparm_fields=fields, sysparm_display_value="true", sysparm_exclude_reference_link="true"
    ).json()["result"][0]
    assert (shown["state"], shown["priority"], shown["category"], shown["assignment_group"]) == (
        "New",
        "1 - Critical",
        "Network",
        "Service Desk",
    )
    both = get(
        snow, http, sysparm_fields=fields, sysparm_display_value="all", sysparm_exclude_reference_link="true"
    ).json()["result"][0]
    assert both["priority"] == {"display_value": "1 - Critical", "value": "1"}
    assert both["assignment_group"] == {"display_value": "Service Desk", "value": group}
    assert TIME.match(both["sys_updated_on"]["value"])


def test_reference_fields_carry_a_link_unless_excluded(snow, http):
    ci = snow.add_reference("cmdb_ci", "Payments API")
    snow.insert_incident({"short_description": "x", "cmdb_ci": ci})
    linked = get(snow, http, sysparm_fields="cmdb_ci,caller_id").json()["result"][0]
    assert linked["cmdb_ci"] == {"link": f"{snow.base_url}/api/now/table/cmdb_ci/{ci}", "value": ci}
    assert linked["caller_id"] == ""  # an empty reference is an empty string
    shown = get(snow, http, sysparm_fields="cmdb_ci", sysparm_display_value="true").json()["result"][0]
    assert shown["cmdb_ci"] == {"display_value": "Payments API", "link": f"{snow.base_url}/api/now/table/cmdb_ci/{ci}"}
    bare = get(snow, http, sysparm_fields="cmdb_ci", sysparm_exclude_reference_link="true").json()["result"][0]
    assert bare == {"cmdb_ci": ci}


def test_reference_tables_answer_lookups_by_name_and_dot_walks(snow, http):
    snow.add_reference("sys_user", "Ana Lima")
    users = get(snow, http, "/api/now/table/sys_user", sysparm_query="name=Ana Lima", sysparm_fields="sys_id,user_name")
    assert users.json()["result"][0]["user_name"] == "ana.lima"
    roles = get(
        snow, http, "/api/now/table/sys_user_has_role", sysparm_query="user.user_name=itsm.bridge^role.nameINitil,admin"
    )
    assert len(roles.json()["result"]) == 1


# --- incident rules
def test_post_answers_201_with_the_fields_and_formats_of_a_real_create(snow, http):
    answer = http.post(snow.base_url + INCIDENT, json={"short_description": "Mail down"})
    assert answer.status_code == 201
    record, real = answer.json()["result"], example("incident-create-201.json")["result"]
    assert set(real) <= set(record)
    assert re.fullmatch(r"[0-9a-f]{32}", record["sys_id"]) and record["number"] == "INC0010001"
    assert all(TIME.match(record[k]) for k in ("sys_created_on", "sys_updated_on", "opened_at"))
    for same in ("state", "impact", "urgency", "priority", "active", "sys_mod_count", "category", "made_sla"):
        assert record[same] == real[same], same
    assert record["sys_domain"] == {"link": f"{snow.base_url}/api/now/table/sys_user_group/global", "value": "global"}
    assert set(record["opened_by"]) == {"link", "value"} and record["sys_created_by"] == "itsm.bridge"
    assert answer.headers["Location"].endswith(f"/api/now/table/incident/{record['sys_id']}")
    second = http.post(snow.base_url + INCIDENT, json={"short_description": "again"}).json()["result"]
    assert second["number"] == "INC0010002"


def test_priority_is_computed_from_impact_and_urgency_and_a_written_one_is_ignored(snow, http):
    created = http.post(snow.base_url + INCIDENT, json={"impact": "2", "urgency": "1", "priority": "5"}).json()[
        "result"
    ]
    assert created["priority"] == "2"
    patched = http.patch(f"{snow.base_url}{INCIDENT}/{created['sys_id']}", json={"urgency": "3", "priority": "1"})
    assert patched.json()["result"]["priority"] == "4"
    expected = {("1", "1"): "1", ("1", "3"): "3", ("3", "2"): "4", ("3", "3"): "5"}
    for (impact, urgency), priority in expected.items():
        assert snow.insert_incident({"impact": impact, "urgency": urgency})["priority"] == priority


def test_resolving_without_resolution_code_and_notes_is_refused_by_the_data_policy(snow, http):
    sys_id = snow.insert_incident({"short_description": "x"})["sys_id"]
    refused = http.patch(
        f"{snow.base_url}{INCIDENT}/{sys_id}", json={"state": "6", "close_code": "Solved (Permanently)"}
    )
    assert refused.status_code == 403
    error = refused.json()
    assert error["status"] == "failure" and set(error["error"]) == {"message", "detail"}
    assert error["error"]["message"] == "Data Policy Exception: \n The following fields are mandatory: Resolution notes"
    assert snow.incident(sys_id)["state"] == "1" and snow.incident(sys_id)["sys_mod_count"] == "0"


def test_resolving_with_both_fields_sets_resolved_at_and_clears_active(snow, http):
    snow.clock.freeze(T0)
    sys_id = snow.insert_incident({"short_description": "x", "close_code": "Solved (Permanently)"})["sys_id"]
    done = http.patch(f"{snow.base_url}{INCIDENT}/{sys_id}", json={"state": "6", "close_notes": "restarted"})
    assert done.status_code == 200, done.text
    record = done.json()["result"]
    assert (record["state"], record["incident_state"], record["active"]) == ("6", "6", "false")
    assert record["resolved_at"] == "2024-03-01 12:00:00" and record["closed_at"] == ""
    closed = http.patch(f"{snow.base_url}{INCIDENT}/{sys_id}", json={"state": "7"}).json()["result"]
    assert closed["closed_at"] == "2024-03-01 12:00:00"


def test_the_data_policy_can_be_switched_off(snow, http):
    snow.data_policy = False
    sys_id = snow.insert_incident({"short_description": "x"})["sys_id"]
    assert http.patch(f"{snow.base_url}{INCIDENT}/{sys_id}", json={"state": "6"}).status_code == 200
    with pytest.raises(KeyError):
        snow.update_incident("0" * 32, {"state": "2"})


def test_the_data_policy_also_guards_the_python_api(snow):
    sys_id = snow.insert_incident({"short_description": "x"})["sys_id"]
    with pytest.raises(HTTPFailure) as refused:
        snow.update_incident(sys_id, {"state": "6"})
    assert refused.value.response.status == 403


def test_journal_fields_are_write_only_and_land_in_sys_journal_field(snow, http):
    sys_id = snow.insert_incident({"short_description": "x"})["sys_id"]
    answer = http.patch(f"{snow.base_url}{INCIDENT}/{sys_id}", json={"work_notes": "checked logs", "comments": "on it"})
    assert answer.json()["result"]["work_notes"] == "" and answer.json()["result"]["comments"] == ""
    assert get(snow, http, f"{INCIDENT}/{sys_id}").json()["result"]["work_notes"] == ""
    rows = get(
        snow, http, "/api/now/table/sys_journal_field", sysparm_query=f"element_id={sys_id}^ORDERBYelement"
    ).json()["result"]
    assert [(r["element"], r["value"], r["name"], r["sys_created_by"]) for r in rows] == [
        ("comments", "on it", "incident", "itsm.bridge"),
        ("work_notes", "checked logs", "incident", "itsm.bridge"),
    ]
    assert all(TIME.match(r["sys_created_on"]) for r in rows)
    snow.update_incident(sys_id, {"work_notes": "from python"}, user="ana.lima")
    assert [(n["value"], n["sys_created_by"]) for n in snow.journal(sys_id)][-1] == ("from python", "ana.lima")


def test_sys_mod_count_counts_real_updates_only(snow, http):
    sys_id = snow.insert_incident({"short_description": "x"}, updated_on=T0)["sys_id"]
    url = f"{snow.base_url}{INCIDENT}/{sys_id}"
    assert http.patch(url, json={"short_description": "y"}).json()["result"]["sys_mod_count"] == "1"
    assert http.put(url, json={"urgency": "1"}).json()["result"]["sys_mod_count"] == "2"
    unchanged = http.patch(url, json={"short_description": "y"}).json()["result"]
    assert unchanged["sys_mod_count"] == "2"
    assert http.patch(url, json={"comments": "note"}).json()["result"]["sys_mod_count"] == "3"
    assert snow.incident(sys_id)["sys_updated_on"] > "2024-03-01 12:00:00"


# --- auth and errors
def test_missing_or_wrong_credentials_answer_the_vendor_401(snow):
    for auth in (None, ("itsm.bridge", "wrong"), ("admin", snow.credentials()["password"])):
        answer = requests.get(snow.base_url + INCIDENT, auth=auth)
        assert answer.status_code == 401 and answer.json() == example("table-401.json")


def test_a_bearer_token_and_an_oauth_client_are_accepted(snow):
    creds = snow.credentials()
    token = requests.get(snow.base_url + INCIDENT, headers={"Authorization": f"Bearer {creds['token']}"})
    assert token.status_code == 200
    grant = requests.post(
        snow.base_url + "/oauth_token.do",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    issued = grant.json()["access_token"]
    assert requests.get(snow.base_url + INCIDENT, headers={"Authorization": f"Bearer {issued}"}).status_code == 200
    assert requests.get(snow.base_url + INCIDENT, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert snow.env()["ITSM_SANDBOX_SNOW_TOKEN"] == creds["token"]


def test_an_unknown_sys_id_answers_the_vendor_404(snow, http):
    for answer in (
        get(snow, http, f"{INCIDENT}/{'0' * 32}"),
        http.patch(f"{snow.base_url}{INCIDENT}/{'0' * 32}", json={}),
    ):
        assert answer.status_code == 404 and answer.json() == example("table-record-404.json")


def test_over_the_rate_limit_answers_429_with_retry_after_and_rate_limit_headers(snow, http):
    snow.rate_limit = (3, 3600.0)
    assert [get(snow, http).status_code for _ in range(3)] == [200, 200, 200]
    throttled = get(snow, http)
    assert throttled.status_code == 429
    assert throttled.json() == {
        "error": {
            "message": "Rate limit exceeded",
            "detail": "Rate limit of 3 requests per hour for Table API exceeded",
        },
        "status": "failure",
    }
    assert 3590 <= int(throttled.headers["Retry-After"]) <= 3600
    assert throttled.headers["X-RateLimit-Limit"] == "3"
    assert abs(int(throttled.headers["X-RateLimit-Reset"]) - (datetime.now(UTC).timestamp() + 3600)) < 15
    assert re.fullmatch(r"[0-9a-f]{32}", throttled.headers["X-RateLimit-Rule"])


def test_an_injected_429_storm_answers_with_the_same_headers(snow, http):
    snow.faults.inject("rate_429", count=1, retry_after="2")
    storm = get(snow, http)
    assert storm.status_code == 429 and storm.headers["Retry-After"] == "2"
    assert {"X-RateLimit-Limit", "X-RateLimit-Reset", "X-RateLimit-Rule"} <= set(storm.headers)
    assert get(snow, http).status_code == 200


# --- Python API and state
def test_insert_sets_times_from_updated_on_and_state_round_trips(snow):
    record = snow.insert_incident(
        {"short_description": "x", "work_notes": "first"}, updated_on=T0, created_by="ana.lima"
    )
    assert record["sys_updated_on"] == record["sys_created_on"] == "2024-03-01 12:00:00"
    assert record["sys_created_by"] == "ana.lima" and len(snow.journal(record["sys_id"])) == 1
    state = json.loads(json.dumps(snow.to_state()))
    other = ServiceNowPlatform(seed=5)
    other.load_state(state)
    assert other.incident(record["sys_id"]) == snow.incident(record["sys_id"])
    assert other.journal(record["sys_id"]) == snow.journal(record["sys_id"])
    assert other.insert_incident({})["number"] == "INC0010002"


def test_reset_clears_incidents_but_keeps_the_default_choices_and_references(snow):
    group = snow.add_reference("sys_user_group", "Service Desk")
    snow.insert_incident({"short_description": "x"})
    snow.reset()
    assert snow.incidents() == [] and snow.insert_incident({})["number"] == "INC0010001"
    assert snow.add_reference("group", "Service Desk") == group  # seeded, same sys_id
    assert snow.references[group] == "Service Desk"


# --- what depends on the integration user (servicenow/user.py)
def test_an_hourly_rule_puts_its_headers_on_every_answer_and_429s_until_the_top_of_the_hour(snow, http):
    snow.clock.freeze(datetime(2024, 3, 1, 12, 10, 0, tzinfo=UTC))
    snow.hourly_rule = 3
    reset = str(int(datetime(2024, 3, 1, 13, 0, tzinfo=UTC).timestamp()))
    answers = [
        get(snow, http),
        get(snow, http, INCIDENT + "/0123456789abcdef0123456789abcdef"),
        http.post(snow.base_url + INCIDENT, json={"short_description": "x"}),
    ]
    assert [a.status_code for a in answers] == [200, 404, 201]
    for answer in answers:  # every answer matching the rule, refusals included
        assert (answer.headers["X-RateLimit-Limit"], answer.headers["X-RateLimit-Reset"]) == ("3", reset)
        assert answer.headers["X-RateLimit-Rule"] == snow.rate_limit_rule
    throttled = get(snow, http)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3000"  # 50 minutes
    assert throttled.headers["X-RateLimit-Reset"] == reset
    assert throttled.json()["error"]["detail"] == "Rate limit of 3 requests per hour for Table API exceeded"
    snow.clock.freeze(datetime(2024, 3, 1, 13, 0, 1, tzinfo=UTC))  # a new hour: the count starts again
    assert get(snow, http).status_code == 200


@pytest.mark.parametrize(
    ("zone", "shown"), [("Australia/Lord_Howe", "2024-03-01 23:00:00"), ("America/Los_Angeles", "2024-03-01 04:00:00")]
)
def test_display_values_of_date_times_are_in_the_users_time_zone_values_stay_utc(snow, http, zone, shown):
    snow.user_timezone = zone
    record = snow.insert_incident({"short_description": "x"}, updated_on=T0)
    row = get(
        snow,
        http,
        INCIDENT + "/" + record["sys_id"],
        sysparm_display_value="all",
        sysparm_fields="sys_updated_on,opened_at",
    ).json()["result"]
    assert row["sys_updated_on"] == {"display_value": shown, "value": "2024-03-01 12:00:00"}
    assert row["opened_at"]["display_value"] == shown
    plain = get(
        snow, http, INCIDENT, sysparm_query="sys_updated_on>=2024-03-01 12:00:00", sysparm_fields="sys_updated_on"
    )
    assert plain.json()["result"] == [{"sys_updated_on": "2024-03-01 12:00:00"}]  # queries compare UTC values


def test_a_user_without_read_on_sys_journal_field_gets_a_403_or_sees_no_rows(snow, http):
    record = snow.insert_incident({"short_description": "x", "work_notes": "looking"})
    journal = "/api/now/table/sys_journal_field"
    assert len(get(snow, http, journal, sysparm_query=f"element_id={record['sys_id']}").json()["result"]) == 1
    snow.journal_access = "hidden"
    hidden = get(snow, http, journal, sysparm_query=f"element_id={record['sys_id']}")
    assert hidden.status_code == 200 and hidden.json()["result"] == [] and hidden.headers["X-Total-Count"] == "1"
    snow.journal_access = "denied"
    denied = get(snow, http, journal)
    assert denied.status_code == 403
    assert denied.json() == {
        "error": {"message": "User Not Authorized", "detail": "Failed API level ACL Validation"},
        "status": "failure",
    }
    assert get(snow, http).status_code == 200  # incident itself stays readable
