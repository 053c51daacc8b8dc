"""The Jira sandbox against Atlassian's published OpenAPI descriptions (Jira Cloud platform v3 and
Jira Service Management): requests and responses of the operations the connector uses validate,
and what the spec refuses the sandbox refuses too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from itsm_bridge.sandbox.jira.api import JiraPlatform
from itsm_bridge.sandbox.server import serve, stop
from tests.contract.conftest import load_spec, request_is_valid, validate_exchange

API = "/rest/api/3"
INCIDENT = {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}}
DOC = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "db-7 is back"}]}],
}


@pytest.fixture(scope="module")
def platform() -> Iterator[JiraPlatform]:
    jira = JiraPlatform(seed=9)
    jira.search_lag_s = 0.0
    served = serve(jira)
    yield jira
    stop([served])


@pytest.fixture(scope="module")
def http(platform: JiraPlatform) -> Iterator[requests.Session]:
    session = requests.Session()
    creds = platform.credentials()
    session.auth = (creds["email"], creds["token"])
    yield session
    session.close()


@pytest.fixture(scope="module")
def key(platform: JiraPlatform, http: requests.Session) -> str:
    answer = http.post(
        platform.base_url + API + "/issue", json={"fields": {**INCIDENT, "summary": "Contract", "description": DOC}}
    )
    checked(answer, 201)
    return str(answer.json()["key"])


def checked(answer: requests.Response, status: int, spec: str = "jira-platform-v3.openapi.json") -> requests.Response:
    assert answer.status_code == status, answer.text
    validate_exchange(load_spec(spec), "", answer)
    return answer


def test_create_and_get_issue_match_the_spec(platform: JiraPlatform, http: requests.Session, key: str) -> None:
    body = {
        "fields": {
            **INCIDENT,
            "summary": "Mail relay down",
            "priority": {"id": "2"},
            "labels": ["email"],
            "components": [{"name": "Email"}],
            "customfield_10050": {"value": "Software"},
        }
    }
    created = checked(http.post(platform.base_url + API + "/issue", json=body), 201).json()
    checked(http.get(f"{platform.base_url}{API}/issue/{created['key']}", params={"expand": "names"}), 200)
    checked(http.get(f"{platform.base_url}{API}/issue/{key}", params={"fields": ["summary", "status"]}), 200)
    checked(http.put(f"{platform.base_url}{API}/issue/{key}", json={"update": {"labels": [{"add": "p2"}]}}), 204)


def test_refused_create_answers_an_error_collection(platform: JiraPlatform, http: requests.Session) -> None:
    checked(http.post(platform.base_url + API + "/issue", json={"fields": INCIDENT}), 400)


def test_transitions_match_the_spec(platform: JiraPlatform, http: requests.Session, key: str) -> None:
    checked(http.get(f"{platform.base_url}{API}/issue/{key}/transitions", params={"expand": "transitions.fields"}), 200)
    checked(http.post(f"{platform.base_url}{API}/issue/{key}/transitions", json={"transition": {"id": "11"}}), 204)
    resolve = {"transition": {"id": "41"}, "fields": {"resolution": {"name": "Done"}}}
    checked(http.post(f"{platform.base_url}{API}/issue/{key}/transitions", json=resolve), 204)


def test_comments_match_the_spec(platform: JiraPlatform, http: requests.Session, key: str) -> None:
    internal = {"body": DOC, "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}
    checked(http.post(f"{platform.base_url}{API}/issue/{key}/comment", json=internal), 201)
    checked(
        http.get(f"{platform.base_url}{API}/issue/{key}/comment", params={"expand": "properties", "maxResults": 10}),
        200,
    )


def test_search_jql_get_and_post_match_the_spec(platform: JiraPlatform, http: requests.Session, key: str) -> None:
    params: dict[str, Any] = {
        "jql": "project = OPS ORDER BY updated ASC",
        "maxResults": 1,
        "fields": ["summary", "updated"],
    }
    first = checked(http.get(platform.base_url + API + "/search/jql", params=params), 200).json()
    assert first["issues"]
    body = {
        "jql": "project = OPS",
        "fields": ["*all"],
        "reconcileIssues": [int(first["issues"][0]["id"])],
        "maxResults": 1,
    }
    page = checked(http.post(platform.base_url + API + "/search/jql", json=body), 200).json()
    if "nextPageToken" in page:
        checked(
            http.post(platform.base_url + API + "/search/jql", json={**body, "nextPageToken": page["nextPageToken"]}),
            200,
        )
    checked(http.post(platform.base_url + API + "/search/approximate-count", json={"jql": "project = OPS"}), 200)


def test_bulk_create_with_a_failed_element_matches_the_spec(platform: JiraPlatform, http: requests.Session) -> None:
    updates = [{"fields": {**INCIDENT, "summary": "bulk one"}}, {"fields": {**INCIDENT, "priority": {"name": "Nope"}}}]
    answer = checked(http.post(platform.base_url + API + "/issue/bulk", json={"issueUpdates": updates}), 201).json()
    assert answer["errors"][0]["failedElementNumber"] == 1


def test_issue_properties_match_the_spec(platform: JiraPlatform, http: requests.Session, key: str) -> None:
    base = f"{platform.base_url}{API}/issue/{key}/properties"
    checked(http.put(base + "/itsm-bridge", json={"correlation": "INC0010001"}), 201)
    checked(http.get(base + "/itsm-bridge"), 200)
    checked(http.get(base), 200)


def test_metadata_endpoints_match_the_spec(platform: JiraPlatform, http: requests.Session) -> None:
    checked(http.get(platform.base_url + API + "/serverInfo"), 200)
    checked(http.get(platform.base_url + API + "/issue/createmeta/OPS/issuetypes"), 200)
    checked(http.get(platform.base_url + API + "/issue/createmeta/OPS/issuetypes/10001"), 200)
    checked(http.get(platform.base_url + API + "/field"), 200)
    checked(http.get(platform.base_url + API + "/priority"), 200)
    checked(http.get(platform.base_url + API + "/project/OPS/statuses"), 200)
    checked(http.get(platform.base_url + API + "/project/NOPE/statuses"), 404)


def test_edit_metadata_bulkfetch_and_an_all_refused_bulk_match_the_spec(
    platform: JiraPlatform, http: requests.Session, key: str
) -> None:
    checked(http.get(f"{platform.base_url}{API}/issue/{key}/editmeta"), 200)
    fetch = {"issueIdsOrKeys": [key, "OPS-99999"], "fields": ["summary"], "properties": ["itsm-bridge"]}
    assert len(checked(http.post(platform.base_url + API + "/issue/bulkfetch", json=fetch), 200).json()["issues"]) == 1
    six = {**fetch, "properties": [f"p{i}" for i in range(6)]}
    checked(http.post(platform.base_url + API + "/issue/bulkfetch", json=six), 400)
    refused = [
        {"fields": INCIDENT},
        {"fields": {**INCIDENT, "summary": "s"}, "update": {"comment": [{"add": {"body": DOC}}]}},
    ]
    answer = checked(http.post(platform.base_url + API + "/issue/bulk", json={"issueUpdates": refused}), 400).json()
    assert answer["issues"] == [] and [e["failedElementNumber"] for e in answer["errors"]] == [0, 1]
    ride = {"fields": {**INCIDENT, "summary": "ride"}, "transition": {"id": "41"}}  # refused: the issue is still made
    assert checked(http.post(platform.base_url + API + "/issue", json=ride), 201).json()["transition"]["status"] == 400
    long = {
        "fields": {
            **INCIDENT,
            "summary": "long",
            "description": {
                **DOC,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x" * 33000}]}],
            },
        }
    }
    checked(http.post(platform.base_url + API + "/issue", json=long), 400)


def test_service_desk_request_comments_match_the_spec(platform: JiraPlatform, http: requests.Session, key: str) -> None:
    jsm = "jira-servicedesk.openapi.json"
    url = f"{platform.base_url}/rest/servicedeskapi/request/{key}/comment"
    checked(http.post(url, json={"body": "Internal note", "public": False}), 201, jsm)
    checked(http.get(url, params={"start": 0, "limit": 1}), 200, jsm)
    checked(http.get(platform.base_url + "/rest/servicedeskapi/servicedesk"), 200, jsm)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/rest/api/3/search/jql", {"jql": 5}),
        ("POST", "/rest/api/3/search/jql", {"jql": "project = OPS", "maxResults": "many"}),
        ("POST", "/rest/api/3/search/jql", {"jql": "project = OPS", "startAt": 0}),
        ("POST", "/rest/api/3/issue", None),
        ("POST", "/rest/api/3/issue", {"fields": "summary=x"}),
        ("POST", "/rest/servicedeskapi/request/{key}/comment", {"body": 42, "public": False}),
    ],
)
def test_what_the_spec_rejects_the_sandbox_rejects(
    platform: JiraPlatform, http: requests.Session, key: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    spec = load_spec("jira-servicedesk.openapi.json" if "servicedeskapi" in path else "jira-platform-v3.openapi.json")
    prepared = http.prepare_request(requests.Request(method, platform.base_url + path.format(key=key), json=body))
    assert not request_is_valid(spec, "", prepared)
    answer = http.send(prepared)
    assert answer.status_code == 400, answer.text


# --- every answer the connector gets, against the spec

# Operations of the platform spec the Jira connector calls (doctor, read, write, read back).
CONNECTOR_OPERATIONS = {
    ("GET", "/rest/api/3/serverInfo"),
    ("GET", "/rest/api/3/myself"),
    ("GET", "/rest/api/3/project/{projectIdOrKey}"),
    ("GET", "/rest/api/3/project/{projectIdOrKey}/statuses"),
    ("GET", "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes"),
    ("GET", "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}"),
    ("POST", "/rest/api/3/search/jql"),
    ("POST", "/rest/api/3/issue"),
    ("POST", "/rest/api/3/issue/bulk"),
    ("POST", "/rest/api/3/issue/bulkfetch"),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}"),
    ("PUT", "/rest/api/3/issue/{issueIdOrKey}"),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/comment"),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/comment"),
}


def operation(spec_paths: dict[str, Any], method: str, path: str) -> tuple[str, str] | None:
    """The spec's (method, path template) a concrete request path matches, literal paths first."""
    for template in sorted(spec_paths, key=lambda t: (t.count("{"), -len(t))):
        pattern = "^" + "[^/]+".join(re.escape(part) for part in re.split(r"\{[^/]+?\}", template)) + "$"
        if re.match(pattern, path) and method.lower() in spec_paths[template]:
            return method, template
    return None


