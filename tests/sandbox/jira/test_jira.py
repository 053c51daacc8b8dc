"""The Jira sandbox over loopback HTTP: python-jira against it, and raw requests for the hard edges."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from jira import JIRA

from itsm_bridge.sandbox.jira.api import JiraPlatform
from itsm_bridge.sandbox.jira.schema import JiraConfig
from itsm_bridge.sandbox.server import serve, stop

API = "/rest/api/3"
INCIDENT = {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}}


def adf(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


@pytest.fixture(scope="module")
def served() -> Iterator[JiraPlatform]:
    jira = JiraPlatform(seed=4)
    server = serve(jira)
    yield jira
    stop([server])


@pytest.fixture
def platform(served: JiraPlatform) -> JiraPlatform:
    """The module's server with data cleared and configuration back to defaults."""
    served.reset()
    served.config = served.store.config = JiraConfig()
    served.search_lag_s = 0.0
    served.rate_limit = None
    served.retry_after_missing = False
    return served


@pytest.fixture
def http(platform: JiraPlatform) -> Iterator[requests.Session]:
    session = requests.Session()
    creds = platform.credentials()
    session.auth = (creds["email"], creds["token"])
    yield session
    session.close()


def url(platform: JiraPlatform, path: str) -> str:
    return platform.base_url + API + path


def create(platform: JiraPlatform, http: requests.Session, summary: str, **fields: Any) -> str:
    answer = http.post(url(platform, "/issue"), json={"fields": {**INCIDENT, "summary": summary, **fields}})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])


def search(platform: JiraPlatform, http: requests.Session, jql: str, **params: Any) -> dict[str, Any]:
    answer = http.post(url(platform, "/search/jql"), json={"jql": jql, **params})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def keys(result: dict[str, Any]) -> list[str]:
    return [i["key"] for i in result["issues"]]


def test_python_jira_client_creates_searches_transitions_and_comments(platform: JiraPlatform) -> None:
    creds = platform.credentials()
    client = JIRA(
        platform.base_url,
        basic_auth=(creds["email"], creds["token"]),
        options={"rest_api_version": "3"},
        max_retries=0,
        timeout=5,
    )
    issue = client.create_issue(
        project="OPS",
        issuetype="[System] Incident",
        summary="Mail queue stuck",
        priority={"name": "High"},
        components=[{"name": "Email"}],
    )
    assert (issue.key, issue.fields.status.name, issue.fields.priority.name) == ("OPS-1", "Open", "High")
    assert [t["name"] for t in client.transitions(issue.key)] == ["Start work", "Cancel"]
    client.transition_issue(issue.key, "11")
    client.transition_issue(issue.key, "41", fields={"resolution": {"name": "Done"}})
    comment = client.add_comment(issue.key, adf("Restarted the queue"), is_internal=True)  # type: ignore[arg-type]
    found = client.enhanced_search_issues("project = OPS AND status = Resolved", fields=["summary", "resolution"])
    assert [(i.key, i.fields.resolution.name) for i in found] == [("OPS-1", "Done")]
    assert comment.jsdPublic is False
    assert client.comments(issue.key)[0].raw["body"] == adf("Restarted the queue")
    client.close()


def test_create_without_summary_names_the_field(platform: JiraPlatform, http: requests.Session) -> None:
    answer = http.post(url(platform, "/issue"), json={"fields": INCIDENT})
    assert answer.status_code == 400
    assert answer.json() == {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}


def test_create_collects_every_invalid_field_and_configured_required_ones(
    platform: JiraPlatform, http: requests.Session
) -> None:
    platform.createmeta_required.add("customfield_10050")
    fields = {**INCIDENT, "summary": "x" * 256, "priority": {"name": "Urgent"}, "components": [{"name": "Fax"}]}
    errors = http.post(url(platform, "/issue"), json={"fields": fields}).json()["errors"]
    assert errors == {
        "summary": "Summary must be less than 255 characters.",
        "priority": "The priority selected is invalid.",
        "components": "Component name 'Fax' is not valid",
        "customfield_10050": "Incident category is required.",
    }
    meta = http.get(url(platform, "/issue/createmeta/OPS/issuetypes/10001")).json()["fields"]
    assert {f["fieldId"] for f in meta if f["required"]} == {"summary", "issuetype", "project", "customfield_10050"}


