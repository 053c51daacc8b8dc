"""Issue entity properties of the Jira sandbox as jira-platform-v3.openapi.json describes them,
and the Clone action that copies labels but not properties."""

from __future__ import annotations

import requests

from itsm_bridge.sandbox.jira.api import JiraPlatform
from tests.sandbox.jira.test_jira import adf, create, http, platform, served, url  # noqa: F401  (fixtures)

PROP = {"key": "itsm-bridge", "value": {"key": "INC0010001"}}


def test_a_create_body_sets_properties_and_reads_return_them_only_when_asked(
    platform: JiraPlatform, http: requests.Session
) -> None:
    made = http.post(
        url(platform, "/issue"),
        json={
            "fields": {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}, "summary": "VPN slow"},
            "properties": [PROP],
        },
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    assert "properties" not in http.get(url(platform, f"/issue/{key}")).json()
    assert http.get(url(platform, f"/issue/{key}"), params={"properties": "itsm-bridge"}).json()["properties"] == {
        "itsm-bridge": PROP["value"]
    }
    assert (
        http.get(url(platform, f"/issue/{key}"), params={"properties": "*all,-itsm-bridge"}).json()["properties"] == {}
    )
    found = http.post(
        url(platform, "/search/jql"),
        json={"jql": 'project = "OPS"', "fields": ["summary"], "properties": ["itsm-bridge"]},
    )
    assert found.json()["issues"][0]["properties"] == {"itsm-bridge": PROP["value"]}


def test_malformed_create_properties_are_refused_and_nothing_is_created(
    platform: JiraPlatform, http: requests.Session
) -> None:
    fields = {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}, "summary": "x"}
    for bad in ({"itsm-bridge": 1}, [{"key": "itsm-bridge"}], [{"key": "", "value": 1}], [{**PROP, "extra": 1}]):
        answer = http.post(url(platform, "/issue"), json={"fields": fields, "properties": bad})
        assert answer.status_code == 400 and answer.json()["errorMessages"], bad
    assert platform.issues() == []


def test_put_takes_non_empty_json_up_to_the_limits(platform: JiraPlatform, http: requests.Session) -> None:
    key = create(platform, http, "Prop")
    target = url(platform, f"/issue/{key}/properties/itsm-bridge")
    assert http.put(target, data=b"", headers={"Content-Type": "application/json"}).status_code == 400
    assert http.put(target, data=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert http.put(target, json={"v": "x" * 33000}).status_code == 400
    assert http.put(url(platform, f"/issue/{key}/properties/{'k' * 256}"), json=1).status_code == 400
    assert http.put(target, json={"key": "A"}).status_code == 201
    assert http.put(target, json={"key": "B"}).status_code == 200
    assert http.delete(target).status_code == 204
    assert http.get(target).status_code == 404 and http.delete(target).status_code == 404


def test_search_and_bulkfetch_take_at_most_five_property_keys(platform: JiraPlatform, http: requests.Session) -> None:
    key = create(platform, http, "Prop")
    six = [f"p{n}" for n in range(6)]
    assert (
        http.post(url(platform, "/search/jql"), json={"jql": 'project = "OPS"', "properties": six}).status_code == 400
    )
    assert (
        http.post(url(platform, "/issue/bulkfetch"), json={"issueIdsOrKeys": [key], "properties": six}).status_code
        == 400
    )
    assert (
        http.post(url(platform, "/issue/bulkfetch"), json={"issueIdsOrKeys": [key], "properties": six[:5]}).status_code
        == 200
    )


def test_clone_copies_fields_and_labels_but_not_properties_comments_or_status(
    platform: JiraPlatform, http: requests.Session
) -> None:
    key = create(platform, http, "VPN slow", labels=["itsm-bridge-INC0010001"])
    http.put(url(platform, f"/issue/{key}/properties/itsm-bridge"), json=PROP["value"])
    http.post(url(platform, f"/issue/{key}/comment"), json={"body": adf("looking")})
    platform.transition_to(key, "Work in progress")
    clone = platform.clone_issue(key)
    fields = platform.issue(clone)["fields"]
    assert fields["summary"] == "CLONE - VPN slow" and fields["labels"] == ["itsm-bridge-INC0010001"]
    assert fields["status"]["name"] == "Open"
    assert platform.properties(clone) == {} and platform.comments(clone) == []