def test_every_answer_the_connector_gets_matches_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    from itsm_bridge.connectors.base import NewIssue
    from itsm_bridge.model import Comment, State, Visibility
    from itsm_bridge.watermark import Watermark
    from tests.connectors.jira.test_jira import connector

    jira = JiraPlatform(seed=2)
    jira.search_lag_s = 0.0
    served = serve(jira)
    monkeypatch.setenv("ITSM_SANDBOX_JIRA_TOKEN", jira.credentials()["token"])
    answers: list[requests.Response] = []
    real_send = requests.Session.send

    def send(session: requests.Session, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        answers.append(real_send(session, request, **kw))  # every session's: ours and python-jira's (doctor)
        return answers[-1]

    monkeypatch.setattr(requests.Session, "send", send)
    try:
        conn = connector(jira)
        assert [c.check for c in conn.check() if not c.ok] == []
        made = conn.create_many(
            [NewIssue({"summary": f"contract {n}"}, f"INC{n:07d}", State.IN_PROGRESS) for n in range(3)]
        )
        refused = conn.create_many(
            [NewIssue({"summary": "x", "priority": {"name": "Urgent"}}, "INC0009999")]
        )  # a 400 bulk
        assert all(not isinstance(r, Exception) for r in made) and isinstance(refused[0], Exception)
        ref = made[1]
        conn.update(ref, {"summary": "contract, edited", "description": "more"})  # type: ignore[arg-type]
        conn.add_comment(ref, Comment("ana", "a note", datetime.now(UTC), Visibility.INTERNAL))  # type: ignore[arg-type]
        conn.transition(ref, State.RESOLVED, {"resolution": {"name": "Done"}})  # type: ignore[arg-type]
        conn.fetch_many([*made, ref])  # type: ignore[list-item]
        assert conn.get(ref).fields["status"] == "Resolved"  # type: ignore[arg-type]
        assert len(list(conn.changed_since(Watermark()))) == 3 and conn.find("INC0000002") is not None
        assert conn.has_note(ref, Comment("ana", "a note", datetime.now(UTC), Visibility.INTERNAL))  # type: ignore[arg-type]
    finally:
        stop([served])
    spec = load_spec("jira-platform-v3.openapi.json")
    with spec.spec.open() as raw:
        paths = dict(raw["paths"])
    seen = set()
    for resp in answers:
        path = urlsplit(resp.request.url or "").path
        op = operation(paths, resp.request.method or "", path)
        assert op is not None, f"{resp.request.method} {path} is not in the spec"
        seen.add(op)
        validate_exchange(spec, "", resp)
    assert seen >= CONNECTOR_OPERATIONS, sorted(CONNECTOR_OPERATIONS - seen)