def test_bulk_create_answers_created_issues_and_element_errors(platform: JiraPlatform, http: requests.Session) -> None:
    updates = [
        {"fields": {**INCIDENT, "summary": "one"}},
        {"fields": INCIDENT},
        {"fields": {**INCIDENT, "summary": "three"}},
    ]
    answer = http.post(url(platform, "/issue/bulk"), json={"issueUpdates": updates})
    assert answer.status_code == 201
    body = answer.json()
    assert [i["key"] for i in body["issues"]] == ["OPS-1", "OPS-2"]
    assert body["errors"] == [
        {
            "status": 400,
            "failedElementNumber": 1,
            "elementErrors": {
                "errorMessages": [],
                "errors": {"summary": "You must specify a summary of the issue."},
                "status": 400,
            },
        }
    ]
    too_many = http.post(url(platform, "/issue/bulk"), json={"issueUpdates": updates * 17})
    assert too_many.status_code == 400 and len(platform.issues()) == 2


def test_a_create_applies_a_start_step_transition_and_reports_it_in_the_answer(
    platform: JiraPlatform, http: requests.Session
) -> None:
    answer = http.post(
        url(platform, "/issue"), json={"fields": {**INCIDENT, "summary": "moved"}, "transition": {"id": "11"}}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["transition"] == {"status": 200, "errorCollection": {"errorMessages": [], "errors": {}}}
    assert platform.issue(answer.json()["key"])["fields"]["status"]["name"] == "Work in progress"


def test_a_transition_refused_while_riding_a_create_does_not_refuse_the_create(
    platform: JiraPlatform, http: requests.Session
) -> None:
    # Resolve is not offered by the start step: the issue is made and stays where it started.
    answer = http.post(
        url(platform, "/issue"), json={"fields": {**INCIDENT, "summary": "x"}, "transition": {"id": "41"}}
    )
    assert answer.status_code == 201, answer.text
    ride = answer.json()["transition"]
    assert ride["status"] == 400 and ride["errorCollection"]["errorMessages"] == [
        "Transition id '41' is not valid for this issue."
    ]
    assert platform.issue(answer.json()["key"])["fields"]["status"]["name"] == "Open"


def test_bulkfetch_reads_issues_by_id_or_key_at_once_despite_search_lag(
    platform: JiraPlatform, http: requests.Session
) -> None:
    platform.search_lag_s = 60.0
    first, second = create(platform, http, "one"), create(platform, http, "two")
    answer = http.post(
        url(platform, "/issue/bulkfetch"), json={"issueIdsOrKeys": [second, first, "OPS-999"], "fields": ["summary"]}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"issues", "issueErrors"}  # BulkIssueResults has no `expand`
    assert [i["key"] for i in body["issues"]] == [first, second]  # ascending id
    assert body["issues"][1]["fields"]["summary"] == "two"
    assert body["issueErrors"] == []  # an issue not found is left out of both lists
    too_many = http.post(url(platform, "/issue/bulkfetch"), json={"issueIdsOrKeys": [first] * 101})
    assert too_many.status_code == 400


def test_removed_search_api_answers_410(platform: JiraPlatform, http: requests.Session) -> None:
    for path in ("/rest/api/3/search", "/rest/api/2/search"):
        answer = http.get(platform.base_url + path, params={"jql": "project = OPS"})
        assert answer.status_code == 410
        assert "/rest/api/3/search/jql" in answer.json()["errorMessages"][0]


def test_next_page_token_pages_over_every_issue_once(platform: JiraPlatform, http: requests.Session) -> None:
    for n in range(120):
        platform.create_issue({"summary": f"issue {n}"})
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"jql": "project = OPS ORDER BY key ASC", "maxResults": 50, "fields": ["summary"]}
        answer = http.get(
            url(platform, "/search/jql"), params={**params, **({"nextPageToken": token} if token else {})}
        ).json()
        pages += 1
        seen += keys(answer)
        assert "total" not in answer
        if answer["isLast"]:
            assert "nextPageToken" not in answer
            break
        token = answer["nextPageToken"]
    assert pages == 3
    assert seen == [f"OPS-{n}" for n in range(1, 121)]


def test_search_caps_pages_at_100_when_fields_are_requested(platform: JiraPlatform, http: requests.Session) -> None:
    for n in range(120):
        platform.create_issue({"summary": f"issue {n}"})
    assert len(search(platform, http, "project = OPS", maxResults=500, fields=["summary"])["issues"]) == 100
    ids_only = search(platform, http, "project = OPS", maxResults=500)
    assert len(ids_only["issues"]) == 120 and ids_only["issues"][0]["fields"] == {}


def test_search_lags_behind_writes_but_reads_by_key_do_not(platform: JiraPlatform, http: requests.Session) -> None:
    platform.search_lag_s = 0.3
    key = create(platform, http, "Disk full")
    issue_id = int(http.get(url(platform, f"/issue/{key}")).json()["id"])
    assert keys(search(platform, http, "project = OPS")) == []
    assert keys(search(platform, http, "project = OPS", reconcileIssues=[issue_id])) == [key]
    time.sleep(0.35)
    assert keys(search(platform, http, "project = OPS")) == [key]
    http.put(url(platform, f"/issue/{key}"), json={"fields": {"summary": "Disk full on db-7"}})
    assert http.get(url(platform, f"/issue/{key}")).json()["fields"]["summary"] == "Disk full on db-7"
    stale = search(platform, http, "project = OPS", fields=["summary"])["issues"]
    assert [i["fields"]["summary"] for i in stale] == ["Disk full"]
    time.sleep(0.35)
    fresh = search(platform, http, "project = OPS", fields=["summary"])["issues"]
    assert [i["fields"]["summary"] for i in fresh] == ["Disk full on db-7"]


def test_updated_bounds_have_minute_precision(platform: JiraPlatform, http: requests.Session) -> None:
    base = datetime(2024, 1, 1, 12, 34, tzinfo=UTC)
    for second in (0, 59):
        platform.create_issue({"summary": f"at {second}"}, updated=base + timedelta(seconds=second))
    platform.create_issue({"summary": "next minute"}, updated=base + timedelta(minutes=1))
    assert keys(
        search(platform, http, 'updated >= "2024/01/01 12:34" AND updated < "2024-01-01 12:35" ORDER BY key ASC')
    ) == ["OPS-1", "OPS-2"]
    assert keys(search(platform, http, 'updated > "2024/01/01 12:34" ORDER BY key ASC')) == ["OPS-2", "OPS-3"]
    assert keys(search(platform, http, 'updated <= "2024/01/01 12:34"')) == ["OPS-1"]


def test_order_by_updated_and_numeric_key(platform: JiraPlatform, http: requests.Session) -> None:
    base = datetime(2024, 3, 1, tzinfo=UTC)
    for n in range(11):
        platform.create_issue({"summary": f"s{n}"}, updated=base - timedelta(minutes=n))
    assert keys(search(platform, http, "project = OPS ORDER BY key DESC"))[:3] == ["OPS-11", "OPS-10", "OPS-9"]
    assert keys(search(platform, http, "project = OPS ORDER BY updated ASC"))[:2] == ["OPS-11", "OPS-10"]


def test_malformed_and_unbounded_jql_are_refused(platform: JiraPlatform, http: requests.Session) -> None:
    bad = http.post(url(platform, "/search/jql"), json={"jql": 'project = "OPS'})
    assert bad.status_code == 400 and bad.json()["errorMessages"][0].startswith("Error in the JQL Query: ")
    unbounded = http.post(url(platform, "/search/jql"), json={"jql": "ORDER BY key"})
    assert unbounded.status_code == 400 and "Unbounded" in unbounded.json()["errorMessages"][0]
    unknown = http.post(url(platform, "/search/jql"), json={"jql": "status = Frozen"})
    assert unknown.json()["errorMessages"] == ["The value 'Frozen' does not exist for the field 'status'."]


def test_open_to_resolved_takes_two_transitions_and_a_resolution(
    platform: JiraPlatform, http: requests.Session
) -> None:
    key = create(platform, http, "VPN down")
    refused = http.post(url(platform, f"/issue/{key}/transitions"), json={"transition": {"id": "41"}})
    assert refused.status_code == 400
    assert refused.json()["errorMessages"] == ["Transition id '41' is not valid for this issue."]
    assert http.post(url(platform, f"/issue/{key}/transitions"), json={"transition": {"id": "11"}}).status_code == 204
    listed = http.get(url(platform, f"/issue/{key}/transitions"), params={"expand": "transitions.fields"}).json()
    resolve = next(t for t in listed["transitions"] if t["id"] == "41")
    assert resolve["to"]["statusCategory"]["key"] == "done" and resolve["fields"]["resolution"]["required"] is True
    missing = http.post(url(platform, f"/issue/{key}/transitions"), json={"transition": {"id": "41"}})
    assert missing.status_code == 400 and "resolution" in missing.json()["errors"]
    done = {"transition": {"id": "41"}, "fields": {"resolution": {"name": "Cannot Reproduce"}}}
    assert http.post(url(platform, f"/issue/{key}/transitions"), json=done).status_code == 204
    fields = platform.issue(key)["fields"]
    assert (fields["status"]["name"], fields["resolution"]["name"]) == ("Resolved", "Cannot Reproduce")
    assert fields["resolutiondate"] is not None


def test_internal_and_public_comments_through_both_apis(platform: JiraPlatform, http: requests.Session) -> None:
    key = create(platform, http, "Payments slow")
    internal = {"body": adf("looking at db"), "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}
    assert http.post(url(platform, f"/issue/{key}/comment"), json=internal).status_code == 201
    assert http.post(url(platform, f"/issue/{key}/comment"), json={"body": adf("we are on it")}).status_code == 201
    not_adf = http.post(url(platform, f"/issue/{key}/comment"), json={"body": "plain text"})
    assert not_adf.status_code == 400 and "comment" in not_adf.json()["errors"]
    sd = platform.base_url + f"/rest/servicedeskapi/request/{key}/comment"
    assert http.post(sd, json={"body": "private note", "public": False}).status_code == 201
    page = http.get(url(platform, f"/issue/{key}/comment"), params={"expand": "properties"}).json()
    assert [c["jsdPublic"] for c in page["comments"]] == [False, True, False]
    assert page["comments"][0]["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]
    public_only = http.get(sd, params={"internal": "false"}).json()
    assert [c["body"] for c in public_only["values"]] == ["we are on it"]
    first = http.get(sd, params={"start": 0, "limit": 2}).json()
    assert (first["size"], first["isLastPage"], first["values"][1]["public"]) == (2, False, True)


def test_edit_updates_labels_and_get_filters_fields(platform: JiraPlatform, http: requests.Session) -> None:
    key = create(platform, http, "Storage alerts", labels=["storage", "alerts"])
    change = {"update": {"labels": [{"add": "p1"}, {"remove": "alerts"}]}, "fields": {"assignee": None}}
    assert http.put(url(platform, f"/issue/{key}"), json=change).status_code == 204
    got = http.get(url(platform, f"/issue/{key}"), params={"fields": "labels,summary"}).json()
    assert got["fields"] == {"summary": "Storage alerts", "labels": ["storage", "p1"]}
    refused = http.put(url(platform, f"/issue/{key}"), json={"fields": {"resolution": {"name": "Done"}}})
    assert refused.status_code == 400 and "resolution" in refused.json()["errors"]


def test_issue_properties_round_trip(platform: JiraPlatform, http: requests.Session) -> None:
    key = create(platform, http, "Prop")
    assert http.put(url(platform, f"/issue/{key}/properties/itsm-bridge"), json={"sys_id": "abc"}).status_code == 201
    assert http.put(url(platform, f"/issue/{key}/properties/itsm-bridge"), json={"sys_id": "def"}).status_code == 200
    assert http.get(url(platform, f"/issue/{key}/properties/itsm-bridge")).json() == {
        "key": "itsm-bridge",
        "value": {"sys_id": "def"},
    }
    assert [k["key"] for k in http.get(url(platform, f"/issue/{key}/properties")).json()["keys"]] == ["itsm-bridge"]
    assert keys(search(platform, http, 'issue.property[itsm-bridge].sys_id = "def"')) == [key]


def test_rate_limit_answers_429_with_jira_headers(platform: JiraPlatform, http: requests.Session) -> None:
    platform.rate_limit = (2, 60.0)
    assert [http.get(url(platform, "/myself")).status_code for _ in range(2)] == [200, 200]
    throttled = http.get(url(platform, "/myself"))
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert throttled.headers["RateLimit-Reason"] == "jira-quota-global-based"
    assert datetime.fromisoformat(throttled.headers["X-RateLimit-Reset"]) > datetime.now(UTC)
    platform.retry_after_missing = True
    assert "Retry-After" not in http.get(url(platform, "/myself")).headers


def test_wrong_credentials_get_401_and_the_pat_is_accepted(platform: JiraPlatform) -> None:
    wrong = requests.get(url(platform, "/myself"), auth=("itsm-bridge@example.com", "nope"))
    assert wrong.status_code == 401 and wrong.json()["errorMessages"]
    pat = requests.get(url(platform, "/myself"), headers={"Authorization": f"Bearer {platform.credentials()['pat']}"})
    assert pat.status_code == 200 and pat.json()["emailAddress"] == "itsm-bridge@example.com"
    assert platform.env() == {"ITSM_SANDBOX_JIRA_TOKEN": "jira-sandbox-4", "ITSM_SANDBOX_JIRA_PAT": "jira-pat-4"}


def test_state_round_trips_and_reset_keeps_configuration(platform: JiraPlatform, http: requests.Session) -> None:
    key = create(platform, http, "Keep me", labels=["x"])
    http.post(url(platform, f"/issue/{key}/comment"), json={"body": adf("note")})
    platform.transition_to(key, "Closed", resolution="Won't Do")
    platform.createmeta_required.add("priority")
    state = platform.to_state()
    platform.reset()
    assert platform.issues() == [] and "priority" in platform.createmeta_required
    platform.load_state(state)
    assert platform.issue(key)["fields"]["resolution"]["name"] == "Won't Do"
    assert len(platform.comments(key)) == 1
    assert create(platform, http, "Next", priority={"id": "2"}) == "OPS-2"


@pytest.mark.parametrize(
    "path",
    [
        "/project/NOPE",
        "/project/NOPE/components",
        "/project/NOPE/statuses",
        "/issue/createmeta/NOPE/issuetypes",
        "/issue/createmeta/NOPE/issuetypes/10001",
    ],
)
def test_an_unknown_project_is_answered_404_on_every_project_route(
    platform: JiraPlatform, http: requests.Session, path: str
) -> None:
    # jira-platform-v3.openapi.json: 404 "Returned if the project is not found" on each of them
    answer = http.get(url(platform, path))
    assert answer.status_code == 404
    assert answer.json()["errorMessages"] == ["No project could be found with key 'NOPE'."]
